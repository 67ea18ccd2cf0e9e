/**
 * Multicast with more than one local address, on a veth pair whose two ends are both inside the test
 * runner's network namespace (fd00::a/b, 10.99.0.1/2): fence_xvm over IPv6 against the real C
 * fence_virtd joined on one end, and the datagrams themselves, captured and compared with what the
 * C fence_xvm sends: one request per local address (loopback included for IPv4, not for IPv6), each
 * carrying its own address for the connect-back, one seqno per run, and valid signatures.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { AuthKey, verifyRequest } from '../../src/auth/index.js';
import { decodeFenceRequest, Hash } from '../../src/protocol/index.js';
import { FLAG_PROTOCOL_2 } from '../../src/protocol/v2.js';
import { cDaemonMissing } from '../support/c-daemon.js';
import { needsTools } from '../support/requirement.js';
import { C_AGENT, runC, runOurs } from './agents.js';
import { assertPairAgrees, KEY, networkListenerDaemon, startDaemonPair, VM, type DaemonPair } from './daemon-pair.js';

const run = promisify(execFile);
const VETH = ['fvag0', 'fvag1'] as const;
const V6 = ['fd00::a', 'fd00::b'];
const V4 = ['10.99.0.1', '10.99.0.2'];
const PORTS: [string, string] = ['27400', '27401'];
const CAPTURE_PORT = 27402;

const skip = cDaemonMissing() ?? needsTools(C_AGENT.fence_xvm);

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

before(async () => {
  if (skip) return;
  await ip('link', 'add', VETH[0], 'type', 'veth', 'peer', 'name', VETH[1]);
  for (const [i, dev] of VETH.entries()) {
    // nodad: usable at once, without duplicate address detection's delay.
    await ip('-6', 'addr', 'add', `${V6[i]}/64`, 'dev', dev, 'nodad');
    await ip('addr', 'add', `${V4[i]}/24`, 'dev', dev);
    await ip('link', 'set', dev, 'up');
  }
});
after(async () => {
  if (!skip) await ip('link', 'del', VETH[0]).catch(() => undefined);
});

describe('fence_xvm over IPv6 multicast on a veth pair: same outcome as the C agent', { skip }, () => {
  let pair: DaemonPair;
  before(async () => {
    pair = await startDaemonPair(
      (port) => networkListenerDaemon('multicast', port, { family: 'ipv6', interface: VETH[0], address: 'ff05::3:1' }),
      PORTS,
    );
  });
  after(() => pair?.stop());

  it('status, list, off and on, by option and by stdin', async () => {
    const key = pair.c.daemon.files.keyFile;
    const xvm = (port: string, ...args: string[]) => ({ args: ['-i', 'ipv6', '-p', port, '-k', key, '-t', '5', '-r', '10', ...args] });
    for (const call of [
      ['-o', 'status', '-H', VM.run.name],
      ['-o', 'list'],
      ['-o', 'off', '-H', VM.run.uuid],
      ['-o', 'status', '-H', VM.run.name],
    ]) {
      await assertPairAgrees('fence_xvm', pair, (port) => xvm(port, ...call));
    }
    await assertPairAgrees('fence_xvm', pair, (port) => ({
      args: [],
      input: `action=on\nport=${VM.run.name}\nmulticast_address=ff05::3:1\nipport=${port}\nkey_file=${key}\ntimeout=5\nretrans=10\n`,
    }));
  });
});

/** Joins the group on every local interface of the family and collects the datagrams. */
async function capture(family: 4 | 6, group: string): Promise<{ socket: Socket; packets: Buffer[] }> {
  const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6', reuseAddr: true });
  const packets: Buffer[] = [];
  socket.on('message', (msg: Buffer) => packets.push(msg));
  socket.bind(CAPTURE_PORT);
  await once(socket, 'listening');
  // IPv4 names an interface by its address, IPv6 by its name as a scope.
  const interfaces = family === 4 ? ['127.0.0.1', ...V4] : ['lo', ...VETH].map((dev) => `::%${dev}`);
  for (const iface of interfaces) socket.addMembership(group, iface);
  return { socket, packets };
}

/** One run of an agent against the capture port: nothing answers, so it sends two rounds and gives up. */
async function datagramsOf(side: 'C' | 'ours', family: 4 | 6, keyFile: string) {
  const group = family === 4 ? '225.0.0.12' : 'ff05::3:1';
  const { socket, packets } = await capture(family, group);
  try {
    const args = ['-a', group, '-p', String(CAPTURE_PORT), '-k', keyFile, '-t', '2', '-r', '10', '-o', 'off', '-H', 'vm-x'];
    const result = await (side === 'C' ? runC : runOurs)('fence_xvm', args);
    assert.equal(result.code, 1, `${side}: ${result.stdout}${result.stderr}`);
    await sleep(100); // the last datagrams may still be in the socket's queue
  } finally {
    socket.close();
  }
  const requests = packets.map((p) => {
    assert.deepEqual(verifyRequest(p, new AuthKey(KEY), Hash.SHA256), { ok: true, hashType: Hash.SHA256 }, `${side}: a valid signature`);
    return decodeFenceRequest(p);
  });
  assert.equal(new Set(requests.map((r) => r.seqno)).size, 1, `${side}: one seqno for the whole run`);
  return {
    // Our agent offers protocol version 2 in the signed flags (the C daemon ignores them); the rest must match C.
    offersV2: requests.map((r) => (r.flags & FLAG_PROTOCOL_2) !== 0),
    addresses: [...new Set(requests.map((r) => r.address))].sort(),
    fields: [
      ...new Set(
        requests.map((r) =>
          JSON.stringify({
            request: r.request,
            hash: r.hashType,
            flags: r.flags & ~FLAG_PROTOCOL_2,
            domain: r.domain,
            family: r.family,
            port: r.port,
          }),
        ),
      ),
    ],
  };
}

describe('the datagrams: one request per local address, like the C agent', { skip }, () => {
  let dir: string;
  let keyFile: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-capture-'));
    keyFile = join(dir, 'key');
    await writeFile(keyFile, KEY, { mode: 0o600 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const family of [4, 6] as const) {
    it(`IPv${family}`, async () => {
      const { offersV2: cOffers, ...c } = await datagramsOf('C', family, keyFile);
      const { offersV2: ourOffers, ...ours } = await datagramsOf('ours', family, keyFile);
      assert.deepEqual(ours, c);
      assert.ok(cOffers.length > 0 && cOffers.every((o) => !o), 'the C agent sets no flag');
      assert.ok(ourOffers.length > 0 && ourOffers.every(Boolean), 'ours offers protocol version 2 in every datagram');
      assert.deepEqual(ours.addresses, family === 4 ? ['10.99.0.1', '10.99.0.2', '127.0.0.1'] : V6);
    });
  }
});
