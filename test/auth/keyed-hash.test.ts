import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { AuthKey } from '../../src/auth/index.js';
import { Hash } from '../../src/protocol/index.js';

/**
 * H(key ‖ data) zero-padded to 64 bytes, whichever way AuthKey computes it: short keys are hashed in one
 * call per digest, long ones (or long data) from a copied state, so lengths on both sides of the limits
 * are checked against Node's plain Hash, at an offset inside a larger buffer.
 */
it('computes the zero-padded prefix-keyed digest for short and long keys and every algorithm', () => {
  const algorithms = { [Hash.SHA1]: 'sha1', [Hash.SHA256]: 'sha256', [Hash.SHA512]: 'sha512' } as const;
  // One key per length across all inputs: a short input after a longer one must not hash the longer one's tail.
  const keys = new Map([0, 1, 30, 1024, 1025, 4096].map((length) => [length, new AuthKey(randomBytes(length))]));
  for (const parts of [[randomBytes(176)], [randomBytes(64)], [randomBytes(64), randomBytes(176)], [randomBytes(300)], [randomBytes(8)]])
    for (const [length, key] of keys) {
      for (const hashType of [Hash.SHA1, Hash.SHA256, Hash.SHA512] as const) {
        const h = createHash(algorithms[hashType]).update(key.bytes);
        for (const p of parts) h.update(p);
        const expected = Buffer.alloc(64);
        h.digest().copy(expected);
        for (let round = 0; round < 2; round++) {
          const out = Buffer.alloc(80, 0xff);
          key.digestInto(hashType, parts, out, 8);
          assert.deepEqual(out.subarray(8, 72), expected, `key of ${length} bytes, ${algorithms[hashType]}, round ${round}`);
          assert.ok(out.subarray(0, 8).every((b) => b === 0xff) && out.subarray(72).every((b) => b === 0xff), 'nothing outside the field');
          assert.deepEqual(key.digest(hashType, ...parts), expected);
        }
      }
    }
});
