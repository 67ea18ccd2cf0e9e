import { ExpiringSet } from '../util/expiring-set.js';

/**
 * The signatures (fingerprints) of executed signed requests, refused as replays while remembered. This
 * one lives in the process; the daemon's ReplayJournal also keeps the `lasting` ones in a file, so
 * that their replays are refused after a restart too. The set is held, not inherited: a caller can only
 * remember and forget, never add behind the journal's back.
 */
export class ReplayMemory {
  protected readonly members: ExpiringSet;

  constructor(lifetimeMs: number, maxSize: number, now?: () => number) {
    this.members = new ExpiringSet(lifetimeMs, maxSize, now);
  }

  has(fingerprint: string): boolean {
    return this.members.has(fingerprint);
  }

  get size(): number {
    return this.members.size;
  }

  /** `lasting`: the request changes something (see RequestGate.admit); only the journal tells them apart. */
  remember(fingerprint: string, _lasting: boolean): void {
    this.members.add(fingerprint);
  }

  /** The request did not run after all (`lasting` as it was remembered). */
  forget(fingerprint: string, _lasting: boolean): void {
    this.members.delete(fingerprint);
  }
}
