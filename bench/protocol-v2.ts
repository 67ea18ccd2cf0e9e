/**
 * Protocol version 2's round trip beside version 1's, against one fence_virtd (the bundle) with one TCP
 * listener in `protocol = "auto"`, inside a private network namespace (scripts/run-bench.sh):
 *  1. the protocol alone: the real TCP listener, gate and dispatcher in this process over loopback, with
 *     the in-memory FakeBackend standing in for libvirt so that only the protocol differs;
 *  2. the wire against the daemon bundle on libvirt's test driver: connect, request, challenge-response
 *     (v1) or proofs (v2), answer, close, from a client in this process;
 *  3. what Pacemaker waits for: our `fence_virt -T … -o status` with --protocol=1 and with version 2.
 * The versions alternate round by round, so drift in the machine's load hits both alike. Part 1 also
 * records the CPU time of each round trip (both ends run in this process), which a shared machine's
 * load disturbs much less than the wall time. Writes bench/results/protocol-v2.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { once } from 'node:events';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { challengeAsClient } from '../src/auth/challenge-response.js';
import { AuthKey } from '../src/auth/keyed-hash.js';
import { signRequest } from '../src/auth/request-signature.js';
import { v2OfferAsClient } from '../src/auth/v2-exchange.js';
import { Deadline } from '../src/agent/deadline.js';
import { readSealedAnswer } from '../src/agent/sealed-answer.js';
import { DomainState, encodeFenceRequest, Family, Hash, markProtocol2, RANDOM_SIZE, Request } from '../src/protocol/index.js';
import { StreamIO } from '../src/util/stream-io.js';
import { DaemonProcess } from '../test/support/daemon-process.js';
import { configText } from '../test/support/daemon-config-text.js';
import { OUR_DAEMON_BUNDLE, REPO, runTool, waitUntil } from '../test/support/processes.js';
import { FakeBackend } from '../test/support/fake-backend.js';
import { createRequestCore } from '../src/core/request-core.js';
import { Dispatcher } from '../src/daemon/dispatcher.js';
import { StaticMap } from '../src/daemon/static-map.js';
import { LibvirtConnectionPool } from '../src/libvirt/index.js';
import { defaultProtocolSettings } from '../src/listeners/protocol-policy.js';
import { createTcpListener } from '../src/listeners/tcp/listener.js';
import { createLogger } from '../src/util/log.js';
import { publishReport } from './report.js';

const LOCAL_ROUNDS = 2000;
const WIRE_ROUNDS = 400;
const AGENT_ROUNDS = 20;
const PORT = 24751;
const LOCAL_PORT = 24752;
const dir = mkdtempSync(join(tmpdir(), 'fvd-bench-v2-'));
const keyFile = join(dir, 'key');
const key = new AuthKey(Buffer.from('protocol v2 benchmark key 0123456789'));
writeFileSync(keyFile, key.bytes, { mode: 0o600 });

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;

let seqno = 0;

/** A signed status request of `test`, signed once whichever the version (as the agent does). */
function requestPacket(version: 1 | 2): Buffer {
  const packet = encodeFenceRequest({
    request: Request.STATUS,
    hashType: Hash.SHA256,
    flags: 0,
    domain: 'test',
    address: null,
    family: Family.NONE,
    port: 0,
    random: new Uint8Array(RANDOM_SIZE),
    seqno: ++seqno,
  });
  if (version === 2) markProtocol2(packet, Date.now());
  signRequest(packet, key);
  return packet;
}

/** One status request over the wire; resolves to the answer code, after checking it in version 2. */
async function wireRoundTrip(version: 1 | 2, port = PORT): Promise<number> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  await once(socket, 'connect');
  const io = new StreamIO(socket);
  try {
    const packet = requestPacket(version);
    await io.write(packet, 5_000);
    if (version === 1) {
      await challengeAsClient(io, key, Hash.SHA256, 5_000);
      return (await io.read(1, 5_000))[0] as number;
    }
    const session = await v2OfferAsClient(io, key, Hash.SHA256, [packet], socket.localAddress ?? '', true, 5_000);
    if (session === 1) throw new Error('the daemon answered in version 1');
    const answer = await readSealedAnswer(io, session, 5_000, new Deadline(5_000));
    if (answer.kind !== 'code') throw new Error(`unexpected answer ${answer.kind}`);
    return answer.code;
  } finally {
    socket.destroy();
  }
}

/** Wall time and CPU time (all threads of this process, user + system) of one call, in ms. */
async function timed(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const t = performance.now();
  const c = process.cpuUsage();
  await fn();
  const { user, system } = process.cpuUsage(c);
  return { wall: performance.now() - t, cpu: (user + system) / 1000 };
}

const agentStatus = (extra: string[]) =>
  runTool(process.execPath, [
    `${REPO}dist/fence_virt`,
    '-T',
    '127.0.0.1',
    '-p',
    String(PORT),
    '-k',
    keyFile,
    '-o',
    'status',
    '-n',
    'test',
    ...extra,
  ]);

type Samples = Record<1 | 2, number[]>;

/** Rounds of both versions, alternating which goes first; each must answer 0. */
async function interleaved(rounds: number, once: (v: 1 | 2) => Promise<number>): Promise<{ wall: Samples; cpu: Samples }> {
  const out = { wall: { 1: [], 2: [] } as Samples, cpu: { 1: [], 2: [] } as Samples };
  for (let i = 0; i < rounds; i++) {
    for (const v of i % 2 ? ([2, 1] as const) : ([1, 2] as const)) {
      let code = -1;
      const { wall, cpu } = await timed(async () => (code = await once(v)));
      if (code !== 0) throw new Error(`version ${v} answered ${code}`);
      out.wall[v].push(wall);
      out.cpu[v].push(cpu);
    }
  }
  return out;
}

/** Part 1: the listener in this process, the FakeBackend (a stand-in: libvirt is not what is measured). */
async function protocolOnly(): Promise<{ wall: Samples; cpu: Samples }> {
  const log = createLogger(() => -1, { write: () => undefined });
  const backend = new FakeBackend([{ name: 'test', uuid: 'b0000000-0000-4000-8000-000000000001', state: DomainState.RUNNING }]);
  const map = new StaticMap([]);
  const dispatcher = new Dispatcher(backend, () => map, log);
  const core = createRequestCore((r, w) => dispatcher.permits(r, w), log);
  const listener = createTcpListener(
    {
      module: 'tcp',
      name: 'tcp',
      keyFile,
      hash: Hash.SHA256,
      auth: Hash.SHA256,
      port: LOCAL_PORT,
      family: 'ipv4',
      address: '127.0.0.1',
      ...defaultProtocolSettings,
    },
    () => key,
    { dispatcher, core, log, libvirt: new LibvirtConnectionPool(log) },
  );
  await listener.start();
  try {
    for (let i = 0; i < 50; i++) await Promise.all([wireRoundTrip(1, LOCAL_PORT), wireRoundTrip(2, LOCAL_PORT)]); // warm-up
    return await interleaved(LOCAL_ROUNDS, (v) => wireRoundTrip(v, LOCAL_PORT));
  } finally {
    await listener.stop();
  }
}

const loadBefore = loadavg()[0] as number;
const local = await protocolOnly();
const conf = join(dir, 'fence_virt.conf');
writeFileSync(
  conf,
  configText({ listeners: { tcp: { address: '127.0.0.1', port: String(PORT), key_file: keyFile } }, backendUri: 'test+unix:///default' }),
  { mode: 0o600 },
);
const daemon = DaemonProcess.start(OUR_DAEMON_BUNDLE.command, [...OUR_DAEMON_BUNDLE.args, '-F', '-f', conf, '-p', join(dir, 'pid')]);
let wire: Samples;
let agent: Samples;
try {
  await waitUntil(async () => (await wireRoundTrip(1).catch(() => -1)) === 0, 'the daemon');
  for (let i = 0; i < 20; i++) await Promise.all([wireRoundTrip(1), wireRoundTrip(2)]); // warm-up
  wire = (await interleaved(WIRE_ROUNDS, (v) => wireRoundTrip(v))).wall;
  agent = (await interleaved(AGENT_ROUNDS, async (v) => (await agentStatus([`--protocol=${v}`])).code ?? -1)).wall;
} finally {
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
}

const row = (label: string, xs: Samples) => {
  const [m1, m2] = [pct(xs[1], 0.5), pct(xs[2], 0.5)];
  return `| ${label} | ${fmt(m1)} | ${fmt(m2)} | ${(((m2 - m1) / m1) * 100).toFixed(1)} % | ${fmt(pct(xs[1], 0.9))} | ${fmt(pct(xs[2], 0.9))} |`;
};

publishReport('protocol-v2', [
  '# Protocol version 2 beside version 1',
  '',
  `${new Date().toISOString()}, Node ${process.version}, our fence_virtd bundle, one TCP listener (protocol = "auto"), ` +
    'status of a running domain on the libvirt test driver through libvirtd, private network namespace.',
  '',
  '| round trip | v1 median | v2 median | v2 vs v1 | v1 p90 | v2 p90 |',
  '|---|---|---|---|---|---|',
  row(`protocol only (listener in process, in-memory backend), ${LOCAL_ROUNDS} each`, local.wall),
  row(`the same, CPU time per round trip (both ends), ${LOCAL_ROUNDS} each`, local.cpu),
  row(`daemon bundle on the libvirt test driver, ${WIRE_ROUNDS} each`, wire),
  row(`our fence_virt -T (process start included), ${AGENT_ROUNDS} each`, agent),
  '',
  'Per side, version 2 computes three HMAC-SHA-256 over about 300 bytes where version 1 computes two keyed',
  'hashes over 64; both send the same messages in the same order. The first two rows have no libvirt call, so',
  'the protocol is all they measure; the CPU row counts every thread of the process (user + system), both ends.',
  `Load average (1 min) on ${cpus().length} CPUs: ${loadBefore.toFixed(2)} when the run started, ${loadavg()[0]?.toFixed(2)} when it ended.`,
  '',
]);
