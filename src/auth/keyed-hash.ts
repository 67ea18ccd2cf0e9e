import { createHash, hash, type Hash as NodeHash } from 'node:crypto';
import { Hash, type HashType } from '../protocol/constants.js';

export const digestLengths: Readonly<Record<HashType, number>> = { 0: 0, 1: 20, 2: 32, 3: 64 };
const algorithms = { 1: 'sha1', 2: 'sha256', 3: 'sha512' } as const;

/**
 * Keys up to this length are hashed again with every digest, in one call: Node's one-shot hash (20.12
 * and later) costs a fraction of a Hash object's copy (its construction, and a native handle the garbage
 * collector finalises), and up to about 1 KiB of key the hashing itself costs less than that difference
 * for every algorithm. Longer keys (fence_virt's documented 4 KiB one) keep the copied state.
 */
const ONE_SHOT_KEY_LIMIT = 1024;
/** Room after the key for what is hashed in one call: a 176-byte request, a 64-byte challenge. */
const ONE_SHOT_DATA_LIMIT = 256;
/**
 * Latin-1 text carries digest bytes one to one; Node 20's one-shot hash is slow to return a Buffer.
 * Node before 20.12 has none: the bundles (CommonJS) then find `hash` undefined. A named import, not a
 * namespace: the bundler would copy every export of node:crypto into a namespace object at start.
 */
const oneShot: ((algorithm: string, data: Uint8Array) => string) | undefined =
  typeof hash === 'function' ? (algorithm, data) => hash(algorithm, data, 'binary') : undefined;

/** Zero-padded width of every digest field on the wire (request hash, challenge answers). */
export const DIGEST_FIELD_SIZE = 64;

/**
 * The shared key and the construction both directions use: H(key ‖ data), zero-padded to 64 bytes
 * (docs/protocol.md#request-signature and #challenge-response). This is a prefix-keyed hash, not HMAC;
 * compatibility requires it. For a long key the hash state after absorbing it is kept and copied per
 * digest, so a 4 KiB key is hashed once.
 */
export class AuthKey {
  private readonly keyed = new Map<HashType, NodeHash>();
  /**
   * key ‖ data for a one-shot digest, reused (digests are synchronous). Allocated apart, never from
   * Node's shared pool, whose slabs also back other code's uninitialised buffers: the key stays here.
   */
  private scratch: Buffer | undefined;

  constructor(readonly bytes: Buffer) {}

  get empty(): boolean {
    return this.bytes.length === 0;
  }

  /** Digest of key ‖ parts..., written zero-padded into `out` (64 bytes) at `offset`. */
  digestInto(hashType: Exclude<HashType, 0>, parts: readonly Uint8Array[], out: Buffer, offset = 0): void {
    const end = parts.reduce((n, p) => n + p.length, this.bytes.length);
    if (oneShot && this.bytes.length <= ONE_SHOT_KEY_LIMIT && end <= this.bytes.length + ONE_SHOT_DATA_LIMIT) {
      if (!this.scratch) {
        this.scratch = Buffer.alloc(this.bytes.length + ONE_SHOT_DATA_LIMIT);
        this.scratch.set(this.bytes);
      }
      let at = this.bytes.length;
      for (const p of parts) {
        this.scratch.set(p, at);
        at += p.length;
      }
      const written = out.write(oneShot(algorithms[hashType], this.scratch.subarray(0, end)), offset, 'latin1');
      out.fill(0, offset + written, offset + DIGEST_FIELD_SIZE);
      return;
    }
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
