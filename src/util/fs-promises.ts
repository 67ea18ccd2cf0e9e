import type * as FsPromises from 'node:fs/promises';
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/**
 * node:fs/promises, loaded on first use. The serving daemon reads its configuration and keys
 * synchronously and writes a file only when it records a fencing action, so a daemon that fences
 * nothing never loads it (0.4 MB of RSS: bench/results/startup-memory.md). Through require, not
 * import(): the installed daemon's bundle is compiled by its loader (packaging/daemon-loader.cjs) as a
 * script, where a dynamic import of a module outside the bundle fails.
 */
export function fsPromises(): typeof FsPromises {
  return load('node:fs/promises') as typeof FsPromises;
}
