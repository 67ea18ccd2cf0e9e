/**
 * npm run fuzz -- [--count N] [--seed S] [--listener tcp|multicast|serial|vsock]... [--report] [--log FILE]
 * npm run fuzz -- --flood [--seconds N] [--report]
 * npm run fuzz -- --dump INDEX --listener L --seed S      (prints one input, sends nothing)
 *
 * Runs itself again inside a new network namespace (lo up, 224.0.0.0/4 routed to lo), so nothing it
 * sends leaves this machine's loopback. --report writes bench/results/fuzz.md (or flood.md); --log
 * keeps the daemons' logs in FILE.
 * Exits 1 when an invariant is broken. The daemon is dist/fence_virtd as it is: `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { publishReport } from '../../bench/report.js';
import { decodeFenceRequest, decodeSerialRequest, FENCE_REQUEST_SIZE, SERIAL_REQUEST_SIZE } from '../../src/protocol/index.js';
import { FuzzSession, multicastTargets, violations, type SessionPorts } from './campaign.js';
import { DaemonBed } from './daemon-bed.js';
import { floodReport, runFlood } from './flood.js';
import { inputAt, LISTENERS, type ListenerName } from './inputs.js';
import { environmentLine, fuzzReport } from './report.js';

/** The fields of a dumped input as the daemon's decoder reads them, or why it cannot. */
function describeInput(listener: ListenerName, bytes: Buffer): string {
  try {
    if (listener === 'serial')
      return JSON.stringify(decodeSerialRequest(bytes.subarray(0, SERIAL_REQUEST_SIZE), { acceptUnknownRequest: true }));
    const { random: _random, ...fields } = decodeFenceRequest(bytes.subarray(0, FENCE_REQUEST_SIZE), { acceptUnknownRequest: true });
    return JSON.stringify(fields);
  } catch (err) {
    return (err as Error).message;
  }
}

const NETNS_MARK = 'FENCE_VIRTD_FUZZ_NETNS';

if (process.env[NETNS_MARK] !== '1') {
  const script = fileURLToPath(import.meta.url);
  const inner = spawnSync(
    'unshare',
    [
      '-n',
      'bash',
      '-c',
      'ip link set lo up && ip route add 224.0.0.0/4 dev lo && exec "$@"',
      'run-fuzz',
      process.execPath,
      ...process.execArgv,
      script,
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit', env: { ...process.env, [NETNS_MARK]: '1' } },
  );
  process.exit(inner.status ?? 1);
}

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    listener: { type: 'string', multiple: true },
    report: { type: 'boolean', default: false },
    flood: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '10' },
    dump: { type: 'string' },
    log: { type: 'string' },
  },
});

const PORTS: SessionPorts = { tcp: 23001, multicast: 23002, trap: 23003, probe: 23004, vsockBase: 23010 };
const seed = values.seed === undefined ? Math.floor(Math.random() * 0x7fffffff) : Number(values.seed);
const listeners = (values.listener ?? LISTENERS).flatMap((l) => l.split(',')) as ListenerName[];
for (const l of listeners) if (!LISTENERS.includes(l)) throw new Error(`unknown listener ${l} (one of ${LISTENERS.join(', ')})`);
const command = `npm run fuzz -- ${process.argv.slice(2).join(' ')}`.trim();

if (values.dump !== undefined) {
  for (const l of listeners) {
    const input = inputAt(l, seed, Number(values.dump), multicastTargets(PORTS));
    console.log(
      `${l} #${input.index} of seed ${seed} (${input.kind})${input.legit ? ', legit' : ''}, pauses ${input.pausesMs.join('/')} ms`,
    );
    input.pieces.forEach((p, i) => console.log(`  piece ${i}: ${p.toString('hex')}`));
    console.log(`  fields: ${describeInput(l, Buffer.concat(input.pieces))}`);
  }
} else if (values.flood) {
  const environment = environmentLine();
  const bed = await DaemonBed.start(PORTS);
  try {
    const report = await runFlood(bed, { seconds: Number(values.seconds) });
    const lines = floodReport(report, command, environment);
    if (values.report) publishReport('flood', lines);
    else console.log(lines.join('\n'));
    process.exitCode = report.failures.length ? 1 : 0;
  } finally {
    await bed.stop();
  }
} else {
  const count = Number(values.count);
  const environment = environmentLine();
  const session = new FuzzSession(PORTS);
  const started = performance.now();
  const reports = [];
  try {
    for (const l of listeners) {
      console.error(`fuzzing ${l}: ${count} inputs, seed ${seed}`);
      const r = await session.run(l, seed, count);
      reports.push(r);
      console.error(
        `  ${l}: ${(r.durationMs / 1000).toFixed(1)} s, ${violations(r).length ? violations(r).join('; ') : 'invariants held'}`,
      );
    }
  } finally {
    if (values.log) writeFileSync(values.log, session.logs());
    await session.stop();
  }
  const lines = fuzzReport(reports, { command, seed, totalMs: performance.now() - started, environment });
  if (values.report) publishReport('fuzz', lines);
  else console.log(lines.join('\n'));
  process.exitCode = reports.some((r) => violations(r).length) ? 1 : 0;
}
