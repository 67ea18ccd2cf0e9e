/**
 * Start-up and memory of our daemon, one build against another in the same run (samples interleaved,
 * so both see the same moments of a busy machine): spawn to the first right TCP status and the CPU the
 * daemon used until then, RSS idle with 3
 * domains, RSS after host lists of 1,000 domains, and with 1,000 and 2,000 serial guests the start-up
 * scan and RSS once every guest was answered. bench/results/startup-memory.md records what each change
 * bought.
 *
 *   BENCH_BUILDS="before=/path/fence_virtd after=dist/fence_virtd" scripts/run-bench.sh bench/startup-memory.ts
 *
 * Without BENCH_BUILDS it measures dist/fence_virtd alone. BENCH_PARTS picks figures (start, hosts,
 * serial; default all), BENCH_ROUNDS the rounds per figure (default 5), BENCH_GUESTS the serial sizes
 * (default 1000,2000).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Request } from '../src/protocol/index.js';
import { configText } from '../test/support/daemon-config-text.js';
import { DaemonProcess } from '../test/support/daemon-process.js';
import { GuestLine, GuestPortSocket } from '../test/support/qemu-stand-ins.js';
import { BenchDir, cpuMs, domains, rssMb, tcpAsk, tcpListener } from './sides.js';
import { median } from './stats.js';

interface Build {
  name: string;
  command: string;
}

const builds: Build[] = (process.env.BENCH_BUILDS ?? 'ours=dist/fence_virtd')
  .split(/\s+/)
  .filter(Boolean)
  .map((spec) => {
    const [name, path] = spec.includes('=') ? spec.split('=', 2) : [spec, spec];
    return { name: name!, command: resolve(path!) };
  });
const parts = new Set((process.env.BENCH_PARTS ?? 'start,hosts,serial').split(','));
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const guestCounts = (process.env.BENCH_GUESTS ?? '1000,2000').split(',').map(Number);
const PORT = 25031;

const dir = new BenchDir(mkdtempSync(join(tmpdir(), 'fvd-startmem-')));
let run = 0;

function start(build: Build, listeners: Record<string, Record<string, string>>, uri: string): DaemonProcess {
  const name = `${build.name}-${run++}`;
  const conf = join(dir.path, `${name}.conf`);
  writeFileSync(conf, configText({ listeners, backendUri: uri }), { mode: 0o600 });
  // The environment systemd gives a service, as bench/sides.ts starts both daemons.
  return DaemonProcess.start(build.command, ['-F', '-f', conf, '-p', join(dir.path, `${name}.pid`)], { PATH: process.env.PATH }, false);
}

/** Round by round, alternating which build goes first. */
async function interleaved<T>(each: (b: Build) => Promise<T>): Promise<Map<string, T[]>> {
  const out = new Map(builds.map((b) => [b.name, [] as T[]]));
  for (let i = 0; i < rounds; i++) {
    for (const b of i % 2 ? [...builds].reverse() : builds) out.get(b.name)!.push(await each(b));
  }
  return out;
}

/** Spawn to the first right TCP status (asked every 2 ms) and the CPU used until then, then RSS one second later. */
async function startAndIdle(build: Build, uri: string): Promise<{ first: number; cpu: number; rss: number }> {
  const t0 = performance.now();
  const daemon = start(build, tcpListener(dir, PORT), uri);
  try {
    for (;;) {
      const o = await tcpAsk(PORT, Request.STATUS, 'vm-0001', 1_000);
      if (o.kind === 'code' && o.code === 0) break;
      if (!daemon.running || performance.now() - t0 > 30_000) throw new Error(`${build.name} did not answer:\n${daemon.output()}`);
      await sleep(2);
    }
    const first = performance.now() - t0;
    const cpu = cpuMs(daemon.pid);
    await sleep(1_000);
    return { first, cpu, rss: rssMb(daemon.pid) };
  } finally {
    await daemon.stop();
  }
}

/** RSS after ten host lists of 1,000 domains (each must hold every domain), one second after the last. */
async function afterHostLists(build: Build, uri: string): Promise<number> {
  const daemon = start(build, tcpListener(dir, PORT), uri);
  try {
    await daemon.waitUntil(
      async () => (await tcpAsk(PORT, Request.STATUS, 'vm-0001', 1_000).catch(() => null))?.kind === 'code',
      'serving',
    );
    for (let i = 0; i < 10; i++) {
      const o = await tcpAsk(PORT, Request.HOSTLIST, '', 30_000);
      if (o.kind !== 'hosts' || o.names.length !== 1000)
        throw new Error(`${build.name}: host list answered ${JSON.stringify(o).slice(0, 200)}`);
    }
    await sleep(1_000);
    return rssMb(daemon.pid);
  } finally {
    await daemon.stop();
  }
}

/**
 * The serial part of the side-by-side run (bench/serial.ts), for our daemon alone: the start-up scan
 * (spawn until every guest, all asked at once, has had an answer), 200 statuses on one socket and 200
 * on guests picked at random, every guest once more (100 at a time), then RSS one second later.
 */
async function serialGuests(build: Build, n: number): Promise<{ scan: number; rss: number }> {
  const socketDir = join(dir.path, `serial-${run}`);
  mkdirSync(socketDir);
  const uri = dir.node(
    `serial-${run}`,
    domains(n, (i) => join(socketDir, `g${i}`)),
  );
  const ports = await Promise.all(Array.from({ length: n }, (_, i) => GuestPortSocket.listen(join(socketDir, `g${i}`))));
  const t0 = performance.now();
  const daemon = start(build, { serial: { uri, path: socketDir, mode: 'serial' } }, uri);
  const lines = new Map<Socket, GuestLine>();
  const status = async (i: number, timeoutMs = 10_000) => {
    const socket = ports[i]!.open.at(-1);
    if (!socket) throw new Error(`${build.name}: guest ${i} not connected`);
    let line = lines.get(socket);
    if (!line) lines.set(socket, (line = new GuestLine(socket)));
    line.send(ports[i]!.request({ request: Request.STATUS, domain: `vm-${String(i).padStart(4, '0')}` }));
    const answer = await line.answer(timeoutMs);
    if (!('code' in answer) || answer.code !== 0) throw new Error(`${build.name}, guest ${i}: ${JSON.stringify(answer)}`);
  };
  try {
    await daemon.waitUntil(() => ports.every((p) => p.connections.length > 0), `all ${n} guests connected`, 120_000);
    await Promise.all(ports.map((_, i) => status(i, 20_000)));
    const scan = performance.now() - t0;
    for (let i = 0; i < 200; i++) await status(0);
    for (let i = 0; i < 200; i++) await status(Math.floor(Math.random() * n));
    for (let i = 0; i < n; i += 100) await Promise.all(ports.slice(i, i + 100).map((_, j) => status(i + j)));
    await sleep(1_000);
    return { scan, rss: rssMb(daemon.pid) };
  } finally {
    await daemon.stop();
    await Promise.all(ports.map((p) => p.close()));
    rmSync(socketDir, { recursive: true, force: true });
  }
}

const lines: string[] = [];
const report = (what: string, unit: string, samples: Map<string, number[]>, digits = 1) => {
  const cells = [...samples].map(
    ([name, xs]) => `${name} ${median(xs).toFixed(digits)} ${unit} [${xs.map((x) => x.toFixed(digits)).join(' ')}]`,
  );
  const line = `${what}: ${cells.join(' | ')}`;
  lines.push(line);
  process.stdout.write(`${line}\n`);
};
const pick = <T, K extends keyof T>(m: Map<string, T[]>, k: K) => new Map([...m].map(([n, xs]) => [n, xs.map((x) => x[k] as number)]));

const load0 = loadavg();
try {
  if (parts.has('start')) {
    const r = await interleaved((b) => startAndIdle(b, dir.node('three', domains(3))));
    report('start → first answer', 'ms', pick(r, 'first'), 0);
    report('CPU used to the first answer', 'ms', pick(r, 'cpu'), 0);
    report('RSS idle, 3 domains', 'MB', pick(r, 'rss'));
  }
  if (parts.has('hosts')) {
    const uri = dir.node('thousand', domains(1000));
    report('RSS after 10 host lists of 1,000 domains', 'MB', await interleaved((b) => afterHostLists(b, uri)));
  }
  if (parts.has('serial')) {
    for (const n of guestCounts) {
      const r = await interleaved((b) => serialGuests(b, n));
      report(`start-up scan, ${n} serial guests`, 's', new Map([...pick(r, 'scan')].map(([k, xs]) => [k, xs.map((x) => x / 1000)])), 2);
      report(`RSS, ${n} serial guests (each answered once)`, 'MB', pick(r, 'rss'));
    }
  }
} finally {
  rmSync(dir.path, { recursive: true, force: true });
}
const load1 = loadavg();
process.stdout.write(
  `load average (1, 5, 15 min): before ${load0.map((x) => x.toFixed(1)).join(' ')}, after ${load1.map((x) => x.toFixed(1)).join(' ')}\n`,
);
