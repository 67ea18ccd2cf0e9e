/**
 * settleHeapAfter (src/util/heap-settle.ts), which the serving daemon calls after host lists, serial
 * scans and serial requests: once enough have come, the old space that their garbage grew is given back
 * after a quiet moment; fewer leave the heap alone. Each case runs in a child process, as the daemon
 * does it: the V8 flags it sets are process-wide.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runTool } from '../support/processes.js';

const MODULE = fileURLToPath(new URL('../../src/util/heap-settle.ts', import.meta.url));

/**
 * Old space in bytes before and 600 ms after `settleHeapAfter(items)`, right after 300,000 objects died
 * there, and how often what follows a collection ran.
 */
async function oldSpaceAround(items: number): Promise<{ before: number; after: number; followed: number }> {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { enableHeapSettle, settleHeapAfter } from ${JSON.stringify(MODULE)};
    const old = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_size;
    let followed = 0;
    enableHeapSettle(() => followed++);
    let keep = [];
    for (let i = 0; i < 300000; i++) keep.push({ i, s: 'x' + i });
    await new Promise((r) => setTimeout(r, 50));
    keep = null;
    const before = old();
    settleHeapAfter(${items});
    await new Promise((r) => setTimeout(r, 600));
    console.log(JSON.stringify({ before, after: old(), followed }));`;
  const r = await runTool(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { before: number; after: number; followed: number };
}

describe('settleHeapAfter', () => {
  it('gives back the old space after a burst, then runs what follows a collection', async () => {
    const { before, after, followed } = await oldSpaceAround(1000);
    assert.ok(before > 12e6, `the garbage grew the old space: ${before}`);
    assert.ok(after < before / 2, `old space ${before} -> ${after}`);
    assert.equal(followed, 1);
  });

  it('leaves the heap alone after a few items', async () => {
    const { before, after, followed } = await oldSpaceAround(10);
    // Nothing given back; the old space may still grow by a page meanwhile (a scavenge promoting
    // survivors), which an equality check once took for a settle.
    assert.ok(after >= before, `old space ${before} -> ${after}`);
    assert.equal(followed, 0);
  });
});
