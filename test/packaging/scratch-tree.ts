/**
 * A copy of the working tree (tracked and new files, as git sees them) in a temporary directory, with
 * the installed node_modules and the built addon hard-linked in: scripts that build (quickstart, rpm)
 * run there without touching the dist/ other tests use, and without network for `npm ci`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from '../support/processes.js';

const run = promisify(execFile);

/** Hard links where the file system allows, else copies. */
async function linkTree(from: string, to: string): Promise<void> {
  try {
    await run('cp', ['-al', from, to]);
  } catch {
    await cp(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

export interface ScratchTree {
  dir: string;
  remove(): Promise<void>;
}

export async function scratchTree(prefix: string): Promise<ScratchTree> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    const { stdout } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO, maxBuffer: 64 << 20 });
    const files = stdout.split('\0').filter(Boolean);
    // Files listed but deleted in the working tree are skipped.
    await run(
      'sh',
      ['-c', 'cd "$1" && shift && for f; do [ -e "$f" ] && printf "%s\\0" "$f"; done | xargs -0 cp --parents -t "$0"', dir, REPO, ...files],
      { maxBuffer: 64 << 20 },
    );
    await linkTree(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    await linkTree(join(REPO, 'native/vsock/build'), join(dir, 'native/vsock/build'));
    // The cpg addon is built only where the corosync headers exist.
    if (existsSync(join(REPO, 'native/cpg/build'))) await linkTree(join(REPO, 'native/cpg/build'), join(dir, 'native/cpg/build'));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
