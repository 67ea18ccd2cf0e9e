/** `fence_virtd -c`: the interactive configuration dialog. */
export { runConfigureDialog, type DialogStreams } from './dialog.js';
