/**
 * ReplayMemory (src/core/replay-memory.ts): fencing actions and the other requests share one bound,
 * applied once a request has run; a full memory forgets the others before any fencing action, and a
 * request remembered and forgotten again (it did not run) pushes nothing out. Against a plain model
 * under random requests, forgets and passing time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ReplayMemory } from '../../src/core/replay-memory.js';

const LIFETIME_MS = 100;

/** The behaviour asked of it, written the obvious way: one array in order, oldest first. */
class Model {
  members: { member: string; lasting: boolean; until: number }[] = [];
  constructor(private readonly maxSize: number) {}
  prune(now: number): void {
    this.members = this.members.filter((m) => m.until > now);
  }
  remember(member: string, lasting: boolean, now: number): void {
    this.forget(member);
    this.members.push({ member, lasting, until: now + LIFETIME_MS });
  }
  ran(): void {
    while (this.members.length > this.maxSize) {
      const passing = this.members.findIndex((m) => !m.lasting);
      this.members.splice(passing === -1 ? 0 : passing, 1);
    }
  }
  forget(member: string): void {
    this.members = this.members.filter((m) => m.member !== member);
  }
}

type Op = { kind: 'remember' | 'forget' | 'has'; member: number } | { kind: 'ran' } | { kind: 'wait'; ms: number };
/** A fingerprint is of one request, a fencing action or not: even members are fencing actions. */
const lasting = (member: number): boolean => member % 2 === 0;

describe('ReplayMemory', () => {
  it('answers as the model does: one bound for both kinds once a request ran, the others forgotten first', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constantFrom('remember' as const, 'forget' as const, 'has' as const), member: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant('ran' as const) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40 }) }),
    );
    fc.assert(
      // size 'max': without it fast-check makes arrays of at most 10, whatever maxLength says.
      fc.property(fc.array(op, { maxLength: 2000, size: 'max' }), fc.integer({ min: 1, max: 12 }), (ops: Op[], maxSize) => {
        let now = 0;
        const memory = new ReplayMemory(LIFETIME_MS, maxSize, () => now);
        const model = new Model(maxSize);
        for (const o of ops) {
          if (o.kind === 'wait') {
            now += o.ms;
            continue;
          }
          model.prune(now);
          if (o.kind === 'ran') {
            memory.ran();
            model.ran();
          } else if (o.kind === 'remember') {
            memory.remember(`m${o.member}`, lasting(o.member));
            model.remember(`m${o.member}`, lasting(o.member), now);
          } else if (o.kind === 'forget') {
            memory.forget(`m${o.member}`, lasting(o.member));
            model.forget(`m${o.member}`);
          } else {
            assert.equal(
              memory.has(`m${o.member}`),
              model.members.some((m) => m.member === `m${o.member}`),
            );
          }
          assert.equal(memory.size, model.members.length);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a fencing action through a full memory of statuses', () => {
    const memory = new ReplayMemory(86_400_000, 100);
    memory.remember('off', true);
    memory.ran();
    for (let i = 0; i < 10_000; i++) {
      memory.remember(`status ${i}`, false);
      memory.ran();
    }
    assert.equal(memory.has('off'), true);
    assert.equal(memory.size, 100);
    assert.equal(memory.has('status 9901'), true, 'the 99 newest statuses beside it');
    assert.equal(memory.has('status 9900'), false, 'the oldest statuses went');
  });

  it('loses nothing to a request that did not run, however full', () => {
    const memory = new ReplayMemory(86_400_000, 2);
    for (const action of ['off', 'reboot']) {
      memory.remember(action, true);
      memory.ran();
    }
    for (let i = 0; i < 100; i++) {
      memory.remember(`replayed copy ${i}`, true);
      memory.forget(`replayed copy ${i}`, true);
    }
    assert.deepEqual([memory.has('off'), memory.has('reboot'), memory.size], [true, true, 2]);
  });
});
