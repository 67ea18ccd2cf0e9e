/** fence_virt.conf: parse to a generic tree, look up and edit it, write it back, and derive the typed daemon configuration. */
export * from './config-error.js';
export type * from './tree.js';
export { parseConfig, readConfigFile } from './parse.js';
export { assignments, childBlocks, findAssignment, findBlock, getValue } from './lookup.js';
export { removePath, setValue } from './edit.js';
export { formatConfig, writeConfigFile } from './write.js';
export { LISTENER_MODULES } from '../daemon-config/listeners.js';
export type * from '../daemon-config/listeners.js';
export { BACKEND_MODULES } from '../daemon-config/backends.js';
export type * from '../daemon-config/backends.js';
export type * from '../daemon-config/groups.js';
export { loadDaemonConfig, toDaemonConfig, type DaemonConfig } from '../daemon-config/daemon-config.js';
export * from '../daemon-config/overrides.js';
