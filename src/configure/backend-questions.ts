/** The `-c` questions for each backend module (PROTOCOL.md §7.5 step 4). */
import type { BackendModule } from '../config/index.js';
import { textProblem } from '../module-kit/answers.js';
import type { BlockEdit } from '../module-kit/block-edit.js';
import { describeBlock, describeKey } from '../daemon-config/reference.js';
import type { LinePrompter } from '../module-kit/prompter.js';

async function askUri(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(describeKey(block.path, 'uri'));
  block.set('uri', await p.text('Libvirt URI', block.get('uri') ?? 'qemu:///system', textProblem));
  p.say();
}

async function libvirt(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(`${describeBlock('backends/libvirt')} Domains that migrate to another host are out of its reach: use cpg for those.`);
  await askUri(p, block);
}

async function cpg(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(describeBlock('backends/cpg'));
  await askUri(p, block);
  p.explain(describeKey('backends/cpg', 'name_mode'));
  const mode = await p.text('VM naming/tracking mode (name or uuid)', block.get('name_mode') ?? 'uuid', async (a) => {
    const answer = a.toLowerCase();
    if (answer === 'uuid') return undefined;
    if (answer !== 'name') return `Invalid mode '${a}': expected name or uuid.`;
    p.say('In name mode every host must give each domain a name no other host uses; two domains of the same');
    p.say('name on different hosts, or a renamed domain, make requests reach the wrong VM or none.');
    return (await p.yesNo('Use name mode anyway', true)) ? undefined : 'Then choose uuid.';
  });
  block.set('name_mode', mode.toLowerCase());
  p.say();
}

export const BACKEND_QUESTIONS: Readonly<Record<BackendModule, (p: LinePrompter, block: BlockEdit) => Promise<void>>> = { libvirt, cpg };
