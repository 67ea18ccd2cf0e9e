import { ExpiringSet } from '../util/expiring-set.js';

/**
 * The signatures (fingerprints) of executed signed requests, refused as replays while remembered. This
 * one lives in the process; the daemon's ReplayJournal also keeps the `lasting` ones in a file, so
 * that their replays are refused after a restart too.
 */
export class ReplayMemory extends ExpiringSet {
  /** `lasting`: the request changes something (see RequestGate.admit); only the journal tells them apart. */
  remember(fingerprint: string, _lasting: boolean): void {
    this.add(fingerprint);
  }

  /** The request did not run after all (`lasting` as it was remembered). */
  forget(fingerprint: string, _lasting: boolean): void {
    this.delete(fingerprint);
  }
}
