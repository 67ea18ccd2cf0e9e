/**
 * A set whose members expire after one fixed time, bounded in size (the oldest go first when full).
 * Members are added in expiry order because the lifetime is the same for all, so expired members are
 * always at the front and cleaning up never scans the rest.
 */
export class ExpiringSet {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly maxSize: number,
    private readonly now: () => number = Date.now,
  ) {}

  has(member: string): boolean {
    this.prune();
    return this.until.has(member);
  }

  /** Adds (or renews) `member`; `until` (ms since the epoch) only for members restored in their order. */
  add(member: string, until = this.now() + this.lifetimeMs): void {
    this.until.delete(member);
    this.until.set(member, until);
    for (const oldest of this.until.keys()) {
      if (this.until.size <= this.maxSize) break;
      this.until.delete(oldest);
    }
  }

  delete(member: string): void {
    this.until.delete(member);
  }

  /** The members that have not expired, with their expiry, oldest first. */
  entries(): [member: string, until: number][] {
    this.prune();
    return [...this.until];
  }

  get size(): number {
    this.prune();
    return this.until.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [member, until] of this.until) {
      if (until > now) break;
      this.until.delete(member);
    }
  }
}
