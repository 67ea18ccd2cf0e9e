import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeHostRecord,
  decodeSerialRequest,
  decodeSerialResponse,
  encodeHostRecord,
  encodeSerialRequest,
  encodeSerialResponse,
  HOST_RECORD_SIZE,
  hostListChunks,
  MagicFramer,
  ProtocolError,
  Request,
  SERIAL_REQUEST_SIZE,
  type SerialRequest,
} from '../../src/protocol/index.js';

const framerFor = () => new MagicFramer(SERIAL_REQUEST_SIZE, (f) => decodeSerialRequest(f));
const req: SerialRequest = { request: Request.OFF, flags: 0, domain: 'vm-run', seqno: 424242 };

describe('serial messages', () => {
  it('lays out serial_req exactly (magic, request, flags, domain, seqno LE)', () => {
    const b = encodeSerialRequest(req);
    assert.equal(b.length, 74);
    assert.deepEqual(b.subarray(0, 6), Buffer.from('616262610100', 'hex'));
    assert.equal(b.subarray(6, 70).toString('latin1').replace(/\0+$/, ''), 'vm-run');
    assert.equal(b.readUInt32LE(70), 424242);
    assert.deepEqual(decodeSerialRequest(b), req);
  });

  it('lays out serial_resp as magic + code', () => {
    assert.deepEqual(encodeSerialResponse(3), Buffer.from('6162626103', 'hex'));
    assert.equal(decodeSerialResponse(Buffer.from('61626261fd', 'hex')), 0xfd);
    assert.throws(() => decodeSerialResponse(Buffer.from('6162626201', 'hex')), ProtocolError);
  });
});

describe('magic framer', () => {
  it('frames requests split into single bytes', () => {
    const framer = framerFor();
    const bytes = Buffer.concat([encodeSerialRequest(req), encodeSerialRequest({ ...req, seqno: 2 })]);
    const frames = [];
    for (const byte of bytes) for (const e of framer.push(Buffer.of(byte))) frames.push(e);
    assert.deepEqual(frames, [
      { type: 'frame', value: req },
      { type: 'frame', value: { ...req, seqno: 2 } },
    ]);
    assert.equal(framer.buffered, 0);
  });

  it('resynchronises after garbage, including a partial magic right before the real one', () => {
    const framer = framerFor();
    // "aab" then "a" splits are the case the C client's naive scanner misses (docs/compatibility.md, row
    // 'serial answer scan').
    const garbage = Buffer.from('xxaabbaab', 'latin1');
    const events = framer.push(Buffer.concat([garbage, Buffer.from('a'), encodeSerialRequest(req).subarray(1)]));
    const frames = events.filter((e) => e.type === 'frame');
    assert.deepEqual(frames, [{ type: 'frame', value: req }]);
    const discarded = events.filter((e) => e.type === 'discarded').reduce((n, e) => n + (e.type === 'discarded' ? e.count : 0), 0);
    assert.equal(discarded, garbage.length);
  });

  it('skips a frame that does not decode and finds the request behind it', () => {
    const framer = framerFor();
    const bad = encodeSerialRequest(req);
    bad.fill(0x41, 6, 70); // unterminated domain
    const events = framer.push(Buffer.concat([bad.subarray(0, 40), encodeSerialRequest(req)]));
    assert.deepEqual(
      events.filter((e) => e.type === 'frame'),
      [{ type: 'frame', value: req }],
    );
    assert.ok(events.some((e) => e.type === 'discarded' && /after its NUL/.test(e.reason)));
  });

  it('keeps memory bounded under a flood without magic', () => {
    const framer = framerFor();
    let discarded = 0;
    for (let i = 0; i < 100; i++) {
      for (const e of framer.push(Buffer.alloc(4096, 0x7a))) if (e.type === 'discarded') discarded += e.count;
    }
    assert.equal(discarded, 409600);
    assert.equal(framer.buffered, 0);
  });
});

describe('host-list records', () => {
  const host = { name: 'vm-run', uuid: '11111111-1111-1111-1111-111111111111', state: 1 };

  it('writes fully defined records and the network/serial stream framing', () => {
    const rec = encodeHostRecord(host);
    assert.equal(rec.length, HOST_RECORD_SIZE);
    assert.ok(rec.subarray(6, 64).every((b) => b === 0));
    assert.ok(rec.subarray(100, 128).every((b) => b === 0));
    assert.equal(rec[128], 1);
    assert.equal(rec[129], 0, 'pad byte is zero, not stack garbage');
    const net = Buffer.concat([...hostListChunks('network', [host], 0)]);
    assert.equal(net.length, 1 + 130 + 130 + 1);
    assert.equal(net[0], 0xfd);
    assert.ok(net.subarray(131, 261).every((b) => b === 0));
    const serial = Buffer.concat([...hostListChunks('serial', [host], 1)]);
    assert.deepEqual(serial.subarray(0, 5), Buffer.from('61626261fd', 'hex'));
    assert.deepEqual(serial.subarray(serial.length - 5), Buffer.from('6162626101', 'hex'));
  });

  it('reads records with garbage in byte 63 and the pad byte, as the C daemon sends them', () => {
    const rec = encodeHostRecord(host);
    rec[63] = 0x33;
    rec[127] = 0x99;
    rec[129] = 0xee;
    assert.deepEqual(decodeHostRecord(rec), { ...host, terminator: false });
    const long = encodeHostRecord({ ...host, name: 'n'.repeat(63) });
    long[63] = 0x41;
    assert.equal(decodeHostRecord(long).name, 'n'.repeat(63));
  });

  it('cuts names longer than the field to 63 bytes without splitting a character', () => {
    assert.equal(decodeHostRecord(encodeHostRecord({ ...host, name: 'n'.repeat(100) })).name, 'n'.repeat(63));
    // 'é' is two bytes: 31 of them are 62 bytes, and the 32nd would not fit whole.
    assert.equal(decodeHostRecord(encodeHostRecord({ ...host, name: 'é'.repeat(40) })).name, 'é'.repeat(31));
  });

  it('rejects garbage between the NUL and byte 63', () => {
    const rec = encodeHostRecord(host);
    rec[20] = 0x41;
    assert.throws(
      () => decodeHostRecord(rec),
      (e: unknown) => e instanceof ProtocolError && e.code === 'BAD_FIELD',
    );
  });

  it('recognises the terminator only when both name and uuid are empty', () => {
    assert.equal(decodeHostRecord(Buffer.alloc(130)).terminator, true);
    assert.equal(decodeHostRecord(encodeHostRecord({ name: '', uuid: host.uuid, state: 5 })).terminator, false);
  });
});
