import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcurrencyLimiter } from '../../src/core/concurrency-limiter.js';
import { ExpiringSet } from '../../src/util/expiring-set.js';
import { RateLimitedLog } from '../../src/util/rate-limited-log.js';

describe('concurrency limiter', () => {
  it('bounds per source and in total, and gives slots back once', () => {
    const l = new ConcurrencyLimiter(3, 2);
    const a1 = l.tryAcquire('a');
    const a2 = l.tryAcquire('a');
    assert.equal(l.tryAcquire('a'), 'per-source');
    const b1 = l.tryAcquire('b');
    assert.equal(l.tryAcquire('c'), 'total');
    assert.equal(typeof a1, 'function');
    (a1 as () => void)();
    (a1 as () => void)();
    assert.equal(l.inUse, 2, 'a double release frees one slot');
    assert.equal(typeof l.tryAcquire('a'), 'function');
    for (const r of [a2, b1]) (r as () => void)();
  });
});

describe('expiring set', () => {
  it('expires members after their lifetime and drops the oldest when full', () => {
    const now = { t: 0 };
    const s = new ExpiringSet(1000, 2, () => now.t);
    s.add('x');
    now.t = 500;
    s.add('y');
    assert.ok(s.has('x') && s.has('y'));
    now.t = 1000;
    assert.ok(!s.has('x'), 'x expired');
    assert.ok(s.has('y'));
    s.add('z');
    s.add('w');
    assert.ok(!s.has('y'), 'oldest dropped when full');
    assert.equal(s.size, 2);
  });
});

describe('rate-limited log', () => {
  it('logs the first event of a kind at once and counts the rest into the next line', () => {
    const now = { t: 0 };
    const lines: string[] = [];
    const r = new RateLimitedLog(
      (l) => lines.push(l),
      10_000,
      () => now.t,
    );
    r.report('conn', 'first');
    r.report('conn', 'second');
    r.report('conn', 'third');
    r.report('other', 'another kind');
    now.t = 10_000;
    r.report('conn', 'fourth');
    assert.deepEqual(lines, ['first', 'another kind', 'fourth (2 more like it not logged in the last 10 s)']);
  });
});
