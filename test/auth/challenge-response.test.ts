import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { answerAsDaemon, AuthError, AuthKey, challengeAsClient } from '../../src/auth/index.js';
import { ChallengeRegistry } from '../../src/auth/challenge-registry.js';
import { Hash } from '../../src/protocol/index.js';
import { StreamIO, StreamIOError } from '../../src/util/stream-io.js';
import { CHALLENGE_SESSION, KEY16 } from '../protocol/vectors.js';

const key = new AuthKey(KEY16);
const registry = new ChallengeRegistry();

/** A real loopback TCP connection pair. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const accepted = once(server, 'connection');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [serverSide] = (await accepted) as [Socket];
  server.close();
  return [client, serverSide];
}

/** Wraps a socket so that every write reaches the peer one byte at a time. */
function trickle(socket: Socket): Duplex {
  return new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      let i = 0;
      const next = (): void => {
        if (i >= chunk.length) return cb();
        socket.write(chunk.subarray(i, ++i), () => setImmediate(next));
      };
      next();
    },
    final(cb) {
      socket.end();
      cb();
    },
  }).on('close', () => socket.destroy());
}

function bridge(socket: Socket, wrapper: Duplex): Duplex {
  socket.on('data', (d: Buffer) => wrapper.push(d));
  socket.on('end', () => wrapper.push(null));
  return wrapper;
}

describe('challenge-response', () => {
  it('reproduces the captured sha256 session answers', () => {
    assert.deepEqual(key.digest(Hash.SHA256, CHALLENGE_SESSION.clientChallenge), CHALLENGE_SESSION.daemonAnswer);
    assert.deepEqual(key.digest(Hash.SHA256, CHALLENGE_SESSION.daemonChallenge), CHALLENGE_SESSION.clientAnswer);
  });

  for (const hash of [Hash.NONE, Hash.SHA1, Hash.SHA256, Hash.SHA512]) {
    it(`completes both roles over loopback TCP with hash ${hash}`, async () => {
      const [c, s] = await socketPair();
      await Promise.all([challengeAsClient(new StreamIO(c), key, hash, 2000), answerAsDaemon(new StreamIO(s), key, hash, 2000, registry)]);
      c.destroy();
      s.destroy();
    });
  }

  it('works when both sides deliver bytes one at a time', async () => {
    const [c, s] = await socketPair();
    await Promise.all([
      challengeAsClient(new StreamIO(bridge(c, trickle(c))), key, Hash.SHA512, 5000),
      answerAsDaemon(new StreamIO(bridge(s, trickle(s))), key, Hash.SHA512, 5000, registry),
    ]);
    c.destroy();
    s.destroy();
  });

  it('fails both sides cleanly on a key mismatch', async () => {
    const [c, s] = await socketPair();
    const other = new AuthKey(Buffer.from('another key'));
    const [client, daemon] = await Promise.allSettled([
      challengeAsClient(new StreamIO(c), key, Hash.SHA256, 1000),
      answerAsDaemon(new StreamIO(s), other, Hash.SHA256, 1000, registry).finally(() => s.destroy()),
    ]);
    assert.equal(client.status, 'rejected');
    assert.ok(client.status === 'rejected' && client.reason instanceof AuthError, 'client sees a wrong answer');
    // The daemon waits for the client's answer, which never comes: the connection closes instead.
    assert.ok(daemon.status === 'rejected' && daemon.reason instanceof StreamIOError);
    c.destroy();
  });

  it('fails on an algorithm mismatch', async () => {
    const [c, s] = await socketPair();
    const [client] = await Promise.allSettled([
      challengeAsClient(new StreamIO(c), key, Hash.SHA256, 1000),
      answerAsDaemon(new StreamIO(s), key, Hash.SHA1, 1000, registry).finally(() => s.destroy()),
    ]);
    assert.ok(client.status === 'rejected' && client.reason instanceof AuthError);
    c.destroy();
  });

  it('times out a peer that never answers, and reports EOF on a short read', async () => {
    const silent = new PassThrough();
    await assert.rejects(
      answerAsDaemon(new StreamIO(silent), key, Hash.SHA256, 50, registry),
      (e: unknown) => e instanceof StreamIOError && e.code === 'TIMEOUT',
    );
    const short = new PassThrough();
    short.end(Buffer.alloc(10));
    await assert.rejects(
      answerAsDaemon(new StreamIO(short), key, Hash.SHA256, 1000, registry),
      (e: unknown) => e instanceof StreamIOError && e.code === 'EOF',
    );
  });

  it('refuses to answer a challenge the daemon issued and is still waiting on (reflection)', async () => {
    const shared = new ChallengeRegistry();
    // Connection 1: the attacker offers a challenge and reads our answer and our challenge d1.
    const [c1, s1] = await socketPair();
    const first = answerAsDaemon(new StreamIO(s1), key, Hash.SHA256, 2000, shared);
    const io1 = new StreamIO(c1);
    await io1.write(Buffer.alloc(64, 7), 1000);
    const d1 = (await io1.read(128, 1000)).subarray(64);
    assert.equal(shared.size, 1, 'd1 is outstanding');
    assert.ok(shared.isOutstanding(d1));
    // Connection 2: the attacker offers d1 as its own challenge, hoping for H(key, d1).
    const [c2, s2] = await socketPair();
    const second = answerAsDaemon(new StreamIO(s2), key, Hash.SHA256, 2000, shared);
    const io2 = new StreamIO(c2);
    await io2.write(d1, 1000);
    await assert.rejects(second, (e: unknown) => e instanceof AuthError && /reflection/.test(e.message));
    s2.destroy();
    await assert.rejects(io2.read(1, 1000), (e: unknown) => e instanceof StreamIOError, 'nothing was answered on connection 2');
    // Without the key the attacker cannot finish connection 1.
    await io1.write(Buffer.alloc(64), 1000);
    await assert.rejects(first, (e: unknown) => e instanceof AuthError);
    assert.equal(shared.size, 0, 'a finished exchange leaves no outstanding challenge');
    for (const s of [c1, s1, c2]) s.destroy();
  });

  it('answers a challenge again once the exchange that issued it has ended', async () => {
    const shared = new ChallengeRegistry();
    const { challenge, release } = shared.issue();
    assert.ok(shared.isOutstanding(challenge));
    release();
    release(); // a second release is harmless
    assert.ok(!shared.isOutstanding(challenge));
  });
});
