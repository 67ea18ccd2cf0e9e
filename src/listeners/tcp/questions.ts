import { addressProblem } from '../../module-kit/answers.js';
import type { BlockEdit } from '../../module-kit/block-edit.js';
import type { LinePrompter } from '../../module-kit/prompter.js';
import { describeKey } from '../../module-kit/reference.js';
import { askAddress, askKeyFile, askPort } from '../questions.js';
import { DEFAULT_TCP_ADDRESS, tcpReference } from './config.js';

export async function askTcp(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(describeKey(tcpReference, 'address'));
  await askAddress(p, block, 'TCP Listen IP Address', DEFAULT_TCP_ADDRESS, addressProblem);
  await askPort(p, block, 'TCP Listen Port');
  await askKeyFile(p, block);
}
