/** Stale items tolerated in the queue beyond the current ones before it is rebuilt. */
const SLACK = 1024;

/**
 * The order in which items were added, oldest first, for a structure that keeps them in a Map of its
 * own: an item the Map no longer holds (removed, or replaced by a newer one) stays here, stale, and is
 * skipped once it reaches the front.
 *
 * A Map's own insertion order would do the same, but a Map keeps each deleted entry as a hole until it
 * is rehashed, and finding its oldest entry walks over every hole at the front: a structure that drops
 * its oldest entries all the time (members expiring, a full set making room) paid for thousands of
 * holes at every look (20-130 µs at 100,000 members). Here each stale item is stepped over once, and
 * the array is rebuilt in amortised constant time.
 */
export class StaleSkippingQueue<T> {
  /** Consumed slots before `head` are cleared, so what they held can be collected before a rebuild. */
  private items: (T | undefined)[] = [];
  private head = 0;

  constructor(
    /** Whether the owner still holds `item`. */
    private readonly isCurrent: (item: T) => boolean,
    /** How many items the owner holds. */
    private readonly currentCount: () => number,
  ) {}

  push(item: T): void {
    this.items.push(item);
    this.tidy();
  }

  /** The oldest item the owner still holds, or undefined. */
  oldest(): T | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head] as T;
      if (this.isCurrent(item)) return item;
      this.items[this.head++] = undefined;
    }
    return undefined;
  }

  /** The items the owner still holds, oldest first. */
  current(): T[] {
    return (this.items.slice(this.head) as T[]).filter(this.isCurrent);
  }

  /**
   * Drops what the array holds for nothing: the consumed front once it is half the array, every stale
   * item once they outnumber the current ones. Each rebuild follows as many cheap steps as it costs.
   */
  private tidy(): void {
    if (this.head > SLACK && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (this.items.length - this.head > 2 * this.currentCount() + SLACK) {
      this.items = this.current();
      this.head = 0;
    }
  }
}
