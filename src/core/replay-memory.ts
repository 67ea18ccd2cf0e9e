import { ExpiringSet } from '../util/expiring-set.js';

/**
 * The signatures (fingerprints) of executed signed requests, refused as replays while remembered. This
 * one lives in the process; the daemon's ReplayJournal also keeps the `lasting` ones (fencing actions)
 * in a file, so that their replays are refused after a restart too. The sets are held, not inherited: a
 * caller can only remember and forget, never add behind the journal's back.
 *
 * At most `maxSize` are remembered, the two kinds together. When full, a request that is not a fencing
 * action (a status, a host list, a null request...) is forgotten before any fencing action, the oldest
 * first: the monitors of a large cluster, or a key holder asking in a loop, would otherwise push out the
 * fencing actions within the window, and a captured action replayed then would run again.
 *
 * A request is remembered before it runs and counts against the bound only once it has run (`ran`): a
 * request whose exchange then fails (a replayed capture of a copy that never ran, sent by a peer without
 * the key, whose challenge-response fails) is forgotten again, and must not have pushed anything out on
 * its way. Until then it is one of the requests in flight, which the listeners' own limits bound.
 */
export class ReplayMemory {
  /** Fencing actions. */
  protected readonly lasting: ExpiringSet;
  /** Every other request. */
  private readonly passing: ExpiringSet;

  constructor(
    lifetimeMs: number,
    private readonly maxSize: number,
    now?: () => number,
  ) {
    // Bounded here, together (`ran`), not each by itself.
    this.lasting = new ExpiringSet(lifetimeMs, Infinity, now);
    this.passing = new ExpiringSet(lifetimeMs, Infinity, now);
  }

  has(fingerprint: string): boolean {
    return this.lasting.has(fingerprint) || this.passing.has(fingerprint);
  }

  get size(): number {
    return this.lasting.size + this.passing.size;
  }

  /** Before the request runs. `lasting`: it is a fencing action. */
  remember(fingerprint: string, lasting: boolean): void {
    (lasting ? this.lasting : this.passing).add(fingerprint);
  }

  /** The request did not run after all (`lasting` as it was remembered). */
  forget(fingerprint: string, lasting: boolean): void {
    (lasting ? this.lasting : this.passing).delete(fingerprint);
  }

  /** A request remembered ran: the memory is brought back within its bound. */
  ran(): void {
    while (this.size > this.maxSize && (this.passing.deleteOldest() || this.lasting.deleteOldest()));
  }
}
