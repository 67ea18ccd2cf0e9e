/**
 * The executables `npm run build` makes (tsup), built afresh for a test so it never runs a stale dist/.
 * Built into node_modules/.cache so the external packages (serialport, the vsock addon) resolve from
 * there as they do from dist/, without touching dist/.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO, runTool } from './processes.js';

export interface Bundles {
  /** The directory holding fence_virtd, fence_xvm and fence_virt. */
  dir: string;
  remove(): Promise<void>;
}

export async function buildBundles(): Promise<Bundles> {
  const cache = join(REPO, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'bundles-'));
  const build = await runTool(process.execPath, [join(REPO, 'node_modules/tsup/dist/cli-default.js'), '--out-dir', dir], {
    timeoutMs: 120_000,
  });
  if (build.code !== 0) await rm(dir, { recursive: true, force: true });
  assert.equal(build.code, 0, `tsup failed:\n${build.stdout}\n${build.stderr}`);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
