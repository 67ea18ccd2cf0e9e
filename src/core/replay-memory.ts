import { ExpiringSet } from '../util/expiring-set.js';

/** A request remembered before it runs. */
interface Running {
  lasting: boolean;
  until: number;
}

/**
 * The signatures (fingerprints) of executed signed requests, refused as replays while remembered. This
 * one lives in the process; the daemon's ReplayJournal also keeps the `lasting` ones (fencing actions)
 * in a file, so that their replays are refused after a restart too. The sets are held, not inherited: a
 * caller can only remember and forget, never add behind the journal's back.
 *
 * At most `maxSize` requests that ran are remembered, the two kinds together. When full, a request that
 * is not a fencing action (a status, a host list, a null request...) is forgotten before any fencing
 * action, the oldest first: the monitors of a large cluster, or a key holder asking in a loop, would
 * otherwise push out the fencing actions within the window, and a captured action replayed then would
 * run again.
 *
 * A request is remembered before it runs, and held apart until it has run (`ran`) or is forgotten (its
 * exchange failed): it neither counts against the bound nor can be pushed out meanwhile. A replayed
 * capture of a copy that never ran, from a peer without the key, whose challenge-response fails, thus
 * takes nothing with it. The requests in flight are bounded by the listeners' own limits.
 */
export class ReplayMemory {
  /** Fencing actions that ran. */
  protected readonly lasting: ExpiringSet;
  /** Every other request that ran. */
  private readonly passing: ExpiringSet;
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly maxSize: number,
    private readonly now: () => number = Date.now,
  ) {
    // Bounded here, together (`trim`), not each by itself.
    this.lasting = new ExpiringSet(lifetimeMs, Infinity, now);
    this.passing = new ExpiringSet(lifetimeMs, Infinity, now);
  }

  has(fingerprint: string): boolean {
    this.pruneRunning();
    return this.running.has(fingerprint) || this.lasting.has(fingerprint) || this.passing.has(fingerprint);
  }

  get size(): number {
    this.pruneRunning();
    return this.running.size + this.lasting.size + this.passing.size;
  }

  /** Before the request runs. `lasting`: it is a fencing action. */
  remember(fingerprint: string, lasting: boolean): void {
    this.pruneRunning();
    // Deleted first, so the map stays in expiry order (a fingerprint remembered is refused, not
    // remembered again; this keeps the order whatever a caller does).
    this.running.delete(fingerprint);
    this.running.set(fingerprint, { lasting, until: this.now() + this.lifetimeMs });
  }

  /** The request did not run after all (`lasting` as it was remembered). */
  forget(fingerprint: string, _lasting: boolean): void {
    this.running.delete(fingerprint);
  }

  /** The request remembered as `fingerprint` ran: kept for the window, within the bound. */
  ran(fingerprint: string): void {
    this.pruneRunning();
    const running = this.running.get(fingerprint);
    if (!running) return;
    this.running.delete(fingerprint);
    (running.lasting ? this.lasting : this.passing).add(fingerprint);
    this.trim();
  }

  /**
   * Drops requests remembered as running for longer than the window: an exchange is over in seconds, so
   * only one that was never finished (a fault) gets here. Remembered in expiry order, the same lifetime
   * for all: the expired ones are at the front.
   */
  private pruneRunning(): void {
    if (this.running.size === 0) return;
    const now = this.now();
    for (const [fingerprint, { until }] of this.running) {
      if (until > now) break;
      this.running.delete(fingerprint);
    }
  }

  /** Brings the requests that ran back within the bound: the others first, then fencing actions. */
  protected trim(): void {
    while (this.lasting.size + this.passing.size > this.maxSize && (this.passing.deleteOldest() || this.lasting.deleteOldest()));
  }

  /** The fencing actions remembered, those that ran (oldest first) and those running, with their expiry. */
  protected lastingEntries(): [member: string, until: number][] {
    const now = this.now();
    const running = [...this.running].filter(([, r]) => r.lasting && r.until > now).map(([m, r]): [string, number] => [m, r.until]);
    return [...this.lasting.entries(), ...running];
  }
}
