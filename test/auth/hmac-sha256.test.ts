/**
 * Our HMAC-SHA-256 (precomputed pads, one-shot hashes) against RFC 4231's test cases and against
 * node:crypto's own createHmac, for keys around the 64-byte block and messages in several parts.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { HmacSha256 } from '../../src/auth/index.js';

describe('HmacSha256', () => {
  it('gives the RFC 4231 results (a short key, and a key longer than a block)', () => {
    const hi = new HmacSha256(Buffer.alloc(20, 0x0b)).tag([Buffer.from('Hi There')]);
    assert.equal(hi.toString('hex'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    const long = new HmacSha256(Buffer.alloc(131, 0xaa)).tag([Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First')]);
    assert.equal(long.toString('hex'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  it('agrees with createHmac for keys of 0 to 130 bytes and messages in parts, tag after tag', () => {
    for (const keyLength of [0, 1, 32, 63, 64, 65, 130]) {
      const key = randomBytes(keyLength);
      const mac = new HmacSha256(key);
      for (const sizes of [[], [0], [1, 176], [176, 64, 32, 10, 1], [4096]]) {
        const parts = sizes.map((n) => randomBytes(n));
        const expected = createHmac('sha256', key);
        for (const p of parts) expected.update(p);
        assert.deepEqual(mac.tag(parts), expected.digest(), `key ${keyLength} bytes, parts ${sizes.join('+')}`);
      }
    }
  });
});
