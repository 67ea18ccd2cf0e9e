import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for signatures, challenges and nonces, drawn from a pool the CSPRNG refills: one
 * `randomFillSync` per 4 KiB handed out instead of one `randomBytes` call each (a native job object and
 * OpenSSL's fork check per call: about as much CPU as the keyed hash of a challenge). Node never forks
 * without exec, so no two processes share a pool's contents; every byte handed out is wiped from the
 * pool, so none is handed out twice.
 */
const pool = Buffer.alloc(4096);
let used = pool.length;

/** Fills `target` with fresh random bytes. */
export function fillRandom(target: Uint8Array): void {
  const n = target.length;
  if (n > pool.length) {
    randomFillSync(target);
    return;
  }
  if (used + n > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  target.set(pool.subarray(used, used + n));
  pool.fill(0, used, used + n);
  used += n;
}

/** `n` fresh random bytes in a new buffer. */
export function randomBuffer(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  fillRandom(out);
  return out;
}
