import { ExpiringSet } from '../util/expiring-set.js';

/**
 * The signatures (fingerprints) of executed signed requests, refused as replays while remembered. This
 * one lives in the process; the daemon's ReplayJournal also keeps the `lasting` ones in a file, so
 * that their replays are refused after a restart too. The sets are held, not inherited: a caller can
 * only remember and forget, never add behind the journal's back.
 *
 * At most `maxSize` are remembered, the two kinds together. When full, a request that changed nothing
 * (a status, device status or host list) is forgotten before any that changed something, the oldest
 * first: the monitors of a large cluster, or a key holder asking statuses in a loop, would otherwise push
 * out the fencing actions within the window, and a captured action replayed then would run again.
 */
export class ReplayMemory {
  /** Requests that change something: fencing actions. */
  protected readonly lasting: ExpiringSet;
  /** Requests that change nothing. */
  private readonly passing: ExpiringSet;

  constructor(
    lifetimeMs: number,
    private readonly maxSize: number,
    now?: () => number,
  ) {
    this.lasting = new ExpiringSet(lifetimeMs, maxSize, now);
    this.passing = new ExpiringSet(lifetimeMs, maxSize, now);
  }

  has(fingerprint: string): boolean {
    return this.lasting.has(fingerprint) || this.passing.has(fingerprint);
  }

  get size(): number {
    return this.lasting.size + this.passing.size;
  }

  /** `lasting`: the request changes something (see RequestGate.admit). */
  remember(fingerprint: string, lasting: boolean): void {
    this.add(lasting ? this.lasting : this.passing, fingerprint);
  }

  /** The request did not run after all (`lasting` as it was remembered). */
  forget(fingerprint: string, lasting: boolean): void {
    (lasting ? this.lasting : this.passing).delete(fingerprint);
  }

  /** Adds to one of the sets (`until` only for members restored in their order), within the bound on both. */
  protected add(set: ExpiringSet, fingerprint: string, until?: number): void {
    set.add(fingerprint, until);
    while (this.size > this.maxSize && (this.passing.deleteOldest() || this.lasting.deleteOldest()));
  }
}
