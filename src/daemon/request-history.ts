/**
 * Remembers requests for a time window so the copies a client sends (one per local address and per
 * retransmission, all with one seqno) are executed once (PROTOCOL.md §4.1). The C daemon runs one
 * request at a time; we run them concurrently, so a copy that arrives while the first is still in
 * progress must be refused as well: `begin` claims a request, `finish` turns the claim into history.
 */
export interface HistoryKey {
  request: number;
  seqno: number;
  domain: string;
}

export class RequestHistory {
  private readonly expiry = new Map<string, number>();
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  static keyOf(k: HistoryKey): string {
    return `${k.request}\0${k.seqno >>> 0}\0${k.domain.toLowerCase()}`;
  }

  /** True if the request may proceed (and is now claimed); false if it is a duplicate. */
  begin(k: HistoryKey | string): boolean {
    const key = typeof k === 'string' ? k : RequestHistory.keyOf(k);
    if (this.inFlight.has(key)) return false;
    const until = this.expiry.get(key);
    if (until !== undefined) {
      if (until > this.now()) return false;
      this.expiry.delete(key);
    }
    this.inFlight.add(key);
    return true;
  }

  /** `remember` false drops the claim without history (e.g. authentication failed, as in C). */
  finish(k: HistoryKey | string, remember: boolean): void {
    const key = typeof k === 'string' ? k : RequestHistory.keyOf(k);
    this.inFlight.delete(key);
    if (!remember) return;
    this.prune();
    this.expiry.set(key, this.now() + this.windowMs);
  }

  private prune(): void {
    if (this.expiry.size < this.maxEntries) return;
    const now = this.now();
    for (const [key, until] of this.expiry) if (until <= now) this.expiry.delete(key);
    // Still full of live entries (a flood of distinct signed requests): drop the oldest.
    for (const key of this.expiry.keys()) {
      if (this.expiry.size < this.maxEntries) break;
      this.expiry.delete(key);
    }
  }

  get size(): number {
    return this.expiry.size;
  }
}
