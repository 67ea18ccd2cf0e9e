/**
 * The serial listener side by side with the C daemon's, in one run: each daemon on its own copy of a
 * test-driver node with 20 guests, every guest's serial socket served by this process standing in for
 * qemu, and this process speaking as the guests.
 *  1. median status round trip over one serial socket (request written to answer read);
 *  2. 20 guests (20 sockets) asking for status at once: wall time until all are answered, per round.
 * Run: bash scripts/run-bench.sh bench/serial.ts (writes bench/results/serial.md).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Request } from '../src/protocol/index.js';
import { DaemonProcess } from '../test/support/daemon-process.js';
import { startCDaemon } from '../test/support/c-daemon.js';
import { configText } from '../test/support/daemon-config-text.js';
import { OUR_DAEMON_BUNDLE, waitUntil } from '../test/support/processes.js';
import { nodeXml } from '../test/serial/node-xml.js';
import { GuestLine, GuestPortSocket } from '../test/support/qemu-stand-ins.js';
import { publishReport } from './report.js';

const GUESTS = 20;
const SINGLE_ROUNDS = 500;
const CONCURRENT_ROUNDS = 50;
const TARGET = 'vm-target';

interface Side {
  name: string;
  ports: GuestPortSocket[];
  lines: GuestLine[];
  stop: () => Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'fvd-serial-bench-'));

/** The node file, socket directory and stand-ins of one daemon. */
async function prepare(name: string): Promise<{ uri: string; socketDir: string; ports: GuestPortSocket[] }> {
  const socketDir = join(dir, name, 'sock');
  mkdirSync(socketDir, { recursive: true });
  const guests = Array.from({ length: GUESTS }, (_, i) => ({
    name: `vm-g${String(i).padStart(2, '0')}`,
    uuid: `be000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
    serial: [join(socketDir, `g${i}`)],
  }));
  const node = join(dir, name, 'node.xml');
  writeFileSync(node, nodeXml([...guests, { name: TARGET, uuid: 'be000000-0000-4000-8000-0000000000ff' }]));
  const ports = await Promise.all(guests.map((g) => GuestPortSocket.listen(g.serial[0] as string)));
  return { uri: `test+unix://${node}`, socketDir, ports };
}

const allConnected = (ports: GuestPortSocket[]) => ports.every((p) => p.connections.length > 0);

async function startC(): Promise<Side> {
  const { uri, socketDir, ports } = await prepare('c');
  const daemon = await startCDaemon({
    config: ({ keyFile }) =>
      configText({ listeners: { serial: { uri, path: socketDir, mode: 'serial', key_file: keyFile } }, backendUri: uri }),
    ready: { probe: async () => allConnected(ports) },
  });
  return { name: 'C fence_virtd', ports, lines: ports.map((p) => new GuestLine(p.connections[0]!)), stop: () => daemon.stop() };
}

async function startOurs(): Promise<Side> {
  const { uri, socketDir, ports } = await prepare('ours');
  const conf = join(dir, 'ours.conf');
  writeFileSync(conf, configText({ listeners: { serial: { uri, path: socketDir, mode: 'serial' } }, backendUri: uri }), { mode: 0o600 });
  const daemon = DaemonProcess.start(OUR_DAEMON_BUNDLE.command, [...OUR_DAEMON_BUNDLE.args, '-F', '-f', conf, '-p', join(dir, 'ours.pid')]);
  try {
    await waitUntil(() => allConnected(ports), 'our daemon connected to every guest socket', 30_000);
  } catch (err) {
    await daemon.stop();
    throw new Error(`${(err as Error).message}\n${daemon.output()}`);
  }
  return { name: 'ours', ports, lines: ports.map((p) => new GuestLine(p.connections[0]!)), stop: () => daemon.stop() };
}

async function status(side: Side, i: number): Promise<number> {
  const t0 = performance.now();
  side.lines[i]!.send(side.ports[i]!.request({ request: Request.STATUS, domain: TARGET }));
  const answer = await side.lines[i]!.answer();
  if (!('code' in answer) || answer.code !== 0) throw new Error(`${side.name}: unexpected answer ${JSON.stringify(answer)}`);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)] as number;
const fmt = (ms: number) => ms.toFixed(2);

interface Result {
  single: number[];
  allWall: number[];
  allEach: number[];
}

async function measure(side: Side): Promise<Result> {
  for (let i = 0; i < 50; i++) await status(side, i % GUESTS);
  const single: number[] = [];
  for (let i = 0; i < SINGLE_ROUNDS; i++) single.push(await status(side, 0));
  const allWall: number[] = [];
  const allEach: number[] = [];
  for (let r = 0; r < CONCURRENT_ROUNDS; r++) {
    const t0 = performance.now();
    allEach.push(...(await Promise.all(side.lines.map((_, i) => status(side, i)))));
    allWall.push(performance.now() - t0);
  }
  return { single, allWall, allEach };
}

async function main(): Promise<void> {
  const results: [string, Result][] = [];
  try {
    for (const start of [startC, startOurs]) {
      const side = await start();
      try {
        results.push([side.name, await measure(side)]);
      } finally {
        await side.stop();
        await Promise.all(side.ports.map((p) => p.close()));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const lines = [
    '# Serial listener: C fence_virtd and ours',
    '',
    `Run ${new Date().toISOString()} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), Node ${process.version}.`,
    `Each daemon alone on its own test-driver node (through the shared libvirtd) with ${GUESTS} guests; every guest's`,
    'serial socket is a unix socket of the benchmark process standing in for qemu, which also speaks as the guests',
    `(74-byte serial requests, 5-byte framed answers). Request: status of a running domain. Times in milliseconds.`,
    '',
    `| daemon | one socket: median | one socket: p90 | ${GUESTS} sockets at once: wall median | wall p90 | per request median |`,
    '|---|---|---|---|---|---|',
    ...results.map(
      ([name, r]) =>
        `| ${name} | ${fmt(median(r.single))} | ${fmt(p90(r.single))} | ${fmt(median(r.allWall))} | ${fmt(p90(r.allWall))} | ${fmt(median(r.allEach))} |`,
    ),
    '',
    'Notes:',
    `- One socket: ${SINGLE_ROUNDS} sequential requests on one guest's socket after a warm-up.`,
    `- ${GUESTS} at once: ${CONCURRENT_ROUNDS} rounds; in each, every guest writes one request at the same moment; the wall time`,
    '  ends with the last answer. The C daemon serves one request at a time from its select() loop; ours serves',
    '  sockets concurrently (requests on one socket stay in order).',
    '- Our daemon runs as the built bundle (dist/fence_virtd), as it is installed.',
    '',
  ];
  publishReport('serial', lines);
}

await main();
