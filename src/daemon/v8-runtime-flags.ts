import { setFlagsFromString } from 'node:v8';
import { trimMalloc } from '../native/malloc-trim.js';
import { enableHeapSettle } from '../util/heap-settle.js';
import { loadBuiltin } from '../util/lazy-builtins.js';

/**
 * The serving daemon's V8 flags, set at run time, once `builtins` are loaded: the Node built-ins its
 * listeners load only when they start (ListenerModule.startBuiltins).
 *
 * The young generation stays at its initial size (two 1 MB semi-spaces). A
 * burst (the start-up scan of many guests, a host list of thousands of domains) would otherwise grow
 * it up to 2 x 16 MB, which then holds garbage in RSS until V8's memory reducer runs.
 *
 * Set here at run time rather than as `--max-semi-space-size=1` on the shebang line: any V8 flag on the
 * command line changes V8's flag hash, so Node's built-in modules no longer match the code cache Node
 * ships for them and every one the daemon loads is compiled afresh (about 25 ms of CPU at start here).
 * Changing the flag at run time changes the hash too, so the built-ins the daemon will still load are
 * loaded first. The growth factor is read at each growth of the young generation, so a change at run
 * time applies (the maximum size is fixed when the heap is set up).
 */
export function setRuntimeV8Flags(builtins: Iterable<string>): void {
  for (const id of builtins) loadBuiltin(id);
  setFlagsFromString('--semi-space-growth-factor=1');
  // Hot functions are optimised after fewer calls: 15-20 % less CPU per request over a daemon's first
  // ~1,600 requests, the same once warm (bench/results/hot-path.md, fourth round).
  setFlagsFromString('--interrupt-budget=16384');
  // The flag that lets the daemon give its heap back after bursts, and its malloc memory with it.
  enableHeapSettle(trimMalloc);
}
