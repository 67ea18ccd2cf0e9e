/**
 * Replays. A signed request stays valid forever: nothing in it expires, and the duplicate history only
 * covers 10 s. With `auth = "none"` (the signature is then all that protects a listener) an attacker
 * who captured one `off` can replay its exact bytes any time later and needs no key at all. Our daemon
 * remembers the bytes of every signed request it executed (the replay window, 24 h by default, across
 * SIGHUP) and refuses them ("replay"); TCP refuses a request carrying multicast connect-back fields
 * ("connect-back"), so a captured datagram cannot be replayed over TCP either. The C daemon on the
 * same replays is recorded; its TCP listener always runs the challenge-response (its `auth` key sets
 * the hash, not the challenge), so there the test answers the challenge with the key, standing for an
 * attacker who gets past it some other way.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Family, Hash, HISTORY_WINDOW_MS, Request, Response, type HashType } from '../../src/protocol/index.js';
import { cDaemonMissing, type CDaemon } from '../support/c-daemon.js';
import { configText } from '../support/daemon-config-text.js';
import { multicastExchange, sendToGroup, signedRequest, tcpExchange, type Outcome } from '../support/raw-client.js';
import { startCDaemons } from './c-daemons.js';
import { OurDaemon } from './our-daemon.js';

const NODE = fileURLToPath(new URL('../fixtures/security/node.xml', import.meta.url));
const BACKEND = `test+unix://${NODE}`;
const OURS = { tcp: 31401, multicast: 31402 };
const C = { tcp: 31411, multicast: 31412 };
/** Where captured datagrams ask to be connected back: the attacker listens there when it replays. */
const CALLBACK = 31420;
const key = new AuthKey(Buffer.from('security: replays\n'));
const cMissing = cDaemonMissing();

/** One daemon's listeners as a legitimate client (and the attacker) reach them. */
interface Target {
  tcpPort: number;
  /** Challenge-response on TCP: none where the daemon can be told so. */
  tcpAuth: HashType;
  groupPort: number;
}

const overTcp = (target: Target, packet: Buffer) => tcpExchange(target.tcpPort, packet, key, target.tcpAuth);
const overMulticast = (target: Target, datagram: Buffer, waitMs = 3_000) =>
  multicastExchange((d) => sendToGroup(d, target.groupPort), datagram, CALLBACK, key, Hash.NONE, waitMs);
const request = (code: number, domain: string) => signedRequest({ request: code, domain }, key);
const datagram = (code: number, domain: string) =>
  signedRequest({ request: code, domain, family: Family.INET, address: '127.0.0.1', port: CALLBACK }, key);
const status = (target: Target, domain: string) => overTcp(target, request(Request.STATUS, domain));
const executed = (code: number): Outcome => ({ kind: 'code', code });

/** Packets a legitimate client had executed, as the attacker captured them. */
interface Captures {
  tcp: Buffer;
  afterReload: Buffer;
  multicast: Buffer;
  at: number;
}

/**
 * Fences each victim with a fresh request (captured on the way), then powers it on again through the
 * same path (the C daemon is one process, with its own copy of the node, per listener).
 */
async function captureOn(target: Target, withReload: boolean): Promise<Captures> {
  const captures = {
    tcp: request(Request.OFF, 'rp-tcp'),
    afterReload: request(Request.OFF, 'rp-hup'),
    multicast: datagram(Request.OFF, 'rp-mcast'),
  };
  assert.deepEqual(await overTcp(target, captures.tcp), executed(0));
  assert.deepEqual(await overMulticast(target, captures.multicast), executed(0));
  if (withReload) assert.deepEqual(await overTcp(target, captures.afterReload), executed(0));
  assert.deepEqual(await overTcp(target, request(Request.ON, 'rp-tcp')), executed(0), 'rp-tcp powered on again');
  assert.deepEqual(await overMulticast(target, datagram(Request.ON, 'rp-mcast')), executed(0), 'rp-mcast powered on again');
  if (withReload) assert.deepEqual(await overTcp(target, request(Request.ON, 'rp-hup')), executed(0), 'rp-hup powered on again');
  return { ...captures, at: Date.now() };
}

/** Waits until the duplicate window of captures made `at` has passed (plus a second). */
async function afterWindow(at: number): Promise<void> {
  await sleep(Math.max(0, at + HISTORY_WINDOW_MS + 1_000 - Date.now()));
}

describe('replays after the duplicate window, and a multicast datagram replayed over TCP', () => {
  const ours: Target = { tcpPort: OURS.tcp, tcpAuth: Hash.NONE, groupPort: OURS.multicast };
  // C's multicast listener honours auth none; its TCP listener always challenges (sha256).
  const theirs: Target = { tcpPort: C.tcp, tcpAuth: Hash.SHA256, groupPort: C.multicast };
  let daemon: OurDaemon;
  const cDaemons: CDaemon[] = [];
  let ourCaptures: Captures;
  let cCaptures: Captures;

  before(async () => {
    daemon = await OurDaemon.start({
      key: key.bytes,
      config: ({ keyFile }) =>
        configText({
          listeners: {
            tcp: { address: '127.0.0.1', port: String(OURS.tcp), key_file: keyFile, auth: 'none' },
            multicast: { interface: 'lo', port: String(OURS.multicast), key_file: keyFile, auth: 'none' },
          },
          backendUri: BACKEND,
        }),
      ready: [
        { protocol: 'tcp', port: OURS.tcp },
        { protocol: 'udp', port: OURS.multicast },
      ],
    });
    if (cMissing) return;
    cDaemons.push(
      ...(await startCDaemons(key.bytes, BACKEND, [
        ['tcp', { address: '127.0.0.1', port: String(C.tcp) }, C.tcp],
        ['multicast', { interface: 'lo', port: String(C.multicast), auth: 'none' }, C.multicast],
      ])),
    );
  });
  after(async () => {
    await daemon?.stop();
    await Promise.all(cDaemons.map((d) => d.stop()));
  });

  it('the captured requests were executed once (by our daemon and by the C daemon)', async () => {
    ourCaptures = await captureOn(ours, true);
    if (!cMissing) cCaptures = await captureOn(theirs, false);
  });

  it('our daemon: a captured multicast datagram sent over TCP is refused ("connect-back")', async () => {
    const captured = datagram(Request.OFF, 'rp-cross');
    const since = daemon.lineCount;
    assert.equal((await overTcp(ours, captured)).kind, 'closed', 'the datagram was executed over TCP');
    await daemon.waitForLog(/connect-back/i, since);
    assert.deepEqual(await status(ours, 'rp-cross'), executed(0), 'rp-cross is still running');
  });

  it('the C daemon: a captured multicast datagram sent over TCP (recorded)', { skip: cMissing }, async (t) => {
    const outcome = await overTcp(theirs, datagram(Request.OFF, 'rp-cross'));
    const afterwards = await status(theirs, 'rp-cross');
    t.diagnostic(
      `C fence_virtd, multicast datagram over TCP: ${JSON.stringify(outcome)}; rp-cross status afterwards ${JSON.stringify(afterwards)}`,
    );
    // It does not look at the connect-back fields: the off is executed.
    assert.deepEqual(outcome, executed(0));
    assert.deepEqual(afterwards, executed(Response.OFF));
  });

  it('our daemon: the exact bytes replayed after the 10 s window are refused ("replay"), over TCP, over multicast, and after SIGHUP', async () => {
    await afterWindow(ourCaptures.at);
    const since = daemon.lineCount;
    assert.equal((await overTcp(ours, ourCaptures.tcp)).kind, 'closed', 'the TCP replay was executed');
    await daemon.waitForLog(/replay/i, since);
    assert.deepEqual(await status(ours, 'rp-tcp'), executed(0), 'rp-tcp is still running');

    assert.equal((await overMulticast(ours, ourCaptures.multicast, 1_500)).kind, 'closed', 'the multicast replay was executed');
    assert.deepEqual(await status(ours, 'rp-mcast'), executed(0), 'rp-mcast is still running');

    const beforeReload = daemon.lineCount;
    daemon.signal('SIGHUP');
    await daemon.waitForLog(/reloaded/i, beforeReload);
    assert.equal((await overTcp(ours, ourCaptures.afterReload)).kind, 'closed', 'the replay after SIGHUP was executed');
    assert.deepEqual(await status(ours, 'rp-hup'), executed(0), 'rp-hup is still running');
    const warnings = daemon
      .lines()
      .slice(since)
      .filter((l) => /replay/i.test(l));
    assert.ok(warnings.length >= 3, `one "replay" warning per refused replay:\n${warnings.join('\n')}`);
  });

  it('the C daemon: the exact bytes replayed after the 10 s window (recorded)', { skip: cMissing }, async (t) => {
    await afterWindow(cCaptures.at);
    const overTcpOutcome = await overTcp(theirs, cCaptures.tcp);
    const tcpVictim = await status(theirs, 'rp-tcp');
    const overMulticastOutcome = await overMulticast(theirs, cCaptures.multicast);
    const multicastVictim = await overMulticast(theirs, datagram(Request.STATUS, 'rp-mcast'));
    t.diagnostic(
      `C fence_virtd, TCP replay after 11 s: ${JSON.stringify(overTcpOutcome)}; rp-tcp status afterwards ${JSON.stringify(tcpVictim)}`,
    );
    t.diagnostic(
      `C fence_virtd, multicast replay after 11 s (auth none, no key): ${JSON.stringify(overMulticastOutcome)}; rp-mcast status afterwards ${JSON.stringify(multicastVictim)}`,
    );
    // Its only memory is the 10 s history: both replays are executed and the victims are off again.
    assert.deepEqual(overTcpOutcome, executed(0));
    assert.deepEqual(tcpVictim, executed(Response.OFF));
    assert.deepEqual(overMulticastOutcome, executed(0));
    assert.deepEqual(multicastVictim, executed(Response.OFF));
  });
});

describe('a full replay memory keeps the fencing actions it executed (our daemon, max_replay_entries = 2)', () => {
  const port = 31403;
  let daemon: OurDaemon;
  const wrongKey = new AuthKey(Buffer.from('not the key'));

  before(async () => {
    daemon = await OurDaemon.start({
      key: key.bytes,
      config: ({ keyFile }) =>
        configText({
          listeners: { tcp: { address: '127.0.0.1', port: String(port), key_file: keyFile } },
          backendUri: BACKEND,
          extraDaemonKeys: { max_replay_entries: '2' },
        }),
      ready: [{ protocol: 'tcp', port }],
    });
  });
  after(() => daemon?.stop());

  it('statuses, and an action whose challenge-response fails, push out neither executed action', async () => {
    const ask = (packet: Buffer, withKey = key) => tcpExchange(port, packet, withKey, Hash.SHA256);
    const captures = { off: request(Request.OFF, 'rp-tcp'), on: request(Request.ON, 'rp-tcp') };
    assert.deepEqual(await ask(captures.off), executed(0));
    assert.deepEqual(await ask(captures.on), executed(0));
    const at = Date.now();
    // The memory is full of the two actions. Five statuses run, and an off of another VM, correctly
    // signed (a capture), comes from a peer that cannot answer the challenge.
    for (let i = 0; i < 5; i++) assert.deepEqual(await ask(request(Request.STATUS, 'rp-tcp')), executed(0));
    assert.equal((await ask(request(Request.OFF, 'rp-hup'), wrongKey)).kind, 'closed');
    assert.deepEqual(await ask(request(Request.STATUS, 'rp-hup')), executed(0), 'rp-hup is still running');
    await afterWindow(at);
    const since = daemon.lineCount;
    assert.equal((await ask(captures.off)).kind, 'closed', 'the replayed off was executed');
    assert.equal((await ask(captures.on)).kind, 'closed', 'the replayed on was executed');
    for (const action of ['off', 'on']) {
      await daemon.waitForLog(new RegExp(`\\(${action} "rp-tcp".*replay of a request already executed`), since);
    }
    assert.deepEqual(await ask(request(Request.STATUS, 'rp-tcp')), executed(0), 'rp-tcp is still running');
  });
});
