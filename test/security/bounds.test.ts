/**
 * Unbounded work: what peers that never prove the key can make the daemon hold. Silent TCP connections
 * (each held until the request deadline) and forged multicast datagrams (hash "none") whose connect-back
 * goes to a peer that accepts and never speaks (held for the whole challenge wait, longer than a
 * black-holed address holds the connect). Beyond each bound the work is shed at once with a "limit"
 * warning; everyone within the bounds is still served; the daemon's descriptors stay bounded.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Family, Hash, Request } from '../../src/protocol/index.js';
import { configText } from '../support/daemon-config-text.js';
import { waitUntil } from '../support/processes.js';
import { exchangeOn, multicastExchange, sendToGroup, signedRequest, type Outcome } from '../support/raw-client.js';
import { ConnectBackTrap, connectFrom, type Wire } from './attacker.js';
import { OurDaemon, peakFdCount } from './our-daemon.js';

const NODE = fileURLToPath(new URL('../fixtures/security/node.xml', import.meta.url));
const TCP = 31201;
const MCAST = 31202;
const TRAP_PORT = 31203;
const CALLBACK = 31204;
const LIMITS = { max_connections: 8, max_connections_per_source: 4, max_connect_backs: 4, max_connect_backs_per_address: 2 };
/** The daemon's request deadline: a silent connection closed sooner than this was shed, not timed out. */
const REQUEST_DEADLINE_MS = 1_000;
/** Trap addresses: connect-backs to each are counted separately. */
const TRAP_HOSTS = ['127.0.0.5', '127.0.0.6', '127.0.0.7'] as const;
const key = new AuthKey(Buffer.from('security: bounds\n'));

let daemon: OurDaemon;
let baselineFds: number;
const traps = new Map<string, ConnectBackTrap>();

before(async () => {
  daemon = await OurDaemon.start({
    key: key.bytes,
    config: ({ keyFile }) =>
      configText({
        listeners: {
          tcp: { address: '127.0.0.1', port: String(TCP), key_file: keyFile },
          multicast: { interface: 'lo', port: String(MCAST), key_file: keyFile, hash: 'none' },
        },
        backendUri: `test+unix://${NODE}`,
        extraDaemonKeys: Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)])),
      }),
    ready: [
      { protocol: 'tcp', port: TCP },
      { protocol: 'udp', port: MCAST },
    ],
  });
  // The first requests open what stays open (the libvirt connection's state, lazily created sockets).
  assert.deepEqual(await legitTcp('127.0.0.1'), { kind: 'code', code: 0 });
  assert.deepEqual(await legitMulticast(), { kind: 'code', code: 0 });
  baselineFds = daemon.fdCount();
  for (const host of TRAP_HOSTS) traps.set(host, await ConnectBackTrap.listen(host, TRAP_PORT));
});
after(async () => {
  await Promise.all([...traps.values()].map((t) => t.close()));
  await daemon?.stop();
});
// Each attack starts from a daemon that holds nothing for the previous one.
beforeEach(async () => {
  for (const trap of traps.values()) trap.hangUp();
  await waitUntil(() => daemon.fdCount() <= baselineFds, `the daemon back at ${baselineFds} descriptors`, 5_000);
});

function trap(host: (typeof TRAP_HOSTS)[number]): ConnectBackTrap {
  return traps.get(host) as ConnectBackTrap;
}

/** A signed status request over TCP from `source`, run to its answer. */
async function legitTcp(source: string): Promise<Outcome> {
  const socket = connect({ host: '127.0.0.1', port: TCP, localAddress: source });
  await once(socket, 'connect');
  return exchangeOn(socket, signedRequest({ request: Request.STATUS, domain: 'guard' }, key), key, Hash.SHA256, 5_000);
}

function legitMulticast(): Promise<Outcome> {
  const datagram = signedRequest(
    { request: Request.STATUS, domain: 'guard', family: Family.INET, address: '127.0.0.1', port: CALLBACK },
    key,
  );
  return multicastExchange((d) => sendToGroup(d, MCAST), datagram, CALLBACK, key, Hash.SHA256, 5_000);
}

/** Forged (unsigned) datagrams asking for a connect-back to `host`; nobody there will ever answer. */
async function forgeConnectBacks(host: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await sendToGroup(
      signedRequest(
        { request: Request.OFF, domain: 'guard', hashType: Hash.NONE, family: Family.INET, address: host, port: TRAP_PORT },
        key,
      ),
      MCAST,
    );
  }
}

/**
 * Silent TCP connections, `perSource` from each source address, opened one after another: a burst
 * beyond the listen backlog would have SYNs dropped and retried a second later, blurring "at once".
 */
async function silentFlood(sources: readonly string[], perSource: number): Promise<Wire[]> {
  const flood: Wire[] = [];
  for (let i = 0; i < perSource; i++) for (const source of sources) flood.push(await connectFrom(TCP, source));
  return flood;
}

/** How many of `flood` the daemon closed before its request deadline could have closed them. */
async function shedAtOnce(flood: readonly Wire[], startedAt: number): Promise<{ shed: number; held: number }> {
  await sleep(Math.max(0, startedAt + REQUEST_DEADLINE_MS / 2 - Date.now()));
  const shed = flood.filter((w) => w.closedAt !== undefined && w.closedAt - startedAt < REQUEST_DEADLINE_MS / 2).length;
  return { shed, held: flood.filter((w) => !w.closed).length };
}

describe('bounds on unauthenticated work', () => {
  it('closes connections from one source beyond max_connections_per_source at once; another source is served meanwhile', async () => {
    const since = daemon.lineCount;
    const startedAt = Date.now();
    const flood = await silentFlood(['127.0.0.1'], 12);
    try {
      assert.deepEqual(await legitTcp('127.0.0.2'), { kind: 'code', code: 0 }, 'a request from 127.0.0.2 during the flood');
      const { shed, held } = await shedAtOnce(flood, startedAt);
      assert.deepEqual({ shed, held }, { shed: 12 - LIMITS.max_connections_per_source, held: LIMITS.max_connections_per_source });
      await daemon.waitForLog(/limit/i, since);
    } finally {
      for (const w of flood) w.close();
    }
  });

  it('closes connections beyond max_connections at once, whatever their sources, and serves again afterwards', async () => {
    const startedAt = Date.now();
    const flood = await silentFlood(['127.0.0.1', '127.0.0.3', '127.0.0.4'], LIMITS.max_connections_per_source);
    try {
      const { shed, held } = await shedAtOnce(flood, startedAt);
      assert.deepEqual({ shed, held }, { shed: flood.length - LIMITS.max_connections, held: LIMITS.max_connections });
    } finally {
      for (const w of flood) w.close();
    }
    await waitUntil(() => daemon.fdCount() <= baselineFds, 'the flood released');
    assert.deepEqual(await legitTcp('127.0.0.2'), { kind: 'code', code: 0 });
  });

  it('makes at most max_connect_backs_per_address connect-backs to one address; a legitimate multicast request still gets its own', async () => {
    const target = trap('127.0.0.5');
    const already = target.count;
    const since = daemon.lineCount;
    await forgeConnectBacks('127.0.0.5', 10);
    assert.deepEqual(await legitMulticast(), { kind: 'code', code: 0 }, 'the legitimate connect-back during the flood');
    await waitUntil(() => target.count - already >= LIMITS.max_connect_backs_per_address, 'the connect-backs within the bound');
    await sleep(300);
    assert.equal(target.count - already, LIMITS.max_connect_backs_per_address, 'connect-backs made to the one address');
    // Shed connect-backs are work of another kind than shed connections: their warning is not held back by those.
    await daemon.waitForLog(/limit/i, since);
  });

  it('makes at most max_connect_backs connect-backs in all, and connects back again once they are over', async () => {
    const counts = () => TRAP_HOSTS.reduce((sum, host) => sum + trap(host).count, 0);
    const already = counts();
    for (const host of TRAP_HOSTS) await forgeConnectBacks(host, LIMITS.max_connect_backs_per_address);
    await waitUntil(() => counts() - already >= LIMITS.max_connect_backs, 'the connect-backs within the bound');
    await sleep(300);
    assert.equal(counts() - already, LIMITS.max_connect_backs, 'connect-backs made, all addresses together');
    for (const host of TRAP_HOSTS) trap(host).hangUp();
    assert.deepEqual(await legitMulticast(), { kind: 'code', code: 0 });
  });

  it('holds a bounded number of descriptors under 200 silent connections and 50 forged connect-backs', async (t) => {
    let flood: Wire[] = [];
    const peak = await peakFdCount(
      () => daemon.fdCount(),
      async () => {
        [flood] = await Promise.all([silentFlood(['127.0.0.1'], 200), forgeConnectBacks('127.0.0.6', 50)]);
        await sleep(REQUEST_DEADLINE_MS / 2);
      },
    );
    for (const w of flood) w.close();
    // Besides what the bounds allow, a batch of accepted connections may be open for a moment before it is shed.
    const allowed = baselineFds + LIMITS.max_connections + LIMITS.max_connect_backs + 16;
    t.diagnostic(`descriptors: ${baselineFds} at rest, ${peak} at the peak of the flood (allowed ${allowed})`);
    assert.ok(peak <= allowed, `the daemon held ${peak} descriptors (at rest ${baselineFds}, allowed ${allowed})`);
  });
});
