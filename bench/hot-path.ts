/**
 * A/B of daemon builds on the request hot path (bench/results/hot-path.md): several builds of our daemon
 * (and the C one) run at once on the same kind of 3-domain node, and per build, with the samples
 * interleaved so all see the same moments of a busy machine:
 * - the TCP status round trip in this process, and the daemon's CPU time per request (all its threads,
 *   from /proc/PID/task/TID/schedstat, over all its requests: what a shared machine's load inflates least);
 * - the serial status round trip on one guest socket, and its CPU per request;
 * - with --flood, TCP status latencies under 1,000 junk connections a second (bench/junk-sender.ts).
 *
 * Run: scripts/run-bench.sh is for whole files without arguments, so:
 *   unshare -n bash -c 'ip link set lo up; exec node --import tsx bench/hot-path.ts before=PATH after=dist/fence_virtd C'
 * Options: ROUNDS=n (default 1000), WARMUP=n requests per build before measuring (default 100), --flood[=seconds]. Builds are `label=path-of-a-bundle` (e.g. a copy of
 * dist/fence_virtd from before a change; a wrapper script can add Node flags); `C` adds the C daemon.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Hash, Request } from '../src/protocol/index.js';
import { exchangeOn, signedRequest } from '../test/support/raw-client.js';
import { configText } from '../test/support/daemon-config-text.js';
import { DaemonProcess } from '../test/support/daemon-process.js';
import { C_DAEMON } from '../test/support/processes.js';
import { GuestLine, GuestPortSocket } from '../test/support/qemu-stand-ins.js';
import { probeDuringFlood } from './junk-sender.js';
import { BenchDir, cpuMs, domains, KEY, tcpStatus } from './sides.js';
import { median, percentile } from './stats.js';

const TARGET = 'vm-0001';

interface Build {
  label: string;
  /** The process serving TCP, and the one serving serial (the C daemon serves one listener per process). */
  daemon: DaemonProcess;
  serialDaemon: DaemonProcess;
  port: number;
  guest: GuestLine;
  guestPort: GuestPortSocket;
}

const rounds = Number(process.env.ROUNDS ?? 1000);
/** Requests each build answers before the measured rounds (the same for all builds). */
const warmUp = Number(process.env.WARMUP ?? 100);
const floodArg = process.argv.find((a) => a.startsWith('--flood'));
const floodSeconds = floodArg ? Number(floodArg.split('=')[1] ?? 4) : 0;
const specs = process.argv
  .slice(2)
  .filter((a) => !a.startsWith('--'))
  .map((a) => (a === 'C' ? { label: 'C', command: 'stdbuf', args: ['-oL', '-eL', C_DAEMON.command] } : parseBuild(a)));

function parseBuild(arg: string): { label: string; command: string; args: string[] } {
  const [label, path] = arg.split('=');
  if (!label || !path) throw new Error(`expected label=path or C, got ${arg}`);
  return { label, command: path, args: [] };
}

async function start(dir: BenchDir, i: number, spec: { label: string; command: string; args: string[] }): Promise<Build> {
  const socketDir = join(dir.path, `serial-${i}`);
  mkdirSync(socketDir);
  const uri = dir.node(
    `node-${i}`,
    domains(3, (g) => join(socketDir, `g${g}`)),
  );
  const guestPorts = await Promise.all([0, 1, 2].map((g) => GuestPortSocket.listen(join(socketDir, `g${g}`))));
  const port = 26001 + i;
  const listeners = {
    tcp: { address: '127.0.0.1', port: String(port), key_file: dir.keyFile },
    serial: { uri, path: socketDir, mode: 'serial', key_file: dir.keyFile },
  };
  const run = (name: string, l: Record<string, Record<string, string>>) => {
    const conf = join(dir.path, `${name}.conf`);
    writeFileSync(conf, configText({ listeners: l, backendUri: uri }), { mode: 0o600 });
    return DaemonProcess.start(spec.command, [...spec.args, '-F', '-f', conf, '-p', join(dir.path, `${name}.pid`)]);
  };
  const daemon = spec.label === 'C' ? run(`${i}-tcp`, { tcp: listeners.tcp }) : run(`${i}`, listeners);
  const serialDaemon = spec.label === 'C' ? run(`${i}-serial`, { serial: listeners.serial }) : daemon;
  const guestPort = guestPorts[0]!;
  await serialDaemon.waitUntil(() => guestPort.open.length > 0, 'guest socket connected', 60_000);
  await daemon.waitUntil(
    () =>
      tcpStatus(port, TARGET).then(
        () => true,
        () => false,
      ),
    'TCP status',
    60_000,
  );
  return { label: spec.label, daemon, serialDaemon, port, guest: new GuestLine(guestPort.open[0]!), guestPort };
}

async function serialStatus(b: Build): Promise<void> {
  b.guest.send(b.guestPort.request({ request: Request.STATUS, domain: 'vm-0000' }));
  const answer = await b.guest.answer(10_000);
  if (!('code' in answer) || answer.code !== 0) throw new Error(`${b.label}: serial status answered ${JSON.stringify(answer)}`);
}

/** n rounds, the builds in a rotating order; per build the latencies and the daemon's CPU per request. */
async function measure(builds: Build[], n: number, ask: (b: Build) => Promise<void>, serving: (b: Build) => DaemonProcess) {
  const samples = new Map(builds.map((b) => [b, [] as number[]]));
  const cpu0 = new Map(builds.map((b) => [b, cpuMs(serving(b).pid)]));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < builds.length; k++) {
      const b = builds[(i + k) % builds.length]!;
      const t = performance.now();
      await ask(b);
      samples.get(b)!.push(performance.now() - t);
    }
  }
  return builds.map((b) => ({
    label: b.label,
    median: median(samples.get(b)!),
    p90: percentile(samples.get(b)!, 90),
    cpuMsPerRequest: (cpuMs(serving(b).pid) - cpu0.get(b)!) / n,
  }));
}

/** Probes one build while a child process floods it (bench/junk-sender.ts); unanswered probes count as 5 s. */
async function flood(b: Build, seconds: number) {
  const overflows0 = listenOverflows();
  const cpu0 = cpuMs(b.daemon.pid);
  const latencies: number[] = [];
  const connects: number[] = [];
  let answered = 0;
  const counts = await probeDuringFlood(b.port, seconds, async () => {
    const t = performance.now();
    // Connected apart from the exchange, to tell a slow accept queue from a slow exchange.
    const socket = connect(b.port, '127.0.0.1');
    await once(socket, 'connect');
    connects.push(performance.now() - t);
    const o = await exchangeOn(socket, signedRequest({ request: Request.STATUS, domain: TARGET }, KEY), KEY, Hash.SHA256, 5_000);
    const ok = o.kind === 'code' && o.code === 0;
    if (ok) answered++;
    latencies.push(ok ? performance.now() - t : 5_000);
    await sleep(20);
  });
  return {
    label: b.label,
    asked: latencies.length,
    answered,
    median: median(latencies),
    p99: percentile(latencies, 99),
    over900ms: latencies.filter((l) => l > 900).length,
    connectP99: percentile(connects, 99),
    listenOverflows: listenOverflows() - overflows0,
    daemonCpuSeconds: (cpuMs(b.daemon.pid) - cpu0) / 1000,
    counts,
  };
}

/** TcpExt ListenOverflows of this network namespace: connects the daemon's accept queue could not hold. */
function listenOverflows(): number {
  const [names, values] = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('TcpExt:'))
    .map((l) => l.split(/\s+/));
  return Number(values![names!.indexOf('ListenOverflows')]);
}

function report(what: string, rows: Awaited<ReturnType<typeof measure>>): void {
  console.log(`${what}, ${rounds} rounds`);
  for (const r of rows) {
    console.log(
      `  ${r.label.padEnd(8)} median ${r.median.toFixed(3)} ms  p90 ${r.p90.toFixed(3)} ms  daemon CPU ${r.cpuMsPerRequest.toFixed(3)} ms/request`,
    );
  }
}

const dir = new BenchDir(mkdtempSync(join(tmpdir(), 'fvd-hot-path-')));
const builds: Build[] = [];
try {
  for (const [i, spec] of specs.entries()) builds.push(await start(dir, i, spec));
  const tcp = (b: Build) => tcpStatus(b.port, TARGET);
  await measure(builds, warmUp, tcp, (b) => b.daemon);
  report('TCP status', await measure(builds, rounds, tcp, (b) => b.daemon));
  await measure(builds, warmUp, serialStatus, (b) => b.serialDaemon);
  report('serial status', await measure(builds, rounds, serialStatus, (b) => b.serialDaemon));
  if (floodSeconds) for (const b of builds) console.log('flood', JSON.stringify(await flood(b, floodSeconds)));
} finally {
  await Promise.all(builds.flatMap((b) => [b.daemon.stop(), b.serialDaemon.stop()]));
  for (const b of builds) {
    const delay = /event-loop delay[^\n]*/.exec(b.daemon.output())?.[0];
    if (delay) console.log(`${b.label}: ${delay}`);
  }
  await Promise.all(builds.map((b) => b.guestPort.close()));
  rmSync(dir.path, { recursive: true, force: true });
}
// Handles a test-support module may leave open (guest sockets, timers) must not keep the run alive.
process.exit(0);
