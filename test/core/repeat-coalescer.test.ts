import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RepeatCoalescer } from '../../src/util/repeat-coalescer.js';

describe('repeat coalescer', () => {
  it('logs the first refusal of a source at once and its repeats as one count when the window closes', async () => {
    const lines: string[] = [];
    const overflow: string[] = [];
    const c = new RepeatCoalescer((l) => overflow.push(l), 100);
    const write = (l: string) => lines.push(l);
    for (let i = 0; i < 15; i++) c.report('10.0.0.5\0MISMATCH', 'dropping request from 10.0.0.5: key mismatch', write);
    c.report('10.0.0.6\0MISMATCH', 'dropping request from 10.0.0.6: key mismatch', write);
    c.report('10.0.0.5\0WEAK_HASH', 'dropping request from 10.0.0.5: weak', write);
    assert.deepEqual(lines, [
      'dropping request from 10.0.0.5: key mismatch',
      'dropping request from 10.0.0.6: key mismatch',
      'dropping request from 10.0.0.5: weak',
    ]);
    await sleep(250);
    assert.deepEqual(
      lines.slice(3),
      ['dropping request from 10.0.0.5: key mismatch (14 more times in the last 0.1 s)'],
      'no summary without repeats',
    );
    c.report('10.0.0.5\0MISMATCH', 'dropping request from 10.0.0.5: key mismatch', write);
    assert.equal(lines.length, 5, 'a new window starts with a line of its own');
    assert.deepEqual(overflow, []);
  });

  it('sends what exceeds its bound of sources to the overflow log', () => {
    const lines: string[] = [];
    const overflow: string[] = [];
    const c = new RepeatCoalescer((l) => overflow.push(l), 60_000, 2);
    for (const source of ['a', 'b', 'c', 'd']) c.report(source, `from ${source}`, (l) => lines.push(l));
    assert.deepEqual(lines, ['from a', 'from b']);
    assert.deepEqual(overflow, ['from c', 'from d']);
  });
});
