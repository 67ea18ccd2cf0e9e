import { requestName } from '../protocol/constants.js';
import type { Logger } from '../util/log.js';

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

  /**
   * Claims a request for a requester, or logs that it is dropped as a duplicate. Returns the key to
   * `finish` with, or undefined for a duplicate.
   */
  claim(request: HistoryKey, from: string, log: Logger): string | undefined {
    const key = RequestHistory.keyOf(request);
    if (this.begin(key)) return key;
    log.info(`dropping duplicate request from ${from} (${requestName(request.request)} ${JSON.stringify(request.domain)}, seqno ${request.seqno})`);
    return undefined;
  }

  /** True if the request (its keyOf) may proceed and is now claimed; false if it is a duplicate. */
  begin(key: string): boolean {
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
  finish(key: string, remember: boolean): void {
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
