import { createHash, type Hash as NodeHash } from 'node:crypto';
import { Hash, type HashType } from '../protocol/constants.js';

export const digestLengths: Readonly<Record<HashType, number>> = { 0: 0, 1: 20, 2: 32, 3: 64 };
const algorithms = { 1: 'sha1', 2: 'sha256', 3: 'sha512' } as const;

/** Zero-padded width of every digest field on the wire (request hash, challenge answers). */
export const DIGEST_FIELD_SIZE = 64;

/**
 * The shared key and the construction both directions use: H(key ‖ data), zero-padded to 64 bytes
 * (docs/protocol.md#request-signature and #challenge-response). This is a prefix-keyed hash, not HMAC;
 * compatibility requires it. The hash state after absorbing the key is kept and copied per digest, so a
 * 4 KiB key is hashed once.
 */
export class AuthKey {
  private readonly keyed = new Map<HashType, NodeHash>();

  constructor(readonly bytes: Buffer) {}

  get empty(): boolean {
    return this.bytes.length === 0;
  }

  /** Digest of key ‖ parts..., written zero-padded into `out` (64 bytes) at `offset`. */
  digestInto(hashType: Exclude<HashType, 0>, parts: readonly Uint8Array[], out: Buffer, offset = 0): void {
    let base = this.keyed.get(hashType);
    if (!base) {
      base = createHash(algorithms[hashType]).update(this.bytes);
      this.keyed.set(hashType, base);
    }
    const h = base.copy();
    for (const p of parts) h.update(p);
    const d = h.digest();
    d.copy(out, offset);
    out.fill(0, offset + d.length, offset + DIGEST_FIELD_SIZE);
  }

  digest(hashType: Exclude<HashType, 0>, ...parts: Uint8Array[]): Buffer {
    const out = Buffer.allocUnsafe(DIGEST_FIELD_SIZE);
    this.digestInto(hashType, parts, out);
    return out;
  }
}

export function isKeyed(hashType: HashType): hashType is Exclude<HashType, 0> {
  return hashType !== Hash.NONE;
}
