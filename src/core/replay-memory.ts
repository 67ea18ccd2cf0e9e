import { ExpiringSet } from '../util/expiring-set.js';

/** The requests of one kind: those remembered and still running, and those that ran. */
interface Kind {
  readonly running: ExpiringSet;
  readonly ran: ExpiringSet;
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
 * takes nothing with it. The requests in flight are bounded by the listeners' own limits; one never
 * finished (a fault) expires with the window like the others.
 */
export class ReplayMemory {
  /** Fencing actions. */
  protected readonly lasting: Kind;
  /** Every other request. */
  private readonly passing: Kind;

  constructor(
    lifetimeMs: number,
    private readonly maxSize: number,
    now?: () => number,
  ) {
    // Each set unbounded by itself: those that ran are bounded together (`trim`).
    const kind = (): Kind => ({ running: new ExpiringSet(lifetimeMs, Infinity, now), ran: new ExpiringSet(lifetimeMs, Infinity, now) });
    this.lasting = kind();
    this.passing = kind();
  }

  has(fingerprint: string): boolean {
    return holds(this.lasting, fingerprint) || holds(this.passing, fingerprint);
  }

  get size(): number {
    return this.lasting.running.size + this.passing.running.size + this.ranCount();
  }

  /** Before the request runs. `lasting`: it is a fencing action. */
  remember(fingerprint: string, lasting: boolean): void {
    this.kind(lasting).running.add(fingerprint);
  }

  /** The request did not run after all (`lasting` as it was remembered). */
  forget(fingerprint: string, lasting: boolean): void {
    this.kind(lasting).running.delete(fingerprint);
  }

  /** The request remembered as `fingerprint` ran (`lasting` as it was remembered): kept for the window, within the bound. */
  ran(fingerprint: string, lasting: boolean): void {
    const { running, ran } = this.kind(lasting);
    if (!running.has(fingerprint)) return;
    running.delete(fingerprint);
    ran.add(fingerprint);
    this.trim();
  }

  /** Brings the requests that ran back within the bound: the others first, then fencing actions. */
  protected trim(): void {
    while (this.ranCount() > this.maxSize && (this.passing.ran.deleteOldest() || this.lasting.ran.deleteOldest()));
  }

  /** The fencing actions remembered, those that ran (oldest first) and those running, with their expiry. */
  protected lastingEntries(): [member: string, until: number][] {
    return [...this.lasting.ran.entries(), ...this.lasting.running.entries()];
  }

  private kind(lasting: boolean): Kind {
    return lasting ? this.lasting : this.passing;
  }

  private ranCount(): number {
    return this.lasting.ran.size + this.passing.ran.size;
  }
}

function holds(kind: Kind, fingerprint: string): boolean {
  return kind.running.has(fingerprint) || kind.ran.has(fingerprint);
}
