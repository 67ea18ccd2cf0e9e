import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthKey, signRequest, verifyRequest } from '../../src/auth/index.js';
import {
  decodeFenceRequest,
  encodeFenceRequest,
  Family,
  Hash,
  ProtocolError,
  Request,
  type FenceRequest,
} from '../../src/protocol/index.js';
import { KEY16, SHA1_OFF_VM1, SHA256_STATUS_TEST, SHA512_STATUS_TEST } from './vectors.js';

const key = new AuthKey(KEY16);

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ProtocolError && err.code === code);
}

describe('fence_req codec against real captures', () => {
  const cases: Array<[string, Buffer, Pick<FenceRequest, 'request' | 'hashType' | 'domain' | 'seqno' | 'port'>]> = [
    ['sha256 status', SHA256_STATUS_TEST, { request: Request.STATUS, hashType: Hash.SHA256, domain: 'test', seqno: 505963, port: 1229 }],
    ['sha1 off', SHA1_OFF_VM1, { request: Request.OFF, hashType: Hash.SHA1, domain: 'vm1', seqno: 905298, port: 1297 }],
    ['sha512 status', SHA512_STATUS_TEST, { request: Request.STATUS, hashType: Hash.SHA512, domain: 'test', seqno: 207732, port: 1240 }],
  ];
  for (const [name, capture, expected] of cases) {
    it(`decodes the ${name} capture field by field`, () => {
      const req = decodeFenceRequest(capture);
      assert.deepEqual(
        { ...req, random: undefined },
        {
          request: expected.request,
          hashType: expected.hashType,
          flags: 0,
          domain: expected.domain,
          address: '127.0.0.1',
          family: Family.INET,
          port: expected.port,
          random: undefined,
          seqno: expected.seqno,
        },
      );
      assert.deepEqual(Buffer.from(req.random), capture.subarray(98, 104));
    });

    it(`re-encodes and re-signs the ${name} capture byte for byte`, () => {
      const req = decodeFenceRequest(capture);
      const packet = encodeFenceRequest(req);
      signRequest(packet, key, req.random);
      assert.deepEqual(packet, capture);
    });

    it(`verifies the ${name} capture and rejects every one-bit change`, () => {
      assert.deepEqual(verifyRequest(capture, key, Hash.SHA1), { ok: true, hashType: expected.hashType });
      for (let bit = 0; bit < capture.length * 8; bit++) {
        const flipped = Buffer.from(capture);
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
        // With the weakest keyed minimum, a flipped hash type byte becomes unknown, none (too weak) or
        // another algorithm (mismatch): all must fail, as must any flip elsewhere.
        const result = verifyRequest(flipped, key, Hash.SHA1);
        assert.equal(result.ok, false, `bit ${bit} flipped still verified`);
      }
    });
  }

  it('applies the minimum: stronger accepted, weaker never', () => {
    assert.equal(verifyRequest(SHA256_STATUS_TEST, key, Hash.SHA256).ok, true);
    assert.equal(verifyRequest(SHA512_STATUS_TEST, key, Hash.SHA256).ok, true);
    const weak = verifyRequest(SHA1_OFF_VM1, key, Hash.SHA256);
    assert.equal(weak.ok, false);
    assert.equal(!weak.ok && weak.reason, 'WEAK_HASH');
    const wrongKey = verifyRequest(SHA256_STATUS_TEST, new AuthKey(Buffer.from('other key')), Hash.SHA256);
    assert.equal(!wrongKey.ok && wrongKey.reason, 'MISMATCH');
    const noKey = verifyRequest(SHA256_STATUS_TEST, new AuthKey(Buffer.alloc(0)), Hash.SHA256);
    assert.equal(!noKey.ok && noKey.reason, 'NO_KEY');
  });

  it('rejects non-zero padding after the digest', () => {
    const padded = Buffer.from(SHA256_STATUS_TEST);
    padded[175] = 1;
    const result = verifyRequest(padded, key, Hash.SHA256);
    assert.equal(!result.ok && result.reason, 'MISMATCH');
  });

  it('accepts unsigned requests only when the minimum is none', () => {
    const packet = encodeFenceRequest({
      request: Request.HOSTLIST,
      hashType: Hash.NONE,
      flags: 0,
      domain: '',
      address: null,
      family: Family.NONE,
      port: 0,
      random: new Uint8Array(6),
      seqno: 7,
    });
    signRequest(packet, key);
    assert.ok(
      packet.subarray(98, 104).every((b) => b === 0),
      'unsigned request keeps zero random bytes',
    );
    assert.ok(
      packet.subarray(112).every((b) => b === 0),
      'unsigned request keeps a zero hash',
    );
    assert.equal(verifyRequest(packet, key, Hash.NONE).ok, true);
    assert.equal(verifyRequest(packet, key, Hash.SHA1).ok, false);
  });
});

describe('fence_req strict decoding', () => {
  it('rejects short and long datagrams', () => {
    expectCode(() => decodeFenceRequest(SHA256_STATUS_TEST.subarray(0, 175)), 'WRONG_LENGTH');
    expectCode(() => decodeFenceRequest(Buffer.concat([SHA256_STATUS_TEST, Buffer.of(0)])), 'WRONG_LENGTH');
    expectCode(() => decodeFenceRequest(Buffer.alloc(0)), 'WRONG_LENGTH');
  });

  it('rejects unknown request and hash codes', () => {
    const badReq = Buffer.from(SHA256_STATUS_TEST);
    badReq[0] = 99;
    expectCode(() => decodeFenceRequest(badReq), 'UNKNOWN_REQUEST');
    assert.equal(decodeFenceRequest(badReq, { acceptUnknownRequest: true }).request, 99);
    const badHash = Buffer.from(SHA256_STATUS_TEST);
    badHash[1] = 4;
    expectCode(() => decodeFenceRequest(badHash), 'UNKNOWN_HASH');
    assert.equal(verifyRequest(badHash, key, Hash.NONE).ok, false);
  });

  it('rejects a domain without NUL in its 64 bytes', () => {
    const p = Buffer.from(SHA256_STATUS_TEST);
    p.fill(0x41, 4, 68);
    expectCode(() => decodeFenceRequest(p), 'UNTERMINATED_STRING');
  });

  it('rejects bytes after the domain NUL (every real writer zeroes them)', () => {
    const p = Buffer.from(SHA256_STATUS_TEST);
    p[60] = 0x41;
    expectCode(() => decodeFenceRequest(p), 'BAD_FIELD');
  });

  it('rejects families other than 0, 2 and 10', () => {
    for (const family of [1, 3, 11, 0xffffffff]) {
      const p = Buffer.from(SHA256_STATUS_TEST);
      p.writeUInt32LE(family, 108);
      expectCode(() => decodeFenceRequest(p), 'BAD_FAMILY');
    }
  });

  it('decodes IPv6 connect-back addresses as inet_ntop prints them', () => {
    const req = {
      request: Request.REBOOT,
      hashType: Hash.SHA256,
      flags: 1,
      domain: '11111111-1111-1111-1111-111111111111',
      address: 'fd00::b',
      family: Family.INET6,
      port: 1229,
      random: Uint8Array.of(1, 2, 3, 4, 5, 6),
      seqno: 999999,
    } as const;
    const packet = encodeFenceRequest(req);
    assert.equal(packet[2], 16, 'addrlen is 16 for IPv6');
    assert.deepEqual(packet.subarray(68, 84), Buffer.from('fd00000000000000000000000000000b', 'hex'));
    assert.deepEqual(decodeFenceRequest(packet), { ...req, random: Uint8Array.of(1, 2, 3, 4, 5, 6) });
  });

  it('encodes TCP-style requests with every connect-back field zero', () => {
    const packet = encodeFenceRequest({
      request: Request.STATUS,
      hashType: Hash.SHA256,
      flags: 0,
      domain: 'x',
      address: null,
      family: Family.NONE,
      port: 0,
      random: new Uint8Array(6),
      seqno: 1,
    });
    assert.ok(packet.subarray(68, 98).every((b) => b === 0));
    assert.equal(packet.readUInt32LE(108), 0);
    assert.equal(packet[2], 0);
  });

  it('refuses to encode a 64-byte domain or a stray address', () => {
    const base: FenceRequest = {
      request: Request.OFF,
      hashType: Hash.SHA256,
      flags: 0,
      domain: 'a'.repeat(64),
      address: null,
      family: Family.NONE,
      port: 0,
      random: new Uint8Array(6),
      seqno: 0,
    };
    expectCode(() => encodeFenceRequest(base), 'DOMAIN_TOO_LONG');
    assert.equal(decodeFenceRequest(encodeFenceRequest({ ...base, domain: 'a'.repeat(63) })).domain, 'a'.repeat(63));
    expectCode(() => encodeFenceRequest({ ...base, domain: 'x', address: '1.2.3.4' }), 'BAD_FAMILY');
    expectCode(() => encodeFenceRequest({ ...base, domain: 'x', family: Family.INET, address: 'nope' }), 'BAD_ADDRESS');
  });
});
