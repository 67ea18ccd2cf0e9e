/** `fence_virtd -c`: the interactive configuration dialog, and the reference of every configuration key. */
export { runConfigureDialog, type DialogStreams } from './dialog.js';
export { CONFIG_REFERENCE, type BlockReference, type KeyReference } from '../daemon-config/reference.js';
