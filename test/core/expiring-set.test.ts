/**
 * ExpiringSet (src/util/expiring-set.ts), the replay memory and the multicast listener's failed
 * connect-backs: against a plain model under random adds, renewals, deletes and passing time. The cost
 * of its order is counted in test/core/stale-skipping-queue.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ExpiringSet } from '../../src/util/expiring-set.js';

/** The behaviour asked of it, written the obvious way: an array in order, oldest first. */
class Model {
  members: { member: string; until: number }[] = [];
  constructor(
    private readonly lifetimeMs: number,
    private readonly maxSize: number,
  ) {}
  prune(now: number): void {
    while (this.members.length && (this.members[0] as { until: number }).until <= now) this.members.shift();
  }
  add(member: string, now: number): void {
    this.members = this.members.filter((m) => m.member !== member);
    this.members.push({ member, until: now + this.lifetimeMs });
    while (this.members.length > this.maxSize) this.members.shift();
  }
  delete(member: string): void {
    this.members = this.members.filter((m) => m.member !== member);
  }
  deleteOldest(): boolean {
    return this.members.shift() !== undefined;
  }
}

type Op = { kind: 'add' | 'delete' | 'has'; member: number } | { kind: 'wait'; ms: number } | { kind: 'deleteOldest' };

describe('ExpiringSet', () => {
  it('answers as the model does under adds, renewals, deletes, dropping the oldest and expiry', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constantFrom('add' as const, 'delete' as const, 'has' as const), member: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ kind: fc.constant('deleteOldest' as const) }),
    );
    fc.assert(
      // size 'max': without it fast-check makes arrays of at most 10, whatever maxLength says.
      fc.property(fc.array(op, { maxLength: 3000, size: 'max' }), fc.integer({ min: 1, max: 20 }), (ops: Op[], maxSize) => {
        let now = 0;
        const set = new ExpiringSet(100, maxSize, () => now);
        const model = new Model(100, maxSize);
        for (const o of ops) {
          if (o.kind === 'wait') {
            now += o.ms;
            continue;
          }
          model.prune(now);
          if (o.kind === 'deleteOldest') {
            assert.equal(set.deleteOldest(), model.deleteOldest());
            continue;
          }
          const member = `m${o.member}`;
          if (o.kind === 'add') {
            set.add(member);
            model.add(member, now);
          } else if (o.kind === 'delete') {
            set.delete(member);
            model.delete(member);
          } else {
            assert.equal(
              set.has(member),
              model.members.some((m) => m.member === member),
            );
          }
        }
        model.prune(now);
        assert.deepEqual(
          set.entries(),
          model.members.map((m) => [m.member, m.until]),
        );
        assert.equal(set.size, model.members.length);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps restored members with the expiry they were given, in their order', () => {
    let now = 1_000;
    const set = new ExpiringSet(100, 10, () => now);
    set.add('a', 1_050);
    set.add('b', 1_080);
    assert.deepEqual(set.entries(), [
      ['a', 1_050],
      ['b', 1_080],
    ]);
    now = 1_060;
    assert.equal(set.has('a'), false);
    assert.equal(set.has('b'), true);
  });
});
