import { existsSync } from 'node:fs';
import { textProblem } from '../../module-kit/answers.js';
import type { BlockEdit } from '../../module-kit/block-edit.js';
import type { LinePrompter } from '../../module-kit/prompter.js';
import { describeKey } from '../../module-kit/reference.js';
import { serialReference } from './config.js';

export async function askSerial(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(describeKey(serialReference, 'uri'));
  block.set('uri', await p.text('Libvirt URI', block.get('uri') ?? 'qemu:///system', textProblem));
  p.say();
  p.explain(`${describeKey(serialReference, 'path')} Answer none to accept sockets in any directory.`);
  const path = await p.text('Socket directory', block.get('path') ?? 'none', textProblem);
  block.setOrRemove('path', path);
  if (path !== 'none' && !existsSync(path)) p.say(`Note: ${path} does not exist yet; create it before the guests start: mkdir -p ${path}`);
  p.say();
  p.explain(describeKey(serialReference, 'mode'));
  const mode = await p.text('Mode (serial or vmchannel)', block.get('mode') ?? 'serial', (a) =>
    ['serial', 'vmchannel'].includes(a.toLowerCase()) ? undefined : `Invalid mode '${a}': expected serial or vmchannel.`,
  );
  block.set('mode', mode.toLowerCase());
  p.say();
}
