/** A member as added: renewing or deleting it leaves this slot behind in the queue, no longer current. */
interface Slot {
  readonly member: string;
  readonly until: number;
}

/** Stale slots tolerated in the queue beyond the live ones before it is rebuilt. */
const SLACK = 1024;

/**
 * A set whose members expire after one fixed time, bounded in size (the oldest go first when full).
 * Members are added in expiry order because the lifetime is the same for all, so expired members are
 * always at the front and cleaning up never scans the rest.
 *
 * The order is kept in a queue of its own, not by a Map's insertion order: a Map keeps each deleted
 * entry as a hole until it is rehashed, and walking from the front skips every hole, so a full set
 * (whose oldest member goes at every add) or one whose members expire steadily paid for thousands of
 * holes on every check (tens of µs per request at 100,000 members).
 */
export class ExpiringSet {
  /** Each member's current slot. */
  private readonly slots = new Map<string, Slot>();
  /** Slots in the order added, oldest from `head` on; a slot no longer current is skipped. */
  private queue: Slot[] = [];
  private head = 0;

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
    this.queue.push(slot);
    while (this.slots.size > this.maxSize) this.slots.delete((this.oldest() as Slot).member);
    this.tidy();
  }

  delete(member: string): void {
    this.slots.delete(member);
  }

  /** The members that have not expired, with their expiry, oldest first. */
  entries(): [member: string, until: number][] {
    this.prune();
    const out: [string, number][] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const slot = this.queue[i] as Slot;
      if (this.current(slot)) out.push([slot.member, slot.until]);
    }
    return out;
  }

  get size(): number {
    this.prune();
    return this.slots.size;
  }

  private current(slot: Slot): boolean {
    return this.slots.get(slot.member) === slot;
  }

  /** The oldest current slot (the queue's front past stale slots), or undefined when empty. */
  private oldest(): Slot | undefined {
    while (this.head < this.queue.length) {
      const slot = this.queue[this.head] as Slot;
      if (this.current(slot)) return slot;
      this.head++;
    }
    return undefined;
  }

  private prune(): void {
    const now = this.now();
    for (let slot = this.oldest(); slot && slot.until <= now; slot = this.oldest()) {
      this.slots.delete(slot.member);
      this.head++;
    }
    this.tidy();
  }

  /**
   * Drops what the queue holds for nothing: the consumed front once it is half the array, every stale
   * slot once there are more than live members (deletes and renewals leave them behind). Each rebuild
   * follows as many cheap steps as it costs.
   */
  private tidy(): void {
    if (this.head > SLACK && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.queue.length - this.head > 2 * this.slots.size + SLACK) {
      this.queue = this.queue.slice(this.head).filter((slot) => this.current(slot));
      this.head = 0;
    }
  }
}
