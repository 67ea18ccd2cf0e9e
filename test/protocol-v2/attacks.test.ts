/**
 * What version 2 stops that version 1 cannot, each next to its version 1 control:
 *  - an attacker in the middle turns the daemon's "failed" into "success": version 1 agents (C's and
 *    ours) report the lie, our version 2 agent reports a failure;
 *  - stripping the version 2 flag breaks the request's signature;
 *  - reflection between two of our daemons that share a key: in version 1 daemon B's answer opens
 *    daemon A; in version 2 B's proof is a daemon's and A refuses it; with protocol = "2" A drops the
 *    version 1 request outright;
 *  - a captured version 2 request replayed after the freshness window is refused, even by a daemon
 *    that remembers nothing (replay_window = 0).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { signRequest } from '../../src/auth/request-signature.js';
import {
  CHALLENGE_SIZE,
  FENCE_REQUEST_SIZE,
  markProtocol2,
  Request,
  V2_DAEMON_HELLO_SIZE,
  V2_DAEMON_NONCE_SIZE,
} from '../../src/protocol/index.js';
import { configText } from '../support/daemon-config-text.js';
import { signedRequest } from '../support/raw-client.js';
import { connectFrom } from '../security/attacker.js';
import { OurDaemon } from '../security/our-daemon.js';
import { runAgent, show, type Side } from './agent-run.js';
import { TamperProxy } from './tamper-proxy.js';

const NODE = fileURLToPath(new URL('../fixtures/protocol-v2/node.xml', import.meta.url));
const BACKEND = `test+unix://${NODE}`;
const KEY = new AuthKey(Buffer.from('protocol v2 attack key\n'));
const PORT = { a: 32101, aStrict: 32102, aFresh: 32103, b: 32111, proxy: 32121 };

let a: OurDaemon;
let b: OurDaemon;
let keyFile: string;

before(async () => {
  const tcp = (port: number, more: Record<string, string> = {}) => ({ module: 'tcp', address: '127.0.0.1', port: String(port), ...more });
  a = await OurDaemon.start({
    key: KEY.bytes,
    args: ['-d', '2'],
    config: ({ keyFile: k }) =>
      configText({
        listeners: {
          tcp: tcp(PORT.a, { key_file: k }),
          strict: tcp(PORT.aStrict, { key_file: k, protocol: '2' }),
          fresh: tcp(PORT.aFresh, { key_file: k, freshness_window: '2' }),
        },
        backendUri: BACKEND,
        // Nothing remembered: only the freshness window can refuse an old capture.
        extraDaemonKeys: { replay_window: '0' },
      }),
    ready: [PORT.a, PORT.aStrict, PORT.aFresh].map((port) => ({ protocol: 'tcp' as const, port })),
  });
  b = await OurDaemon.start({
    key: KEY.bytes,
    config: ({ keyFile: k }) => configText({ listeners: { tcp: tcp(PORT.b, { key_file: k }) }, backendUri: BACKEND }),
    ready: [{ protocol: 'tcp', port: PORT.b }],
  });
  keyFile = a.files.keyFile;
});
after(async () => {
  await a?.stop();
  await b?.stop();
});

const status = (port: number, domain: string) => runAgent({ side: 'ours', transport: 'tcp', port, keyFile, op: 'status', domain });

describe('an attacker in the middle flips the answer byte', () => {
  /** "off" of a VM that does not exist: the daemon answers 1 (failed); the proxy makes it 0. */
  async function throughFlipper(side: Side, offset: number, extra: string[] = []) {
    const proxy = await TamperProxy.start(PORT.proxy, PORT.a, { direction: 'to-agent', offset, change: (x) => x ^ 1 });
    try {
      return await runAgent({ side, transport: 'tcp', port: PORT.proxy, keyFile, op: 'off', domain: 'no-such-vm', extra });
    } finally {
      await proxy.close();
    }
  }

  it('without the attacker, every agent reports the failure', async () => {
    for (const [side, extra] of [
      ['C', []],
      ['ours', ['--protocol=1']],
      ['ours', []],
    ] as const) {
      const r = await runAgent({ side, transport: 'tcp', port: PORT.a, keyFile, op: 'off', domain: 'no-such-vm', extra });
      assert.equal(r.code, 1, show(r));
      assert.equal(r.stdout, 'Operation failed\n', show(r));
    }
  });

  it('version 1: the C agent and ours report the flipped "success" (the answer byte follows 128 bytes of challenge-response)', async () => {
    const since = a.lineCount;
    for (const [side, extra] of [
      ['C', []],
      ['ours', ['--protocol=1']],
    ] as const) {
      const r = await throughFlipper(side, 2 * CHALLENGE_SIZE, [...extra]);
      assert.equal(r.code, 0, `the lie goes through in version 1: ${show(r)}`);
      assert.equal(r.stdout, '', show(r));
    }
    await a.waitForLog(/target="no-such-vm" op=off .*result=failed\(1\) .*protocol=1$/, since);
  });

  it('version 2: our agent reports a failure, never the flipped success', async () => {
    const since = a.lineCount;
    const r = await throughFlipper('ours', V2_DAEMON_HELLO_SIZE);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /the answer failed its version 2 authentication/, show(r));
    await a.waitForLog(/target="no-such-vm" op=off .*result=failed\(1\) .*protocol=2$/, since);
  });

  it('version 2: clearing the flag (a downgrade in the request) breaks its signature; the daemon drops it', async () => {
    const proxy = await TamperProxy.start(PORT.proxy, PORT.a, { direction: 'to-daemon', offset: 3, change: (x) => x & 0x7f });
    const since = a.lineCount;
    try {
      const r = await runAgent({ side: 'ours', transport: 'tcp', port: PORT.proxy, keyFile, op: 'status', domain: 'vm1' });
      assert.notEqual(r.code, 0, show(r));
    } finally {
      await proxy.close();
    }
    await a.waitForLog(/dropping request from 127\.0\.0\.1: key mismatch/, since);
  });
});

describe('reflection between two of our daemons sharing a key', () => {
  /** A request for daemon A, captured on its way from a legitimate agent. */
  const captured = (domain: string, v2: boolean): Buffer => {
    const packet = signedRequest({ request: Request.OFF, domain }, KEY);
    if (!v2) return packet;
    markProtocol2(packet, Date.now());
    signRequest(packet, KEY);
    return packet;
  };

  it('version 1 (recorded): daemon B answers the challenge A sent, and A fences without the attacker knowing the key', async () => {
    const one = await connectFrom(PORT.a);
    const two = await connectFrom(PORT.b);
    try {
      await one.send(captured('rf-v1', false));
      await one.send(randomBytes(CHALLENGE_SIZE));
      const opening = await one.expect(2 * CHALLENGE_SIZE, 5_000);
      assert.ok(Buffer.isBuffer(opening), `A ran the challenge-response (${String(opening)})`);
      await two.send(captured('vm1', false));
      await two.send(opening.subarray(CHALLENGE_SIZE));
      const reflected = await two.expect(CHALLENGE_SIZE, 5_000);
      assert.ok(Buffer.isBuffer(reflected), 'B answered the challenge of A');
      await one.send(reflected);
      assert.deepEqual(await one.expect(1, 5_000), Buffer.of(0), 'A executed the captured off');
    } finally {
      one.close();
      two.close();
    }
    const after = await status(PORT.a, 'rf-v1');
    assert.equal(after.stdout, 'Status: OFF\n', show(after));
  });

  it('version 2: B only makes daemon proofs, and A refuses one as the agent proof', async () => {
    const request = captured('rf-v2', true);
    const challenge = randomBytes(CHALLENGE_SIZE);
    const one = await connectFrom(PORT.a);
    const two = await connectFrom(PORT.b);
    const since = a.lineCount;
    try {
      await one.send(request);
      await one.send(challenge);
      assert.ok(Buffer.isBuffer(await one.expect(V2_DAEMON_HELLO_SIZE, 5_000)), 'A opened version 2');
      // The same captured request and challenge to B: its proof covers the same request, challenge and peer.
      await two.send(request);
      await two.send(challenge);
      const hello = await two.expect(V2_DAEMON_HELLO_SIZE, 5_000);
      assert.ok(Buffer.isBuffer(hello), 'B opened version 2');
      await one.send(hello.subarray(V2_DAEMON_NONCE_SIZE));
      assert.equal(await one.expect(1, 5_000), 'closed', 'A answers nothing');
    } finally {
      one.close();
      two.close();
    }
    await a.waitForLog(/challenge-response with 127\.0\.0\.1 failed: the agent's version 2 proof is wrong/, since);
    assert.equal((await status(PORT.a, 'rf-v2')).stdout, 'Status: ON\n');
  });

  it('protocol = "2": A drops the version 1 request before any challenge', async () => {
    const one = await connectFrom(PORT.aStrict);
    const since = a.lineCount;
    try {
      await one.send(captured('rf-policy', false));
      await one.send(randomBytes(CHALLENGE_SIZE)).catch(() => undefined);
      assert.equal(await one.expect(1, 5_000), 'closed');
    } finally {
      one.close();
    }
    await a.waitForLog(/it speaks protocol version 1 and this listener requires version 2/, since);
    assert.equal((await status(PORT.aStrict, 'rf-policy')).stdout, 'Status: ON\n');
  });
});

describe('a captured version 2 request replayed after the freshness window', () => {
  it('is refused before any challenge, by a daemon that remembers nothing', async () => {
    const proxy = await TamperProxy.start(PORT.proxy, PORT.aFresh);
    let capture: Buffer;
    try {
      const r = await runAgent({ side: 'ours', transport: 'tcp', port: PORT.proxy, keyFile, op: 'status', domain: 'fr-stale' });
      assert.equal(r.stdout, 'Status: ON\n', show(r));
      capture = (proxy.fromAgent[0] as Buffer).subarray(0, FENCE_REQUEST_SIZE);
    } finally {
      await proxy.close();
    }
    await sleep(2_500);
    const since = a.lineCount;
    const wire = await connectFrom(PORT.aFresh);
    try {
      await wire.send(capture);
      await wire.send(randomBytes(CHALLENGE_SIZE)).catch(() => undefined);
      assert.equal(await wire.expect(1, 5_000), 'closed');
    } finally {
      wire.close();
    }
    await a.waitForLog(/dropping request from 127\.0\.0\.1: its timestamp is 2\.\d s old, outside the freshness window of 2 s/, since);
  });
});
