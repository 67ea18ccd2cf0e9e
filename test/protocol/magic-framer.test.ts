/**
 * MagicFramer on its own: accounting of every byte, bounded memory, ownership of the caller's chunks,
 * and which decode failures it absorbs. (serial-and-hostlist.test.ts frames real serial requests.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeSerialRequest,
  encodeSerialRequest,
  MAGIC_BYTES,
  MagicFramer,
  ProtocolError,
  Request,
  SERIAL_REQUEST_SIZE,
  type FramerEvent,
  type SerialRequest,
} from '../../src/protocol/index.js';

const framer = () => new MagicFramer(SERIAL_REQUEST_SIZE, (f) => decodeSerialRequest(f));
const request = (seqno: number): SerialRequest => ({ request: Request.STATUS, flags: 0, domain: `vm-${seqno}`, seqno });

/** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number): (below: number) => number {
  let a = seed >>> 0;
  return (below) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % below;
  };
}

function discardedIn(events: FramerEvent<unknown>[]): number {
  return events.reduce((n, e) => n + (e.type === 'discarded' ? e.count : 0), 0);
}

describe('magic framer', () => {
  it('finds every request among garbage however the stream is cut, and accounts for every byte', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const next = random(seed);
      const sent: SerialRequest[] = [];
      const parts: Buffer[] = [];
      for (let i = 0; i < 20; i++) {
        // Garbage without 'a' (0x61) cannot start a magic, so every request sent must come out.
        parts.push(Buffer.from(Array.from({ length: next(40) }, () => 0x62 + next(150))));
        const r = request(seed * 100 + i);
        sent.push(r);
        parts.push(encodeSerialRequest(r));
      }
      const stream = Buffer.concat(parts);
      const f = framer();
      const events: FramerEvent<SerialRequest>[] = [];
      for (let at = 0; at < stream.length;) {
        const n = 1 + next(100);
        events.push(...f.push(stream.subarray(at, at + n)));
        at += n;
        assert.ok(f.buffered < SERIAL_REQUEST_SIZE, `seed ${seed}: at most one frame minus a byte is held`);
      }
      const frames = events.flatMap((e) => (e.type === 'frame' ? [e.value] : []));
      assert.deepEqual(frames, sent, `seed ${seed}`);
      assert.equal(
        frames.length * SERIAL_REQUEST_SIZE + discardedIn(events) + f.buffered,
        stream.length,
        `seed ${seed}: every byte accounted for`,
      );
    }
  });

  it('reports garbage before a frame ahead of the frame, and garbage without a magic as such', () => {
    const f = framer();
    assert.deepEqual(f.push(Buffer.concat([Buffer.from('xyz'), encodeSerialRequest(request(1))])), [
      { type: 'discarded', count: 3, reason: 'bytes before the magic' },
      { type: 'frame', value: request(1) },
    ]);
    assert.deepEqual(f.push(Buffer.from('nothing here')), [{ type: 'discarded', count: 12, reason: 'bytes without a magic' }]);
  });

  it('holds only a tail that could begin a magic, and completes the frame from the next chunk', () => {
    for (let n = 1; n < MAGIC_BYTES.length; n++) {
      const f = framer();
      const frame = encodeSerialRequest(request(n));
      assert.deepEqual(f.push(Buffer.concat([Buffer.from('zz'), frame.subarray(0, n)])), [
        { type: 'discarded', count: 2, reason: 'bytes without a magic' },
      ]);
      assert.equal(f.buffered, n);
      assert.deepEqual(f.push(frame.subarray(n)), [{ type: 'frame', value: request(n) }]);
      assert.equal(f.buffered, 0);
    }
  });

  it('keeps its own copy of what it holds: the caller may reuse its buffer', () => {
    const f = framer();
    const frame = encodeSerialRequest(request(7));
    const chunk = Buffer.from(frame.subarray(0, 30));
    f.push(chunk);
    chunk.fill(0);
    assert.deepEqual(f.push(frame.subarray(30)), [{ type: 'frame', value: request(7) }]);
  });

  it('absorbs protocol errors of the decoder but lets any other error through (a bug must not be taken for noise)', () => {
    const refusing = new MagicFramer(8, () => {
      throw new ProtocolError('BAD_MAGIC', 'refused');
    });
    // The refused frame costs its first byte; the rest is scanned again and holds no magic.
    assert.deepEqual(refusing.push(Buffer.concat([Buffer.from(MAGIC_BYTES), Buffer.alloc(4)])), [
      { type: 'discarded', count: 1, reason: 'refused' },
      { type: 'discarded', count: 7, reason: 'bytes without a magic' },
    ]);
    const broken = new MagicFramer(8, () => {
      throw new TypeError('decoder bug');
    });
    assert.throws(() => broken.push(Buffer.concat([Buffer.from(MAGIC_BYTES), Buffer.alloc(4)])), TypeError);
  });
});
