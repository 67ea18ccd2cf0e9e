/**
 * Read deadlines of StreamIO share one timer per stream, left armed between reads: each read must still
 * end at its own deadline, whether the timer was armed for a later one (a 10 s step, then a 1 s one) or
 * for an earlier one that was met (it fires, finds a later read waiting and re-arms for it). Real
 * sockets, as in write-deadline.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StreamIO, StreamIOError } from '../../src/util/stream-io.js';
import { socketPair } from '../support/socket-pair.js';

/** How long the read took to time out (ms); fails if it resolved or failed otherwise. */
async function timesOut(read: Promise<Buffer>): Promise<number> {
  const started = performance.now();
  await assert.rejects(read, (err: unknown) => err instanceof StreamIOError && err.code === 'TIMEOUT');
  return performance.now() - started;
}

describe('StreamIO read deadline', () => {
  it('ends a read at its own deadline after a read with a later deadline was answered', async () => {
    const { ours, peer, close } = await socketPair();
    try {
      const io = new StreamIO(ours);
      const first = io.read(4, 10_000);
      peer.write('abcd');
      assert.equal((await first).toString(), 'abcd');
      const took = await timesOut(io.read(4, 200));
      assert.ok(took >= 150 && took < 2_000, `timed out after ${took} ms, not at its 200 ms deadline`);
    } finally {
      await close();
    }
  });

  it('waits out a later deadline after a read with an earlier deadline was answered', async () => {
    const { ours, peer, close } = await socketPair();
    try {
      const io = new StreamIO(ours);
      const first = io.read(4, 100);
      peer.write('abcd');
      assert.equal((await first).toString(), 'abcd');
      // The timer armed for the first read fires meanwhile and must not end this one.
      const second = io.read(4, 600);
      setTimeout(() => peer.write('efgh'), 300);
      assert.equal((await second).toString(), 'efgh');
      const took = await timesOut(io.read(4, 400));
      assert.ok(took >= 350 && took < 3_000, `timed out after ${took} ms, not at its 400 ms deadline`);
    } finally {
      await close();
    }
  });
});
