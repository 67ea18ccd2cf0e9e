/**
 * One timer serving many deadlines: it is armed for the earliest and stays armed when the work it
 * guards finishes early, so a burst of short steps neither sets nor clears a timer of its own. When
 * it fires, the owner checks which deadlines passed and arms it again for the next one.
 */
export class EarliestDeadlineTimer {
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (Date.now() clock). */
  private at = Infinity;

  constructor(private readonly onFire: () => void) {}

  /** Makes sure the timer fires no later than `deadline`, and that it holds the process until it does. */
  arm(deadline: number): void {
    if (this.timer && this.at <= deadline) {
      this.timer.ref();
      return;
    }
    clearTimeout(this.timer);
    this.at = deadline;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.at = Infinity;
        this.onFire();
      },
      Math.max(0, deadline - Date.now()),
    );
  }

  /**
   * For the owner's `onFire`: calls `expire` for each entry whose deadline has passed (it removes the
   * entry from `entries`; deleting the current entry while iterating a Map or Set is safe) and arms the
   * timer again for the earliest deadline left.
   */
  expirePassed<T>(entries: Iterable<T>, deadlineOf: (entry: T) => number, expire: (entry: T) => void): void {
    const now = Date.now();
    let next = Infinity;
    for (const entry of entries) {
      const at = deadlineOf(entry);
      if (at <= now) expire(entry);
      else next = Math.min(next, at);
    }
    if (next !== Infinity) this.arm(next);
  }

  /** Left armed, but no longer holding the process: nothing waits on it until the next arm(). */
  release(): void {
    this.timer?.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Infinity;
  }
}
