/**
 * StaleSkippingQueue (src/util/stale-skipping-queue.ts), the order of the replay memory and of the
 * duplicate window: the work it does is counted in calls of the owner's `isCurrent`, which is what
 * made the Map it replaces slow (every stale entry looked at again on each look), so the bound is
 * checked by counting, not by timing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StaleSkippingQueue } from '../../src/util/stale-skipping-queue.js';

/** An owner holding a set of numbers, and a queue over it that counts its looks. */
function owned() {
  const held = new Set<number>();
  let looks = 0;
  const queue = new StaleSkippingQueue<number>(
    (n) => {
      looks++;
      return held.has(n);
    },
    () => held.size,
  );
  return {
    held,
    queue,
    looks: () => looks,
    add(n: number) {
      held.add(n);
      queue.push(n);
    },
  };
}

describe('StaleSkippingQueue', () => {
  it('answers the oldest item still held, in the order they were pushed', () => {
    const o = owned();
    for (const n of [1, 2, 3, 4]) o.add(n);
    o.held.delete(1);
    o.held.delete(3);
    assert.equal(o.queue.oldest(), 2);
    assert.deepEqual(o.queue.current(), [2, 4]);
    o.held.delete(2);
    assert.equal(o.queue.oldest(), 4);
    o.held.delete(4);
    assert.equal(o.queue.oldest(), undefined);
  });

  it('looks at each stale item a bounded number of times, however many went before', () => {
    // A full set that drops its oldest member at every add, as a full replay memory does: 200,000
    // adds through a window of 50,000.
    const o = owned();
    const full = 50_000;
    for (let n = 0; n < 200_000; n++) {
      o.add(n);
      if (o.held.size > full) o.held.delete(o.queue.oldest() as number);
    }
    assert.equal(o.held.size, full);
    // Each add: one push, at least one look to find the oldest; each dropped item is stepped over once
    // more, and rebuilds (amortised) look at each item a constant number of times.
    const perAdd = o.looks() / 200_000;
    assert.ok(perAdd < 6, `${perAdd.toFixed(2)} looks per add`);
    // The same again from where it stands: as cheap as the first 200,000 were.
    const before = o.looks();
    for (let n = 200_000; n < 210_000; n++) {
      o.add(n);
      o.held.delete(o.queue.oldest() as number);
    }
    const later = (o.looks() - before) / 10_000;
    assert.ok(later < 6, `${later.toFixed(2)} looks per add, later`);
  });

  it('keeps the array it holds bounded by the items held, not by those that went', () => {
    const o = owned();
    for (let n = 0; n < 100_000; n++) {
      o.add(n);
      // Renewals and deletes leave stale items behind anywhere, not only at the front.
      if (n % 3 === 0) o.held.delete(n - 1);
    }
    const items = (o.queue as unknown as { items: unknown[]; head: number }).items;
    const head = (o.queue as unknown as { head: number }).head;
    assert.ok(items.length - head <= 2 * o.held.size + 1024 + 1, `${items.length - head} slots for ${o.held.size} items`);
  });
});
