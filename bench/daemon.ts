/**
 * fence_virtd side by side with the C daemon, in one run, inside a private network namespace
 * (scripts/run-bench.sh): the real C agents drive both daemons on the same libvirt test node.
 *  1. median `fence_xvm -o status` round trip (multicast);
 *  2. 50 concurrent `fence_virt -T … -o status` over TCP (wall time for all, and median per call);
 *  3. status latency for a second requester while a first one stalls its challenge-response.
 * Writes bench/results/daemon.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthKey } from '../src/auth/keyed-hash.js';
import { Request } from '../src/protocol/index.js';
import { DaemonProcess } from '../test/support/daemon-process.js';
import { configText } from '../test/support/daemon-config-text.js';
import { C_DAEMON, OUR_DAEMON_BUNDLE, runTool, waitUntil } from '../test/support/processes.js';
import { signedRequest } from '../test/support/raw-client.js';
import { publishReport } from './report.js';

const ROUNDS = 40;
const CONCURRENT = 50;
const dir = mkdtempSync(join(tmpdir(), 'fvd-bench-'));
const keyFile = join(dir, 'key');
const keyBytes = Buffer.from('benchmark key 0123456789abcdef');
writeFileSync(keyFile, keyBytes, { mode: 0o600 });

interface Side {
  name: string;
  daemon: DaemonProcess;
  mcastPort: number;
  tcpPort: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
}

async function start(name: string, which: typeof C_DAEMON, mcastPort: number, tcpPort: number): Promise<Side[]> {
  // The C daemon runs one listener per process: start one per listener for both sides alike.
  const sides: Side[] = [];
  for (const [listener, keys] of [
    ['multicast', { interface: 'lo', port: String(mcastPort), key_file: keyFile }],
    ['tcp', { address: '127.0.0.1', port: String(tcpPort), key_file: keyFile }],
  ] as const) {
    const conf = join(dir, `${name}-${listener}.conf`);
    writeFileSync(conf, configText({ listeners: { [listener]: keys }, backendUri: 'test+unix:///default' }), { mode: 0o600 });
    const daemon = DaemonProcess.start(which.command, [...which.args, '-F', '-f', conf, '-p', join(dir, `${name}-${listener}.pid`)]);
    sides.push({ name, daemon, mcastPort, tcpPort });
  }
  await waitUntil(async () => (await xvmStatus(mcastPort)).code === 0, `${name} multicast`);
  await waitUntil(async () => (await virtStatus(tcpPort)).code === 0, `${name} tcp`);
  return sides;
}

const xvmStatus = (port: number) =>
  runTool('/usr/sbin/fence_xvm', ['-p', String(port), '-k', keyFile, '-t', '10', '-o', 'status', '-H', 'test']);
const virtStatus = (port: number) =>
  runTool('/usr/sbin/fence_virt', ['-T', '127.0.0.1', '-p', String(port), '-k', keyFile, '-t', '30', '-o', 'status', '-H', 'test']);

async function measure(side: Side) {
  const roundTrips: number[] = [];
  for (let i = 0; i < ROUNDS; i++) roundTrips.push((await timed(() => xvmStatus(side.mcastPort)))[0]);

  const perCall: number[] = [];
  const [wall, results] = await timed(() =>
    Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        const [ms, r] = await timed(() => virtStatus(side.tcpPort));
        perCall.push(ms);
        return r.code;
      }),
    ),
  );
  const failures = results.filter((c) => c !== 0).length;

  // A first requester sends its request and then never answers the challenge.
  const stalled = connect(side.tcpPort, '127.0.0.1');
  stalled.on('error', () => undefined);
  stalled.write(signedRequest({ request: Request.STATUS, domain: 'test' }, new AuthKey(keyBytes)));
  await new Promise((r) => setTimeout(r, 200));
  const [second, secondResult] = await timed(() => virtStatus(side.tcpPort));
  stalled.destroy();
  // Process start of fence_virt itself is part of every number; measure it alone for reference.
  const [baseline] = await timed(() => runTool('/usr/sbin/fence_virt', ['-V']));
  return { roundTrip: median(roundTrips), wall, perCall: median(perCall), failures, second, secondCode: secondResult.code, baseline };
}

const rows: string[] = [];
let all: Side[] = [];
try {
  const c = await start('c', C_DAEMON, 24701, 24702);
  const o = await start('ours', OUR_DAEMON_BUNDLE, 24703, 24704);
  all = [...c, ...o];
  const results = { 'C fence_virtd 4.12.1': await measure(c[0] as Side), 'fence-virtd (ours)': await measure(o[0] as Side) };
  for (const [name, r] of Object.entries(results)) {
    rows.push(
      `| ${name} | ${fmt(r.roundTrip)} | ${fmt(r.wall)} (${r.failures} failed) | ${fmt(r.perCall)} | ${fmt(r.second)} (exit ${r.secondCode}) | ${fmt(r.baseline)} |`,
    );
  }
} finally {
  await Promise.all(all.map((s) => s.daemon.stop()));
  rmSync(dir, { recursive: true, force: true });
}

publishReport('daemon', [
  '# fence_virtd: ours beside the C daemon',
  '',
  `${new Date().toISOString()}, Node ${process.version}, ${ROUNDS} rounds, libvirt test driver through libvirtd, private network namespace.`,
  'Every number includes starting the C agent process (last column: `fence_virt -V` alone).',
  '',
  `| daemon | median fence_xvm status round trip | ${CONCURRENT} concurrent fence_virt -T status: all done | median per call | status while another requester stalls | agent start alone |`,
  '|---|---|---|---|---|---|',
  ...rows,
  '',
  'Aims: round trip no slower than C; concurrent requests at least as fast as C; a stalled requester delays',
  'the next one by < 50 ms (the C daemon serves one connection at a time and waits up to 10 s for the stalled one).',
  '',
]);
