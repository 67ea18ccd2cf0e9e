/** The `-c` questions several listener modules ask. */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { findBlock, getValue } from '../config/index.js';
import { familyOf, parsePort, portProblem, textProblem } from '../module-kit/answers.js';
import type { BlockEdit } from '../module-kit/block-edit.js';
import type { LinePrompter } from '../module-kit/prompter.js';
import { DEFAULT_KEY_FILE, DEFAULT_PORT } from '../protocol/constants.js';
import { keyFileKey, type IpFamily } from './settings.js';

/** Asks for the block's address and stores it with the family it belongs to. */
export async function askAddress(
  p: LinePrompter,
  block: BlockEdit,
  label: string,
  defaults: Record<IpFamily, string>,
  problem: (a: string) => string | undefined,
): Promise<void> {
  const family = block.get('family')?.toLowerCase() === 'ipv6' ? 'ipv6' : 'ipv4';
  const address = await p.text(label, block.get('address') ?? defaults[family], problem);
  const chosen = familyOf(address) as IpFamily;
  p.say(`Using ${chosen} as family.`);
  p.say();
  block.set('family', chosen);
  block.set('address', address);
}

export async function askPort(p: LinePrompter, block: BlockEdit, label: string): Promise<void> {
  const answer = await p.text(label, block.get('port') ?? String(DEFAULT_PORT), portProblem);
  block.set('port', String(parsePort(answer)));
  p.say();
}

/**
 * The key file another listener block of the file names (the last such block): hosts and guests
 * usually share one key, so a second listener should offer the key just given, not the built-in default.
 */
function keyFileOfOtherListener(block: BlockEdit): string | undefined {
  const listeners = findBlock(block.document, 'listeners');
  const others = listeners?.items.filter((item) => item.kind === 'block' && `listeners/${item.name}` !== block.path) ?? [];
  return others
    .map((item) => (item.kind === 'block' ? getValue(item, '@key_file') : undefined))
    .filter((k): k is string => k !== undefined)
    .at(-1);
}

export async function askKeyFile(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(`${keyFileKey.description} Answer none to use the default.`);
  const offered = block.get('key_file') ?? keyFileOfOtherListener(block) ?? DEFAULT_KEY_FILE;
  const answer = await p.text('Key File', offered, async (a) => {
    if (a === 'none') return undefined;
    const problem = textProblem(a);
    if (problem) return problem;
    if (
      isAbsolute(a) ||
      (await p.yesNo(`'${a}' is a relative path; fence_virtd resolves it from its working directory (/ under systemd). Use anyway`, true))
    )
      return undefined;
    return 'Enter an absolute path.';
  });
  block.setOrRemove('key_file', answer);
  const path = answer === 'none' ? DEFAULT_KEY_FILE : answer;
  if (!existsSync(path)) {
    p.say(`Note: ${path} does not exist yet; fence_virtd will not start without it. Create it, then copy it to every guest:`);
    p.say(`  dd if=/dev/urandom of=${path} bs=4096 count=1 && chmod 600 ${path}`);
  }
  p.say();
}
