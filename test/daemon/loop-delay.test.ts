import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import type { Answer } from '../../src/core/executor.js';
import type { Requester } from '../../src/core/requester.js';
import { LoopDelay } from '../../src/daemon/loop-delay.js';
import { Request } from '../../src/protocol/index.js';

const STATUS = { request: Request.STATUS, domain: 'vm', seqno: 1 };
const WHO: Requester = { listener: 'tcp', display: '127.0.0.1', addresses: ['127.0.0.1'], domains: [] };

/** Holds the loop as a synchronous burst of work would. */
function hold(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** A request that runs until `end` is called, through `delay`'s executor. */
function runningRequest(delay: LoopDelay): { end: () => void; answered: Promise<Answer> } {
  let end!: () => void;
  const answer = new Promise<Answer>((resolve) => (end = () => resolve({ kind: 'code', code: 0 })));
  return { end, answered: delay.watching({ execute: () => answer }).execute(STATUS, WHO) };
}

/** Serves one request through `delay` for `before` ms, holds the loop `holdMs` while it runs, then answers it. */
async function holdWhileServing(delay: LoopDelay, before: number, holdMs: number): Promise<void> {
  const request = runningRequest(delay);
  await sleep(before);
  hold(holdMs);
  await sleep(250);
  request.end();
  await request.answered;
}

function figures(line: string): { p50: number; max: number } {
  const [, p50, , max] = /p50 ([\d.]+) ms, p99 ([\d.]+) ms, max ([\d.]+) ms/.exec(line)!.map(Number);
  return { p50: p50!, max: max! };
}

/** The stop line's figures are how late the loop ran, not the sampling interval plus that. */
it('reports a free loop as on time and a blocked one by how long it was held, while a request runs', async () => {
  const delay = new LoopDelay();
  await holdWhileServing(delay, 1_000, 400);
  const line = delay.finish();
  const { p50, max } = figures(line);
  assert.ok(p50 < 20, `a free loop is sampled close to on time: ${line}`);
  assert.ok(max >= 300 && max < 1_000, `the 400 ms hold shows in the maximum: ${line}`);
});

it('stops sampling once requests stop (an idle daemon is not woken), and samples again at the next request', async () => {
  const delay = new LoopDelay(2);
  const first = runningRequest(delay);
  first.end();
  await first.answered;
  // Two samples without a request stop the sampler (at about 0.3 s); what holds the loop after that is
  // no request's wait.
  await sleep(1_500);
  hold(700);
  await holdWhileServing(delay, 250, 300);
  const line = delay.finish();
  const { max } = figures(line);
  assert.ok(max >= 200 && max < 600, `the hold while serving counts, the one while idle not: ${line}`);
  assert.match(line, /\(sampled while serving requests: 1 s\)$/, 'about 0.3 s and 0.8 s sampled, not the idle 2.2 s between');
});

it('a request whose executor throws instead of rejecting does not keep the sampler awake', async () => {
  const delay = new LoopDelay(2);
  const broken = delay.watching({
    execute: () => {
      throw new Error('broken executor');
    },
  });
  assert.throws(() => broken.execute(STATUS, WHO), /broken executor/);
  await sleep(1_000);
  hold(400);
  await sleep(150);
  const line = delay.finish();
  assert.ok(figures(line).max < 300, `the sampler had stopped before the hold: ${line}`);
});

it('says so when the daemon stopped before any request, or before the first sample', async () => {
  assert.match(new LoopDelay().finish(), /^event-loop delay over 0 s: not sampled \(no request\)$/);
  const delay = new LoopDelay();
  const request = runningRequest(delay);
  request.end();
  await request.answered;
  assert.match(delay.finish(), /^event-loop delay over 0 s: not sampled \(stopped before the first sample\)$/);
});
