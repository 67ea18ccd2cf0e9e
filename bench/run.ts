/**
 * `npm run bench`: every figure of ours beside the C fence_virtd in one run (inside a private network
 * namespace, scripts/run-bench.sh), each taken only from right answers (a wrong answer stops the run).
 * Writes bench/results/side-by-side.md and .json, and SVG charts under bench/results/charts/.
 * BENCH_SCALE=0.2 runs fewer samples (a quick look; the committed results use 1).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { environmentLine } from '../test/fuzz/report.js';
import { curveChart, ratioChart, renderSvg } from './charts.js';
import { hostListFigures } from './host-list.js';
import { networkFigures } from './network.js';
import { OtherWork, QUIET_SHARE } from './other-work.js';
import { publishReport } from './report.js';
import { serialFigures } from './serial.js';
import { BenchDir } from './sides.js';
import { startupFigures } from './startup.js';
import { fmt, ratio, step, type Figure } from './stats.js';

const scale = Number(process.env.BENCH_SCALE ?? 1);
// glibc's fatal messages (the C daemon's abort past FD_SETSIZE) go to stderr, where the report can quote them.
process.env.LIBC_FATAL_STDERR_ = '1';
const n = (x: number) => Math.max(3, Math.round(x * scale));

const began = performance.now();
const environment = environmentLine();
const loadBefore = loadavg()[0] as number;
const otherWork = new OtherWork();
const libvirt = spawnSync('libvirtd', ['--version'], { encoding: 'utf8' }).stdout.trim();
const cVersion = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'fence-virtd'], { encoding: 'utf8' }).stdout.trim();
const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`;

const dir = new BenchDir(mkdtempSync(join(tmpdir(), 'fvd-bench-')));
const figures: Figure[] = [];
let result;
try {
  figures.push(...(await step('start-up', () => startupFigures(dir, n(5)))));
  const network = await step('network', () => networkFigures(dir, n(600), Math.max(2, Math.round(4 * scale))));
  figures.push(...network.figures);
  figures.push(
    ...(await step('host list', () =>
      hostListFigures(dir, [
        { domains: 1000, rounds: n(10) },
        { domains: 2000, rounds: n(5) },
      ]),
    )),
  );
  const serial = await step('serial', () => serialFigures(dir, [10, 1000, 2000], n(200)));
  figures.push(...serial.figures);
  result = { network, serial };
} finally {
  rmSync(dir.path, { recursive: true, force: true });
}

const otherShare = otherWork.share();
const loadAfter = loadavg()[0] as number;
// The load after the run counts the run's own last minute; what other processes used while it ran does not.
const quiet = loadBefore < 1.5 && otherShare < QUIET_SHARE;
const otherPercent = `${(otherShare * 100).toFixed(1)} %`;
const subtitle = `${new Date().toISOString().slice(0, 16)} · ${machine} · Node ${process.version} · ${quiet ? 'quiet machine' : `NOT quiet: load ${loadBefore.toFixed(1)} before, other work ${otherPercent} of the CPU`}`;
const charts: [string, Parameters<typeof renderSvg>[0]][] = [
  [
    'ratio',
    ratioChart(
      figures.filter((f) => f.unit !== 's' || f.id === 'start'),
      subtitle,
    ),
  ],
  [
    'concurrency',
    curveChart(result.network.concurrency, {
      title: 'fence_virt -T status from N agents at once: wall time until all are done (labels: answered)',
      subtitle,
      x: 'concurrent agents',
      y: 'wall time (ms)',
      logX: true,
    }),
  ],
  [
    'guests',
    curveChart(result.serial.latency, {
      title: 'serial status latency against the number of guests (median; no point: that daemon answered none)',
      subtitle,
      x: 'guests (serial sockets)',
      y: 'status round trip (ms)',
    }),
  ],
  [
    'guests-memory',
    curveChart(result.serial.memory, {
      title: 'RSS against the number of serial guests',
      subtitle,
      x: 'guests (serial sockets)',
      y: 'RSS (MB)',
    }),
  ],
];
mkdirSync(new URL('./results/charts/', import.meta.url), { recursive: true });
for (const [name, spec] of charts) writeFileSync(new URL(`./results/charts/${name}.svg`, import.meta.url), await renderSvg(spec));
writeFileSync(
  new URL('./results/side-by-side.json', import.meta.url),
  `${JSON.stringify({ environment, machine, libvirt, figures, ...result }, null, 2)}\n`,
);

const seconds = (performance.now() - began) / 1000;
const r = (f: Figure) => {
  const x = ratio(f);
  return x === null ? '–' : x.toFixed(2);
};
publishReport('side-by-side', [
  '# fence_virtd: ours beside the C daemon, every figure in one run',
  '',
  environment,
  `Machine: ${machine}; ${libvirt}; C fence_virtd ${cVersion} (Debian package); \`npm run bench\` took ${seconds.toFixed(0)} s${scale === 1 ? '' : ` at BENCH_SCALE=${scale}`}.`,
  `${quiet ? 'The machine was quiet' : '**The machine was NOT quiet**'}: processes outside the run (all but this one, its children, libvirtd and virtlogd) used ${otherPercent} of its ${cpus().length} cores' CPU while it ran ` +
    `(quiet: under ${QUIET_SHARE * 100} %, and a 1-minute load under 1.5 when it began); 1-minute load ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after (which counts the run's own last minute).` +
    (quiet
      ? ''
      : ' Absolute times are inflated; both daemons were measured in the same moments (samples interleaved), so the ratios are the figures to read.'),
  '',
  'Both daemons run the libvirt test driver through libvirtd, inside a private network namespace. Ours runs as the RPM',
  'installs it (node runs dist/fence_virtd, as its `#!/usr/bin/node` line does); for the start figure the C daemon runs',
  'without the stdbuf the other figures start it through. Every sample comes from a right answer: a wrong one stops the run.',
  '',
  '| figure | C | ours | ours/C | goal for ours | met |',
  '|---|---|---|---|---|---|',
  ...figures.map(
    (f) => `| ${f.title} | ${fmt(f.C, f.unit)} | ${fmt(f.ours, f.unit)} | ${r(f)} | ${f.goal} | ${f.met ? 'yes' : '**no**'} |`,
  ),
  '',
  'Notes:',
  ...figures.filter((f) => f.note).map((f) => `- ${f.title}: ${f.note}`),
  '- Round trip in process: connect, request, challenge-response both ways, answer, close, from this process (no agent start).',
  '- Concurrent agents: `fence_virt -T` processes started at once; an agent that fails (the C daemon resets connections',
  '  its accept queue of 10 cannot hold) counts as not answered. Curve: charts/concurrency.svg.',
  '- Flood: junk connections from 8 other source addresses (random bytes and a half-close, a partial request held open,',
  '  nothing), sent by a child process, while this one asks one legitimate status at a time from 127.0.0.1.',
  '- Serial: unix sockets of the benchmark process stand in for qemu; the scan is from spawn until every guest, all asked',
  '  at once once their sockets are connected, has had an answer. Curves: charts/guests.svg, charts/guests-memory.svg.',
  '',
  '![ours/C per figure](charts/ratio.svg)',
  '',
]);
if (seconds > 300) process.stderr.write(`bench: took ${seconds.toFixed(0)} s, over the 5-minute budget\n`);
