import { StaleSkippingQueue } from './stale-skipping-queue.js';

/** A member as added: renewing or deleting it leaves this slot behind in the queue, no longer current. */
interface Slot {
  readonly member: string;
  readonly until: number;
}

/**
 * A set whose members expire after one fixed time, bounded in size (the oldest go first when full).
 * Members are added in expiry order because the lifetime is the same for all, so expired members are
 * always at the front and cleaning up never scans the rest. The order is kept in a StaleSkippingQueue,
 * not by the Map's insertion order: a full set drops its oldest member at every add.
 */
export class ExpiringSet {
  /** Each member's current slot. */
  private readonly slots = new Map<string, Slot>();
  private readonly order = new StaleSkippingQueue<Slot>(
    (slot) => this.slots.get(slot.member) === slot,
    () => this.slots.size,
  );

  constructor(
    private readonly lifetimeMs: number,
    private readonly maxSize: number,
    private readonly now: () => number = Date.now,
  ) {}

  has(member: string): boolean {
    this.prune();
    return this.slots.has(member);
  }

  /** Adds (or renews) `member`; `until` (ms since the epoch) only for members restored in their order. */
  add(member: string, until = this.now() + this.lifetimeMs): void {
    const slot = { member, until };
    this.slots.set(member, slot);
    this.order.push(slot);
    while (this.slots.size > this.maxSize) this.slots.delete((this.order.oldest() as Slot).member);
  }

  delete(member: string): void {
    this.slots.delete(member);
  }

  /** Forgets the oldest member that has not expired; answers whether there was one. */
  deleteOldest(): boolean {
    this.prune();
    const slot = this.order.oldest();
    if (slot) this.slots.delete(slot.member);
    return slot !== undefined;
  }

  /** The members that have not expired, with their expiry, oldest first. */
  entries(): [member: string, until: number][] {
    this.prune();
    return this.order.current().map((slot) => [slot.member, slot.until]);
  }

  get size(): number {
    this.prune();
    return this.slots.size;
  }

  private prune(): void {
    const now = this.now();
    for (let slot = this.order.oldest(); slot && slot.until <= now; slot = this.order.oldest()) this.slots.delete(slot.member);
  }
}
