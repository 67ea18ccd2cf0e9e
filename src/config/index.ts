/** fence_virt.conf: parse to a generic tree, look up and edit it, write it back, and derive the typed daemon configuration. */
export * from './config-error.js';
export type * from './tree.js';
export { parseConfig, readConfigFile } from './parse.js';
export { assignments, childBlocks, findAssignment, findBlock, getValue } from './lookup.js';
export { removePath, setValue } from './edit.js';
export { formatConfig, writeConfigFile } from './write.js';
export { LISTENER_MODULES } from './listeners.js';
export type * from './listeners.js';
export { BACKEND_MODULES } from './backends.js';
export type * from './backends.js';
export type * from './groups.js';
export { loadDaemonConfig, toDaemonConfig, type DaemonConfig } from './daemon-config.js';
export * from './overrides.js';
