import type { BlockEdit } from '../../module-kit/block-edit.js';
import type { LinePrompter } from '../../module-kit/prompter.js';
import { askKeyFile, askPort } from '../questions.js';

/** Not in the C dialog, which could not configure vsock. */
export async function askVsock(p: LinePrompter, block: BlockEdit): Promise<void> {
  await askPort(p, block, 'VSOCK Listen Port');
  await askKeyFile(p, block);
}
