/**
 * The real C parser as an oracle: `fence_virtd -F -d 4` dumps the tree it parsed (in its reverse
 * order) before looking at the settings, or prints "syntax error on line N".
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { C_FENCE_VIRTD } from '../support/c-daemon.js';
import { cView, reversedShape, shapeOf, type Shape } from './tree-shape.js';

export type CParseResult = { ok: true; shape: Shape } | { ok: false; line: number; output: string };

/** An appended last `fence_virtd` block hides the file's listener and backend, so C exits right after the dump. */
const STOPPER = '\nfence_virtd {\n}\n';

async function runC(text: string): Promise<{ code: number; stdout: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'fv-cparse-'));
  try {
    const file = join(dir, 'fence_virt.conf');
    await writeFile(file, text);
    return await new Promise((resolve, reject) => {
      execFile(C_FENCE_VIRTD, ['-F', '-d', '4', '-f', file, '-p', join(dir, 'pid')], { timeout: 10_000 }, (err, stdout) => {
        const code = err ? err.code : 0;
        if (typeof code !== 'number') reject(err ?? new Error('fence_virtd did not exit'));
        else resolve({ code, stdout });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function syntaxFailure(stdout: string): CParseResult | undefined {
  const match = /syntax error on line (\d+)/.exec(stdout);
  return match ? { ok: false, line: Number(match[1]), output: stdout } : undefined;
}

/** The tree C reads from `text` (in file order, in the form of cView), or its syntax error. */
export async function cReadTree(text: string): Promise<CParseResult> {
  const { stdout } = await runC(text + STOPPER);
  const failure = syntaxFailure(stdout);
  if (failure) return failure;
  const dump = /Debugging threshold is now 4\n([\s\S]*)Failed to determine backend\./.exec(stdout)?.[1];
  if (dump === undefined) throw new Error(`unexpected fence_virtd output:\n${stdout}`);
  const shape = cView(reversedShape(shapeOf(parseConfig(dump, 'fence_virtd dump'))));
  const stopper = shape.pop();
  if (stopper?.name !== 'fence_virtd') throw new Error(`the stopper block is not last in:\n${dump}`);
  return { ok: true, shape };
}

/** Whether C parses `text` as it is (for texts without a `fence_virtd` block, e.g. empty files). */
export async function cAccepts(text: string): Promise<CParseResult | { ok: true }> {
  if (/fence_virtd/i.test(text)) throw new Error('cAccepts is only for texts that cannot start the daemon');
  const { stdout } = await runC(text);
  return syntaxFailure(stdout) ?? { ok: true };
}
