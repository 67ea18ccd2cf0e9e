import type { BlockEdit } from '../../module-kit/block-edit.js';
import type { LinePrompter } from '../../module-kit/prompter.js';
import { describeKey } from '../../module-kit/reference.js';
import { askUri } from '../uris.js';
import { cpgReference } from './config.js';

export async function askCpg(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(cpgReference.summary);
  await askUri(p, block);
  p.explain(describeKey(cpgReference, 'name_mode'));
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
