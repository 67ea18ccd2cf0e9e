import { StaleSkippingQueue } from '../util/stale-skipping-queue.js';

/**
 * The duplicate window: a client sends each request several times (one copy per local address, and
 * retransmissions, all with one seqno), and the copies must be executed once. Requests run
 * concurrently here, so a copy that arrives while the first is still in progress counts as a duplicate
 * too: `claim` marks a request in flight, its `finish` turns the claim into history for `windowMs`.
 *
 * One history serves the whole daemon, so the same request reaching two listeners or two interfaces is
 * one request. Each entry belongs to the requester that claimed it: a requester holds at most
 * `maxPerRequester` entries, and going over evicts only its own oldest, never another's.
 */
export interface HistoryKey {
  request: number;
  seqno: number;
  domain: string;
}

export interface HistoryClaim {
  /** `executed` false drops the claim without history (the exchange failed before execution). */
  finish(executed: boolean): void;
}

/** Why a claim was refused: a copy of a request seen within the window, or a bound. */
export type ClaimRefusal = 'duplicate' | 'requester-full' | 'full';

export interface HistoryOptions {
  windowMs: number;
  maxPerRequester: number;
  /** All requesters together; past it new claims are refused rather than forgetting live entries. */
  maxEntries: number;
  now?: () => number;
}

/** An executed request remembered for the window. */
interface Remembered {
  readonly key: string;
  readonly until: number;
  readonly requester: string;
}

/** Per requester: its remembered entries (how many, oldest first) and how many claims it has in flight. */
interface Owner {
  remembered: number;
  inFlight: number;
  order: StaleSkippingQueue<Remembered>;
}

export class RequestHistory {
  private readonly remembered = new Map<string, Remembered>();
  /** Insertion order is expiry order (one window for all), so pruning looks only at the front. */
  private readonly order = new StaleSkippingQueue<Remembered>(
    (entry) => this.isRemembered(entry),
    () => this.remembered.size,
  );
  private readonly inFlight = new Map<string, string>();
  private readonly owners = new Map<string, Owner>();
  private readonly now: () => number;

  constructor(private readonly options: HistoryOptions) {
    this.now = options.now ?? Date.now;
  }

  static keyOf(k: HistoryKey): string {
    return `${k.request}\0${k.seqno >>> 0}\0${k.domain.toLowerCase()}`;
  }

  claim(request: HistoryKey, requester: string): HistoryClaim | ClaimRefusal {
    this.prune();
    const key = RequestHistory.keyOf(request);
    if (this.inFlight.has(key) || this.remembered.has(key)) return 'duplicate';
    const owner = this.ownerOf(requester);
    if (owner.remembered + owner.inFlight >= this.options.maxPerRequester) {
      const oldest = owner.order.oldest();
      if (!oldest) return 'requester-full';
      this.forget(oldest.key);
    }
    if (this.remembered.size + this.inFlight.size >= this.options.maxEntries) return 'full';
    this.inFlight.set(key, requester);
    owner.inFlight++;
    let finished = false;
    return {
      finish: (executed) => {
        if (finished) return;
        finished = true;
        this.inFlight.delete(key);
        owner.inFlight--;
        if (executed) {
          const entry = { key, until: this.now() + this.options.windowMs, requester };
          this.remembered.set(key, entry);
          this.order.push(entry);
          owner.remembered++;
          owner.order.push(entry);
        }
        this.dropOwnerIfEmpty(requester, owner);
      },
    };
  }

  /** Entries remembered now (claims in flight not counted). */
  get size(): number {
    this.prune();
    return this.remembered.size;
  }

  private isRemembered(entry: Remembered): boolean {
    return this.remembered.get(entry.key) === entry;
  }

  private ownerOf(requester: string): Owner {
    let owner = this.owners.get(requester);
    if (!owner) {
      const created: Owner = {
        remembered: 0,
        inFlight: 0,
        order: new StaleSkippingQueue<Remembered>(
          (entry) => this.isRemembered(entry),
          () => created.remembered,
        ),
      };
      owner = created;
      this.owners.set(requester, owner);
    }
    return owner;
  }

  private prune(): void {
    const now = this.now();
    for (let entry = this.order.oldest(); entry && entry.until <= now; entry = this.order.oldest()) this.forget(entry.key);
  }

  private forget(key: string): void {
    const entry = this.remembered.get(key);
    if (!entry) return;
    this.remembered.delete(key);
    const owner = this.owners.get(entry.requester);
    if (!owner) return;
    owner.remembered--;
    this.dropOwnerIfEmpty(entry.requester, owner);
  }

  private dropOwnerIfEmpty(requester: string, owner: Owner): void {
    if (owner.remembered === 0 && owner.inFlight === 0 && this.owners.get(requester) === owner) this.owners.delete(requester);
  }
}
