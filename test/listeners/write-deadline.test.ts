/**
 * The deadline of a write (docs/compatibility.md, row 'final answer write'): a write the kernel takes at
 * once needs none, but one that waits because the peer stopped reading must still end at its deadline,
 * with the connection closed.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StreamIO, StreamIOError } from '../../src/util/stream-io.js';
import { socketPair } from '../support/socket-pair.js';

describe('StreamIO write deadline', () => {
  it('resolves a write the peer reads, and times out one the peer never reads, closing the connection', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fvd-write-'));
    const { ours, peer, close } = await socketPair(join(dir, 'sock'));
    try {
      const io = new StreamIO(ours);
      const received = once(peer, 'data') as Promise<[Buffer]>;
      await io.write(Buffer.from('answer'), 1_000, 'the answer');
      assert.equal((await received)[0].toString(), 'answer');

      peer.pause(); // stops reading: the kernel buffers fill and the write has to wait
      const started = performance.now();
      await assert.rejects(io.write(Buffer.alloc(16 << 20), 300, 'a large answer'), (err: unknown) => {
        assert.ok(err instanceof StreamIOError && err.code === 'TIMEOUT', String(err));
        return true;
      });
      const took = performance.now() - started;
      assert.ok(took >= 250 && took < 5_000, `rejected after ${took} ms`);
      assert.ok(ours.destroyed, 'the connection is closed at the deadline');
    } finally {
      await close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
