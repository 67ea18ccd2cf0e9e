import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { LoopDelay } from '../../src/daemon/loop-delay.js';

/** The stop line's figures are how late the loop ran, not the sampling interval plus that. */
it('reports a free loop as on time and a blocked one by how long it was held', async () => {
  const delay = new LoopDelay();
  await sleep(1_000);
  const held = performance.now() + 400;
  while (performance.now() < held); // holds the loop as a synchronous burst of work would
  await sleep(250);
  const line = delay.finish();
  const [, p50, , max] = /p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms/.exec(line)!.map(Number);
  assert.ok(p50! < 20, `a free loop is sampled close to on time: ${line}`);
  assert.ok(max! >= 300 && max! < 1_000, `the 400 ms hold shows in the maximum: ${line}`);
});

it('says so when the daemon stopped before its first sample', () => {
  assert.match(new LoopDelay().finish(), /^event-loop delay over 0 s: not sampled$/);
});
