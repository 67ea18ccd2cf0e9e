import type * as FsPromises from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as PerfHooks from 'node:perf_hooks';

/**
 * Node built-ins the serving daemon loads on first use rather than at start. Through require, not
 * import(): the installed daemon's bundle is compiled by its loader (packaging/daemon-loader.cjs) as a
 * script, where a dynamic import of a module outside the bundle fails. The require itself is made at
 * the first such load: making one costs about 1 ms of CPU, which a start that loads nothing this way
 * does not pay.
 */
let requireBuiltin: NodeJS.Require | undefined;

/** The built-in `id` (`node:...`), loaded now if it was not yet. */
export function loadBuiltin(id: string): unknown {
  requireBuiltin ??= createRequire(import.meta.url);
  return requireBuiltin(id);
}

/**
 * node:fs/promises. The serving daemon reads its configuration and keys synchronously and writes a
 * file only when it records a fencing action, so a daemon that fences nothing never loads it (0.4 MB of
 * RSS: bench/results/startup-memory.md).
 */
export function fsPromises(): typeof FsPromises {
  return loadBuiltin('node:fs/promises') as typeof FsPromises;
}

/** node:perf_hooks, for the event-loop delay histogram: its first sample comes after the start. */
export function perfHooks(): typeof PerfHooks {
  return loadBuiltin('node:perf_hooks') as typeof PerfHooks;
}
