import { timingSafeEqual } from 'node:crypto';
import { hashNames, isHashType, type HashType } from '../protocol/constants.js';
import { FENCE_REQUEST_SIZE, FenceRequestLayout, RANDOM_SIZE } from '../protocol/fence-request.js';
import { AuthKey, isKeyed } from './keyed-hash.js';
import { fillRandom } from './random-pool.js';

const HASH_AT = FenceRequestLayout.hash;
// Verification hashes a copy with the field zeroed; one reused scratch buffer keeps it allocation-free
// (safe: digestInto is synchronous).
const scratch = Buffer.alloc(FENCE_REQUEST_SIZE);

/**
 * Signs an encoded 176-byte request in place (docs/protocol.md#request-signature): fresh random bytes,
 * then H(key ‖ request with a zero hash field) into the hash field. Unsigned (hash none) requests keep
 * zero random bytes and a zero hash. `random` is for reproducing captures in tests.
 */
export function signRequest(packet: Buffer, key: AuthKey, random?: Uint8Array): void {
  const hashType = packet[FenceRequestLayout.hashType] as number;
  if (packet.length !== FENCE_REQUEST_SIZE || !isHashType(hashType)) {
    throw new Error('signRequest needs an encoded 176-byte request with a known hash type');
  }
  packet.fill(0, HASH_AT);
  if (!isKeyed(hashType)) return;
  const r = packet.subarray(FenceRequestLayout.random, FenceRequestLayout.random + RANDOM_SIZE);
  if (random) r.set(random);
  else fillRandom(r);
  key.digestInto(hashType, [packet], packet, HASH_AT);
}

export type VerifyFailure = 'WEAK_HASH' | 'UNKNOWN_HASH' | 'NO_KEY' | 'MISMATCH' | 'WRONG_LENGTH';
export type VerifyResult = { ok: true; hashType: HashType } | { ok: false; reason: VerifyFailure; message: string };

/**
 * Daemon-side check of a received request (docs/protocol.md#request-signature, "Verification"): stronger
 * hashes than the minimum are accepted, weaker never; all 64 bytes of the field are compared in constant
 * time, so non-zero padding fails. The packet is not modified.
 */
export function verifyRequest(packet: Uint8Array, key: AuthKey, minimum: HashType): VerifyResult {
  if (packet.length !== FENCE_REQUEST_SIZE) {
    return { ok: false, reason: 'WRONG_LENGTH', message: `request is ${packet.length} bytes; expected ${FENCE_REQUEST_SIZE}` };
  }
  const hashType = packet[FenceRequestLayout.hashType] as number;
  if (!isHashType(hashType)) return { ok: false, reason: 'UNKNOWN_HASH', message: `unknown hash type ${hashType}` };
  if (hashType < minimum) {
    return {
      ok: false,
      reason: 'WEAK_HASH',
      message: `hash type ${hashNames[hashType]} is weaker than the required ${hashNames[minimum]}`,
    };
  }
  if (!isKeyed(hashType)) return { ok: true, hashType };
  if (key.empty) return { ok: false, reason: 'NO_KEY', message: 'no key data to verify a signed request' };
  scratch.set(packet.subarray(0, HASH_AT));
  const expected = key.digest(hashType, scratch);
  if (!timingSafeEqual(expected, packet.subarray(HASH_AT))) {
    return { ok: false, reason: 'MISMATCH', message: 'key mismatch (request signature does not verify)' };
  }
  return { ok: true, hashType };
}
