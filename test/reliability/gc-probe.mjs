/**
 * Loaded into the daemon under test with `node --expose-gc --import` (see settled-memory.ts), so its
 * memory can be read without code in the daemon for it: on SIGUSR2 it collects garbage and writes one
 * line to stderr with the resident size and heap that are left. Under load, garbage not yet collected
 * moves RSS by more than a leak bound, so a leak is judged only on these readings.
 */
import process from 'node:process';

process.on('SIGUSR2', () => {
  // The second pass frees what finalizers of the first released.
  globalThis.gc?.();
  globalThis.gc?.();
  const { rss, heapUsed, external } = process.memoryUsage();
  process.stderr.write(`gc-probe ${JSON.stringify({ collected: typeof globalThis.gc === 'function', rss, heapUsed, external })}\n`);
});
