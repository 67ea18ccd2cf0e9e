/** The `-c` questions about a multicast block (the C dialog's, plus a check of the interface). */
import { multicastGroupProblem, textProblem } from '../../module-kit/answers.js';
import type { BlockEdit } from '../../module-kit/block-edit.js';
import type { LinePrompter } from '../../module-kit/prompter.js';
import { describeKey } from '../../module-kit/reference.js';
import { interfaceNames } from '../../util/network-info.js';
import { askAddress, askKeyFile, askPort } from '../questions.js';
import { DEFAULT_GROUP, multicastReference } from './config.js';

/** This host's interface names, or undefined when they cannot be listed (no iproute2): then any name goes. */
function knownInterfaces(): string[] | undefined {
  try {
    return interfaceNames();
  } catch {
    return undefined;
  }
}

async function askInterface(p: LinePrompter, block: BlockEdit): Promise<void> {
  const names = knownInterfaces();
  p.explain(
    `${describeKey(multicastReference, 'interface')} ${names ? `Interfaces here: ${names.join(', ')}. ` : ''}Answer none to let the routing table choose.`,
  );
  const current = block.get('interface');
  const answer = await p.text('Interface', current ?? 'none', async (a) => {
    if (a === 'none') return undefined;
    const problem = textProblem(a);
    if (problem) return problem;
    if (!names || names.includes(a)) return undefined;
    // It may appear later (virbr0 exists once libvirt's network runs), so it can be kept on request.
    if (await p.yesNo(`There is no interface ${a} on this host now. Use this value anyway`, a === current)) return undefined;
    return 'Enter an interface name or none.';
  });
  block.setOrRemove('interface', answer);
  p.say();
}

export async function askMulticast(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(describeKey(multicastReference, 'address'));
  await askAddress(p, block, 'Multicast IP Address', DEFAULT_GROUP, multicastGroupProblem);
  await askPort(p, block, 'Multicast IP Port');
  await askInterface(p, block);
  await askKeyFile(p, block);
}
