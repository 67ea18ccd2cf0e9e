import { CHALLENGE_SIZE } from '../protocol/constants.js';
import { randomBuffer } from './random-pool.js';

/**
 * The challenges this daemon has sent and not yet seen answered, across every connection of every
 * listener. The wire protocol answers a challenge with the same keyed hash in both directions, so a
 * daemon that serves connections concurrently could be asked, on a second connection, to answer the
 * challenge it just sent on the first: the peer would then hold a valid answer without the key. A client
 * challenge found here is therefore refused. One registry per daemon, shared by all listeners.
 */
export class ChallengeRegistry {
  private readonly outstanding = new Set<string>();

  /** A fresh challenge, outstanding until `release` (call it in a finally). */
  issue(): { challenge: Buffer; release: () => void } {
    const challenge = randomBuffer(CHALLENGE_SIZE);
    const id = challenge.toString('latin1');
    this.outstanding.add(id);
    return { challenge, release: () => void this.outstanding.delete(id) };
  }

  /** Whether `challenge` is one of ours still waiting for its answer. */
  isOutstanding(challenge: Uint8Array): boolean {
    return this.outstanding.has(Buffer.from(challenge.buffer, challenge.byteOffset, challenge.byteLength).toString('latin1'));
  }

  get size(): number {
    return this.outstanding.size;
  }
}
