/** `fence_virtd -c`: the interactive configuration dialog, or `-c --set` without questions. */
export { runConfigureDialog, type DialogStreams } from './dialog.js';
export { applySettings } from './settings.js';
