/**
 * Challenge reflection. Both ends answer a challenge with H(key ‖ challenge), so a daemon that serves
 * connections side by side can be made to answer its own challenge: connection 1 carries a captured
 * `off victim` and reads the daemon's challenge d1; connection 2 carries another captured request and
 * offers d1 as its own challenge; the daemon's answer on connection 2 is the answer connection 1 needs.
 * Our daemon must refuse the reflected challenge ("reflect") and fence nothing. The C daemon serves one
 * connection at a time; what it does with the same attack is recorded.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { CHALLENGE_SIZE, Family, Hash, Request, type HashType } from '../../src/protocol/index.js';
import { cDaemonMissing, type CDaemon } from '../support/c-daemon.js';
import { configText } from '../support/daemon-config-text.js';
import { multicastExchange, sendToGroup, signedRequest, tcpExchange } from '../support/raw-client.js';
import { ConnectBackTrap, connectFrom, type Wire } from './attacker.js';
import { startCDaemons } from './c-daemons.js';
import { OurDaemon } from './our-daemon.js';

const NODE = fileURLToPath(new URL('../fixtures/security/node.xml', import.meta.url));
const BACKEND = `test+unix://${NODE}`;
const TCP = 31001;
const TCP_HASH_NONE = 31002;
const MCAST = 31003;
const C_TCP = 31011;
const C_MCAST = 31012;
/** Where the attacker's datagrams ask to be connected back (one port per leg), and the legitimate client's. */
const CALLBACK = { first: 31021, second: 31022, mixed: 31023, cFirst: 31024, cSecond: 31025, legit: 31026 };
const key = new AuthKey(Buffer.from('security: challenge reflection\n'));

/**
 * Requests a legitimate client signed for another host of the cluster (same key), captured on the way:
 * never seen by the daemon under attack, so no duplicate check stands in the way.
 */
function captured(domain: string, hashType: HashType = Hash.SHA256, callbackPort?: number): Buffer {
  const connectBack = callbackPort === undefined ? {} : { family: Family.INET, address: '127.0.0.1', port: callbackPort };
  return signedRequest({ request: Request.OFF, domain, hashType, ...connectBack }, key);
}

interface Reflection {
  /** What the daemon did with the reflected challenge on connection 2. */
  second: 'answered' | 'closed' | 'silent' | 'never connected';
  /** When that happened, in ms after the attacker got d1 on connection 1. */
  secondAfterMs: number;
  /** When the daemon gave up on connection 1, if it did while the attack ran. */
  firstClosedAfterMs: number | undefined;
  /** The answer byte on connection 1 if the reflected answer got the attacker through. */
  executed: number | undefined;
}

/** Opens one leg of the attack: a connection on which the daemon waits for the attacker's challenge. */
type Leg = () => Promise<Wire | undefined>;

const overTcp =
  (port: number, packet: Buffer): Leg =>
  async () => {
    const wire = await connectFrom(port);
    await wire.send(packet);
    return wire;
  };

const overMulticast =
  (groupPort: number, trap: ConnectBackTrap, datagram: Buffer, waitMs: number): Leg =>
  async () => {
    await sendToGroup(datagram, groupPort);
    return trap.connection(1, waitMs);
  };

async function reflect(first: Leg, second: Leg, waitMs: number): Promise<Reflection> {
  const one = await first();
  if (!one) throw new Error('the daemon did not take connection 1');
  let two: Wire | undefined;
  try {
    await one.send(randomBytes(CHALLENGE_SIZE));
    // The daemon answers our challenge (useless to us) and sends its own, d1.
    const opening = await one.expect(2 * CHALLENGE_SIZE, 5_000);
    if (!Buffer.isBuffer(opening)) throw new Error(`the daemon did not run the challenge-response on connection 1 (${opening})`);
    const heldAt = Date.now();
    two = await second();
    const closedAfter = () => (one.closedAt === undefined ? undefined : one.closedAt - heldAt);
    if (!two)
      return { second: 'never connected', secondAfterMs: Date.now() - heldAt, firstClosedAfterMs: closedAfter(), executed: undefined };
    await two.send(opening.subarray(CHALLENGE_SIZE));
    const reply = await two.expect(CHALLENGE_SIZE, waitMs);
    const secondAfterMs = Date.now() - heldAt;
    const firstClosedAfterMs = closedAfter();
    let executed: number | undefined;
    if (Buffer.isBuffer(reply)) {
      // H(key ‖ d1), made by the daemon itself: exactly what connection 1 is waiting for.
      await one.send(reply).catch(() => undefined);
      const code = await one.expect(1, 5_000);
      if (Buffer.isBuffer(code)) executed = code[0];
    }
    return { second: Buffer.isBuffer(reply) ? 'answered' : reply, secondAfterMs, firstClosedAfterMs, executed };
  } finally {
    one.close();
    two?.close();
  }
}

const describeReflection = (r: Reflection) => JSON.stringify(r);

describe('challenge reflection against our daemon', () => {
  let daemon: OurDaemon;
  const traps: ConnectBackTrap[] = [];
  const trap = async (port: number) => {
    const t = await ConnectBackTrap.listen('127.0.0.1', port);
    traps.push(t);
    return t;
  };
  const status = (domain: string) => tcpExchange(TCP, signedRequest({ request: Request.STATUS, domain }, key), key, Hash.SHA256);

  before(async () => {
    daemon = await OurDaemon.start({
      key: key.bytes,
      config: ({ keyFile }) =>
        configText({
          listeners: {
            tcp: { address: '127.0.0.1', port: String(TCP), key_file: keyFile },
            // A TCP listener that takes unsigned requests: the attacker needs no capture at all.
            unsigned: { module: 'tcp', address: '127.0.0.1', port: String(TCP_HASH_NONE), key_file: keyFile, hash: 'none' },
            multicast: { interface: 'lo', port: String(MCAST), key_file: keyFile },
          },
          backendUri: BACKEND,
        }),
      ready: [
        { protocol: 'tcp', port: TCP },
        { protocol: 'tcp', port: TCP_HASH_NONE },
        { protocol: 'udp', port: MCAST },
      ],
    });
  });
  after(async () => {
    await Promise.all(traps.map((t) => t.close()));
    await daemon?.stop();
  });

  /** The attack must fail on connection 2, be logged, and leave the victim running. */
  async function assertRefused(r: Reflection, victim: string, since: number): Promise<void> {
    assert.notEqual(
      r.second,
      'answered',
      `the daemon answered, on connection 2, the challenge it had sent on connection 1: ${describeReflection(r)}`,
    );
    assert.equal(r.executed, undefined, `the attacker got a fencing answer without the key: ${describeReflection(r)}`);
    assert.equal(r.second, 'closed', `connection 2 is closed without an answer: ${describeReflection(r)}`);
    await daemon.waitForLog(/reflect/i, since);
    assert.deepEqual(await status(victim), { kind: 'code', code: 0 }, `${victim} is still running`);
  }

  it('two TCP connections carrying captured signed requests', async () => {
    const since = daemon.lineCount;
    const r = await reflect(overTcp(TCP, captured('victim-tcp')), overTcp(TCP, captured('victim-tcp')), 3_000);
    await assertRefused(r, 'victim-tcp', since);
  });

  it('two TCP connections to a listener with hash "none": forged requests, nothing captured', async () => {
    const forged = () => captured('victim-none', Hash.NONE);
    const since = daemon.lineCount;
    const r = await reflect(overTcp(TCP_HASH_NONE, forged()), overTcp(TCP_HASH_NONE, forged()), 3_000);
    await assertRefused(r, 'victim-none', since);
  });

  it('two multicast connect-backs to where the captured datagrams point (the attacker listens there)', async () => {
    const [one, two] = [await trap(CALLBACK.first), await trap(CALLBACK.second)];
    const since = daemon.lineCount;
    const r = await reflect(
      overMulticast(MCAST, one, captured('victim-mcast', Hash.SHA256, CALLBACK.first), 5_000),
      overMulticast(MCAST, two, captured('victim-mcast', Hash.SHA256, CALLBACK.second), 5_000),
      3_000,
    );
    await assertRefused(r, 'victim-mcast', since);
  });

  it('across listeners: the challenge of a multicast connect-back offered on a TCP connection', async () => {
    const one = await trap(CALLBACK.mixed);
    const since = daemon.lineCount;
    const r = await reflect(
      overMulticast(MCAST, one, captured('victim-mixed', Hash.SHA256, CALLBACK.mixed), 5_000),
      overTcp(TCP, captured('guard')),
      3_000,
    );
    await assertRefused(r, 'victim-mixed', since);
  });
});

describe('challenge reflection against the C fence_virtd (recorded)', { skip: cDaemonMissing() }, () => {
  const daemons: CDaemon[] = [];
  const traps: ConnectBackTrap[] = [];

  before(async () => {
    daemons.push(
      ...(await startCDaemons(key.bytes, BACKEND, [
        ['tcp', { address: '127.0.0.1', port: String(C_TCP) }, C_TCP],
        ['multicast', { interface: 'lo', port: String(C_MCAST) }, C_MCAST],
      ])),
    );
    for (const port of [CALLBACK.cFirst, CALLBACK.cSecond]) traps.push(await ConnectBackTrap.listen('127.0.0.1', port));
  });
  after(async () => {
    await Promise.all(traps.map((t) => t.close()));
    await Promise.all(daemons.map((d) => d.stop()));
  });

  it('serves connection 2 only after giving up on connection 1, so the reflected answer comes too late', async (t) => {
    const [first, second] = traps as [ConnectBackTrap, ConnectBackTrap];
    // Both daemons at once: each waits 10 s for connection 1's answer before it looks at connection 2.
    const [overTcpResult, overMulticastResult] = await Promise.all([
      reflect(overTcp(C_TCP, captured('victim-tcp')), overTcp(C_TCP, captured('victim-tcp')), 15_000),
      reflect(
        overMulticast(C_MCAST, first, captured('victim-mcast', Hash.SHA256, CALLBACK.cFirst), 5_000),
        overMulticast(C_MCAST, second, captured('victim-mcast', Hash.SHA256, CALLBACK.cSecond), 15_000),
        5_000,
      ),
    ]);
    for (const [listener, r] of [
      ['tcp', overTcpResult],
      ['multicast', overMulticastResult],
    ] as const) {
      t.diagnostic(
        `C fence_virtd, ${listener}: connection 2 ${r.second} ${r.secondAfterMs} ms after the attacker held d1; ` +
          `connection 1 closed by the daemon after ${r.firstClosedAfterMs ?? 'never'} ms; ` +
          `executed: ${r.executed === undefined ? 'nothing' : `answer ${r.executed}`}`,
      );
      assert.equal(r.executed, undefined, `C ${listener}: the attack got through: ${describeReflection(r)}`);
      // It does answer the reflected challenge: its only protection is serving one connection at a time.
      assert.equal(r.second, 'answered', `C ${listener}: ${describeReflection(r)}`);
      assert.ok(r.firstClosedAfterMs !== undefined && r.firstClosedAfterMs <= r.secondAfterMs, `C ${listener}: ${describeReflection(r)}`);
    }
    const [tcpDaemon] = daemons as [CDaemon, CDaemon];
    assert.match(tcpDaemon.output(), /Remote failed challenge/);
    assert.deepEqual(await tcpExchange(C_TCP, signedRequest({ request: Request.STATUS, domain: 'victim-tcp' }, key), key, Hash.SHA256), {
      kind: 'code',
      code: 0,
    });
    const statusDatagram = signedRequest(
      { request: Request.STATUS, domain: 'victim-mcast', family: Family.INET, address: '127.0.0.1', port: CALLBACK.legit },
      key,
    );
    assert.deepEqual(await multicastExchange((d) => sendToGroup(d, C_MCAST), statusDatagram, CALLBACK.legit, key, Hash.SHA256), {
      kind: 'code',
      code: 0,
    });
  });
});
