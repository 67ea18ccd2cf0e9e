import { createHash, hash } from 'node:crypto';

const BLOCK = 64;
const DIGEST = 32;

/** One-shot SHA-256 to Latin-1 text; Node before 20.12 has no `hash` (see keyed-hash.ts). */
const sha256: (data: Uint8Array) => string =
  typeof hash === 'function' ? (data) => hash('sha256', data, 'binary') : (data) => createHash('sha256').update(data).digest('binary');

/**
 * HMAC-SHA-256 (RFC 2104) under one key, the padded keys computed once: a tag is then two one-shot
 * hashes. Node's Hmac object costs several times the hashing of a few hundred bytes (its construction,
 * and a native handle the garbage collector finalises), and protocol version 2 makes three tags per
 * request on each side. Synchronous, so the one scratch buffer per key is never shared by two tags.
 */
export class HmacSha256 {
  private readonly innerPad: Buffer;
  /** K ⊕ opad, then room for the inner digest. */
  private readonly outer: Buffer;

  constructor(key: Uint8Array) {
    const k = Buffer.alloc(BLOCK);
    k.set(key.length > BLOCK ? createHash('sha256').update(key).digest() : key);
    this.innerPad = Buffer.alloc(BLOCK);
    this.outer = Buffer.alloc(BLOCK + DIGEST);
    for (let i = 0; i < BLOCK; i++) {
      this.innerPad[i] = (k[i] as number) ^ 0x36;
      this.outer[i] = (k[i] as number) ^ 0x5c;
    }
    k.fill(0);
  }

  /** The tag of the concatenated `parts`. */
  tag(parts: readonly Uint8Array[]): Buffer {
    // Latin-1 text carries the digest bytes one to one; Node 20's one-shot hash is slow to return a
    // Buffer (not so a string).
    this.outer.write(sha256(Buffer.concat([this.innerPad, ...parts])), BLOCK, 'latin1');
    return Buffer.from(sha256(this.outer), 'latin1');
  }
}
