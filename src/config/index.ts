/** fence_virt.conf: parse to a generic tree, look up and edit it, write it back. */
export * from './config-error.js';
export type * from './tree.js';
export { parseConfig, readConfigFile } from './parse.js';
export { assignments, childBlocks, findAssignment, findBlock, getValue } from './lookup.js';
export { removePath, setValue } from './edit.js';
export { backUpConfigFile, formatConfig, writeConfigFile } from './write.js';
