/**
 * Protocol version 2, byte by byte: the test vectors of docs/protocol.md#v2-test-vectors, the offer in
 * the signed request, the transcript, and the listener's choice of version. The tags are also
 * recomputed here from node:crypto alone, so the vectors follow from the written construction and not
 * only from our code.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { AuthKey, HmacSha256, newV2Session, signRequest, verifyRequest } from '../../src/auth/index.js';
import { chooseVersion } from '../../src/listeners/protocol-policy.js';
import {
  addressFieldEnd,
  decodeFenceRequest,
  encodeFenceRequest,
  Family,
  FenceRequestLayout,
  Hash,
  markProtocol2,
  peerIdentityBytes,
  ProtocolError,
  readProtocolOffer,
  Request,
  V2Label,
} from '../../src/protocol/index.js';
import { CapturedLog } from '../support/captured-log.js';

const KEY = new AuthKey(Buffer.from('fence-virt protocol 2 test vector key\n'));
const TIMESTAMP = 1_700_000_000_000;

/** docs/protocol.md#v2-test-vectors */
const V = {
  request:
    '01020080766d31000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000' +
    '00000000000000000000000000000000000000000068e5cf8b01000000000000000001020304050640e2010000000000f2c130e27f039455cc230b864c366934' +
    '422a6785ef8ea55032125c30f42d7e080000000000000000000000000000000000000000000000000000000000000000',
  derivedKey: '61d5ddac5bb2d6ab76f177801e83d5fcb38faebf8eef1a24b142fcff490e7fde',
  /** The request, Ca (0x11 x 64), Cd (0x22 x 32), the identity's length and "192.0.2.7". */
  transcript: () => V.request + '11'.repeat(64) + '22'.repeat(32) + '093139322e302e322e37',
  daemonProof: '6e537d77da4c6b7dddde5c8a025fd063d6b00441a196a8dc07db860067d13308',
  agentProof: '031f61c94a63e3a75a000520920de554d7155f5f35b89c600b2d048acb038283',
  answerSuccess: '7a034ee461e95ea39809cc9686327c9077e4b623c3f30db2ec313590e895799b',
  answerFail: 'c5133218689c92a46596dc624585bec2f5aacea5b514acda90a7061be7145e7f',
};

function vectorRequest(): Buffer {
  const packet = encodeFenceRequest({
    request: Request.OFF,
    hashType: Hash.SHA256,
    flags: 0,
    domain: 'vm1',
    address: null,
    family: Family.NONE,
    port: 0,
    random: new Uint8Array(6),
    seqno: 123456,
  });
  markProtocol2(packet, TIMESTAMP);
  signRequest(packet, KEY, Uint8Array.of(1, 2, 3, 4, 5, 6));
  return packet;
}

describe('protocol version 2 test vectors', () => {
  const request = vectorRequest();
  const session = newV2Session(KEY, request, Buffer.alloc(64, 0x11), Buffer.alloc(32, 0x22), '192.0.2.7');

  it('the offer: flag bit 7, timestamp at offset 84, signed like any request', () => {
    assert.equal(request.toString('hex'), V.request);
    assert.equal(request[FenceRequestLayout.flags], 0x80);
    assert.equal(request.readBigUInt64LE(84), BigInt(TIMESTAMP));
    assert.deepEqual(verifyRequest(request, KEY, Hash.SHA256), { ok: true, hashType: Hash.SHA256 });
    // The version 1 decoder reads it as an ordinary TCP request: the extension is outside every field.
    const decoded = decodeFenceRequest(request);
    assert.equal(decoded.family, Family.NONE);
    assert.equal(decoded.address, null);
    assert.deepEqual(readProtocolOffer(request), { version: 2, timestampMs: TIMESTAMP });
  });

  it('the derived key, transcript and tags', () => {
    assert.equal(new HmacSha256(KEY.bytes).tag([Buffer.from(V2Label.key)]).toString('hex'), V.derivedKey);
    assert.equal(session.transcript.toString('hex'), V.transcript());
    assert.equal(session.tag(V2Label.daemonProof).toString('hex'), V.daemonProof);
    assert.equal(session.tag(V2Label.agentProof).toString('hex'), V.agentProof);
    assert.equal(session.tag(V2Label.answer, Buffer.of(0)).toString('hex'), V.answerSuccess);
    assert.equal(session.tag(V2Label.answer, Buffer.of(1)).toString('hex'), V.answerFail);
  });

  it('follow from HMAC-SHA-256 as docs/protocol.md writes it', () => {
    const k2 = createHmac('sha256', KEY.bytes).update('fence-virt/2 key\0').digest();
    assert.equal(k2.toString('hex'), V.derivedKey);
    const tag = (label: string, extra = '') =>
      createHmac('sha256', k2)
        .update(label)
        .update(Buffer.from(V.transcript() + extra, 'hex'))
        .digest('hex');
    assert.equal(tag('fence-virt/2 daemon proof\0'), V.daemonProof);
    assert.equal(tag('fence-virt/2 agent proof\0'), V.agentProof);
    assert.equal(tag('fence-virt/2 answer\0', '00'), V.answerSuccess);
  });

  it('a daemon proof is never an agent proof, and every transcript part counts', () => {
    assert.notEqual(V.daemonProof, V.agentProof);
    assert.equal(session.verify(V2Label.agentProof, Buffer.from(V.daemonProof, 'hex')), false);
    const variants = [
      newV2Session(KEY, Buffer.from(request).fill(0x81, 3, 4), Buffer.alloc(64, 0x11), Buffer.alloc(32, 0x22), '192.0.2.7'),
      newV2Session(KEY, request, Buffer.alloc(64, 0x12), Buffer.alloc(32, 0x22), '192.0.2.7'),
      newV2Session(KEY, request, Buffer.alloc(64, 0x11), Buffer.alloc(32, 0x23), '192.0.2.7'),
      newV2Session(KEY, request, Buffer.alloc(64, 0x11), Buffer.alloc(32, 0x22), '192.0.2.8'),
      newV2Session(new AuthKey(Buffer.from('another key')), request, Buffer.alloc(64, 0x11), Buffer.alloc(32, 0x22), '192.0.2.7'),
    ];
    for (const other of variants) assert.equal(other.verify(V2Label.daemonProof, Buffer.from(V.daemonProof, 'hex')), false);
  });
});

describe('the version 2 offer in a request', () => {
  it('version 1 requests are untouched: no flag means version 1, whatever the address field holds', () => {
    const v1 = encodeFenceRequest({
      request: Request.STATUS,
      hashType: Hash.SHA256,
      flags: 1,
      domain: 'x',
      address: '2001:db8::1',
      family: Family.INET6,
      port: 1229,
      random: new Uint8Array(6),
      seqno: 1,
    });
    assert.deepEqual(readProtocolOffer(v1), { version: 1 });
    assert.equal(addressFieldEnd(v1), FenceRequestLayout.port);
  });

  it('an IPv6 connect-back address and the extension share the field without overlap', () => {
    const packet = encodeFenceRequest({
      request: Request.STATUS,
      hashType: Hash.SHA256,
      flags: 1,
      domain: 'x',
      address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      family: Family.INET6,
      port: 1229,
      random: new Uint8Array(6),
      seqno: 1,
    });
    markProtocol2(packet, TIMESTAMP);
    assert.equal(decodeFenceRequest(packet).address, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    assert.equal(packet[FenceRequestLayout.flags], 0x81);
    assert.deepEqual(readProtocolOffer(packet), { version: 2, timestampMs: TIMESTAMP });
    assert.equal(addressFieldEnd(packet), 84);
  });

  it('reserved bytes must be zero', () => {
    const packet = vectorRequest();
    packet[95] = 1;
    assert.throws(() => readProtocolOffer(packet), ProtocolError);
  });

  it('names the peer the same on both ends of a dual-stack socket', () => {
    assert.deepEqual(peerIdentityBytes('::ffff:127.0.0.1'), Buffer.from('127.0.0.1'));
    assert.deepEqual(peerIdentityBytes('2001:db8::1'), Buffer.from('2001:db8::1'));
    assert.deepEqual(peerIdentityBytes('3'), Buffer.from('3'));
  });
});

describe('which version a listener speaks', () => {
  const now = 1_800_000_000_000;
  const v1 = vectorRequest().fill(0, 3, 4);
  const fresh = () => {
    const p = vectorRequest();
    markProtocol2(p, now - 1_000);
    return p;
  };
  const stale = () => {
    const p = vectorRequest();
    markProtocol2(p, now - 31_000);
    return p;
  };
  const ahead = () => {
    const p = vectorRequest();
    markProtocol2(p, now + 31_000);
    return p;
  };
  const choose = (raw: Uint8Array, protocol: 'auto' | '1' | '2') => {
    const log = new CapturedLog(0);
    return { version: chooseVersion(raw, { protocol, freshnessWindowMs: 30_000 }, 'tester', log.logger, now), log: log.lines.join('') };
  };

  it('auto: version 2 with an offer, 1 without', () => {
    assert.equal(choose(fresh(), 'auto').version, 2);
    assert.equal(choose(v1, 'auto').version, 1);
  });

  it('"1": always version 1, offer or not', () => {
    assert.equal(choose(fresh(), '1').version, 1);
    assert.equal(choose(stale(), '1').version, 1);
  });

  it('"2": a version 1 request is dropped with a reason', () => {
    const r = choose(v1, '2');
    assert.equal(r.version, undefined);
    assert.match(r.log, /dropping request from tester: it speaks protocol version 1 and this listener requires version 2/);
  });

  it('a version 2 request outside the freshness window is dropped, either way', () => {
    for (const [packet, words] of [
      [stale(), /31\.0 s old, outside the freshness window of 30 s/],
      [ahead(), /31\.0 s in the future/],
    ] as const) {
      const r = choose(packet, 'auto');
      assert.equal(r.version, undefined);
      assert.match(r.log, words);
    }
  });
});
