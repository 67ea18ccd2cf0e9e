/**
 * ReplayMemory (src/core/replay-memory.ts): requests are remembered before they run and held apart until
 * they ran or are forgotten; those that ran share one bound, and a full memory forgets the others before
 * any fencing action. Against a plain model under random requests, forgets and passing time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ReplayMemory } from '../../src/core/replay-memory.js';

const LIFETIME_MS = 100;

/** The behaviour asked of it, written the obvious way: what ran in one array, oldest first. */
class Model {
  running = new Map<string, { lasting: boolean; until: number }>();
  ran: { member: string; lasting: boolean; until: number }[] = [];
  constructor(private readonly maxSize: number) {}
  prune(now: number): void {
    this.ran = this.ran.filter((m) => m.until > now);
    for (const [member, { until }] of this.running) if (until <= now) this.running.delete(member);
  }
  remember(member: string, lasting: boolean, now: number): void {
    this.running.delete(member);
    this.running.set(member, { lasting, until: now + LIFETIME_MS });
  }
  forget(member: string): void {
    this.running.delete(member);
  }
  finished(member: string, now: number): void {
    const lasting = this.running.get(member)?.lasting;
    if (lasting === undefined) return;
    this.running.delete(member);
    this.ran = this.ran.filter((m) => m.member !== member);
    this.ran.push({ member, lasting, until: now + LIFETIME_MS });
    while (this.ran.length > this.maxSize) {
      const other = this.ran.findIndex((m) => !m.lasting);
      this.ran.splice(other === -1 ? 0 : other, 1);
    }
  }
  has(member: string): boolean {
    return this.running.has(member) || this.ran.some((m) => m.member === member);
  }
}

type Op = { kind: 'remember' | 'forget' | 'ran' | 'has'; member: number } | { kind: 'wait'; ms: number };
/** A fingerprint is of one request, a fencing action or not: even members are fencing actions. */
const lasting = (member: number): boolean => member % 2 === 0;

describe('ReplayMemory', () => {
  it('answers as the model does: running requests apart, one bound for those that ran, the others forgotten first', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constantFrom('remember' as const, 'forget' as const, 'ran' as const, 'has' as const),
        member: fc.integer({ min: 0, max: 30 }),
      }),
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
          const member = `m${o.member}`;
          if (o.kind === 'remember') {
            memory.remember(member, lasting(o.member));
            model.remember(member, lasting(o.member), now);
          } else if (o.kind === 'forget') {
            memory.forget(member, lasting(o.member));
            model.forget(member);
          } else if (o.kind === 'ran') {
            memory.ran(member, lasting(o.member));
            model.finished(member, now);
          } else {
            assert.equal(memory.has(member), model.has(member));
          }
          assert.equal(memory.size, model.running.size + model.ran.length);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps a fencing action through a full memory of statuses', () => {
    const memory = new ReplayMemory(86_400_000, 100);
    const run = (fingerprint: string, lasting: boolean) => {
      memory.remember(fingerprint, lasting);
      memory.ran(fingerprint, lasting);
    };
    run('off', true);
    for (let i = 0; i < 10_000; i++) run(`status ${i}`, false);
    assert.equal(memory.has('off'), true);
    assert.equal(memory.size, 100);
    assert.equal(memory.has('status 9901'), true, 'the 99 newest statuses beside it');
    assert.equal(memory.has('status 9900'), false, 'the oldest statuses went');
  });

  it('loses nothing to requests in flight, those that fail or those that run meanwhile', () => {
    const memory = new ReplayMemory(86_400_000, 2);
    for (const action of ['off', 'reboot']) {
      memory.remember(action, true);
      memory.ran(action, true);
    }
    // Replayed captures of copies that never ran, their exchanges open while others run.
    for (let i = 0; i < 5; i++) memory.remember(`replayed copy ${i}`, true);
    memory.remember('a status', false);
    memory.ran('a status', false);
    for (let i = 0; i < 5; i++) assert.equal(memory.has(`replayed copy ${i}`), true, 'refused while in flight');
    for (let i = 0; i < 5; i++) memory.forget(`replayed copy ${i}`, true);
    assert.deepEqual([memory.has('off'), memory.has('reboot'), memory.has('a status'), memory.size], [true, true, false, 2]);
  });
});
