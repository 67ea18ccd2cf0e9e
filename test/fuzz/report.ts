/** Markdown for the fuzzing and flood reports (stdout, and bench/results/ with --report). */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { REPO } from '../support/processes.js';
import { violations, type ListenerReport } from './campaign.js';

export interface RunInfo {
  command: string;
  seed: number;
  totalMs: number;
  /** environmentLine() taken when the run started (the bundle may be rebuilt meanwhile). */
  environment: string;
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export const ms = (x: number) => (Number.isNaN(x) ? 'n/a' : `${x.toFixed(1)} ms`);
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
const seconds = (x: number) => `${(x / 1000).toFixed(1)} s`;

/**
 * Date, Node, commit (noting uncommitted changes under src/), when the bundle was built and how busy
 * the machine was, for the head of a report: take it when the run starts.
 */
export function environmentLine(): string {
  let commit = 'unknown commit';
  try {
    const head = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    commit = `commit ${head}${dirty ? ' + uncommitted changes under src/' : ''}`;
  } catch {
    // Not a git checkout: the report says so.
  }
  let built = 'dist/fence_virtd missing';
  try {
    built = `dist/fence_virtd built ${statSync(`${REPO}dist/fence_virtd`).mtime.toISOString()}`;
  } catch {
    // Reported as missing.
  }
  // Timings depend on what else the machine runs: the 15-minute load average says how busy it was.
  const load = `load average ${loadavg()[2]?.toFixed(1)} over 15 min on ${cpus().length} CPUs`;
  return `${new Date().toISOString()}, Node ${process.version}, ${commit}, ${built}, ${load}.`;
}

export function fuzzReport(reports: readonly ListenerReport[], run: RunInfo): string[] {
  const broken = reports.flatMap((r) => violations(r).map((v) => `- ${r.listener}: ${v}`));
  const lines = [
    '# Fuzzing every listener',
    '',
    run.environment,
    `Seed ${run.seed}; \`${run.command}\`; ${seconds(run.totalMs)} in all.`,
    '',
    'Multicast, TCP and serial go to the built daemon (dist/fence_virtd) in a private network namespace, on',
    'the libvirt test driver (test/fixtures/fuzz/node.xml through libvirtd); vsock goes to the real vsock',
    'listener stack in the harness process over the loopback stand-in acceptor. Inputs: mutated signed',
    'requests (bit and byte changes, truncation, extension, fields changed after signing, every hash type,',
    'wrong keys, domain fields without a NUL or with control bytes, extreme field values), streams split at',
    'random points, serial streams of framed requests among garbage, random bytes. Legitimate requests are',
    'made throughout (probes); after each listener the daemon must be running, have fenced nothing',
    "(fencing audit lines) and every fixture domain must be in its start state (the daemon's host list).",
    '"Legit" inputs are intact, correctly signed and permitted: the daemon may execute them, and the generator',
    'gives them harmless operations only (a fencing one becomes status); every other input must be refused.',
    '"Answers checked": legit status requests with a fresh seqno, whose answer must be right.',
    '',
    'Kinds: the mutation of a signed request (intact: none; xor: bits or bytes flipped; field: a field changed',
    'after signing; splice: bytes overwritten; truncate; extend), ", wrong key" when it was signed with a wrong',
    'key, ", split" when written in pieces with pauses, ", held open" when less than a request was sent and the',
    "connection left open for the daemon's read deadline to end.",
    '',
    '| listener | inputs | legit (harmless) | answers checked | crashes | unintended actions | state changes | probes ok | probe median | RSS before → after | duration | inputs/s |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...reports.map(
      (r) =>
        `| ${r.listener} | ${r.inputs} | ${r.legit} | ${r.checkedAnswers} (${r.wrongAnswers.count} wrong) | ${r.crashed ? 'yes' : 0} | ${r.actions.count} | ` +
        `${r.stateChanges.count} | ${r.probes.sent - r.probes.failures.count}/${r.probes.sent} | ${ms(percentile(r.probes.latenciesMs, 50))} | ` +
        `${mb(r.rssBeforeKb)} → ${mb(r.rssAfterKb)} | ${seconds(r.durationMs)} | ${Math.round(r.inputs / (r.durationMs / 1000))} |`,
    ),
    '',
    'RSS: ' +
      [...new Set(reports.map((r) => `${r.listener === 'vsock' ? 'vsock' : 'multicast, tcp, serial'}: ${r.rssNote}`))].join('; ') +
      '.',
    '',
    broken.length ? `## Invariants broken (${broken.length})` : '## All invariants held',
    '',
    ...broken,
    ...(broken.length ? [''] : []),
  ];
  for (const r of reports) {
    lines.push(`### ${r.listener}`, '');
    lines.push(
      `${r.inputs} inputs, ${(r.bytes / 1024).toFixed(0)} KiB. By kind: ${[...r.kinds]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}.`,
    );
    if (r.datagramsDropped !== undefined) lines.push(`Datagrams dropped by the kernel before the daemon read them: ${r.datagramsDropped}.`);
    if (r.connectBacks) {
      lines.push(
        `Connect-backs to the trap: ${r.connectBacks.received} (${r.connectBacks.answered} answered) for ${r.connectBacks.asked} legit requests that asked for one.`,
      );
    }
    if (r.serialAnswers !== undefined)
      lines.push(`Answers to fuzzed frames (permission refusals, monitor, unknown codes): ${r.serialAnswers}.`);
    lines.push(`Probes: ${r.probes.sent}, p99 ${ms(percentile(r.probes.latenciesMs, 99))}.`);
    if (r.stalled.count) lines.push(`Stalled: ${r.stalled.count} (${r.stalled.examples.slice(0, 3).join('; ')}).`);
    if (r.errorLines.size) lines.push(`Error lines in the log: ${[...r.errorLines].map(([l, n]) => `${n} × \`${l}\``).join('; ')}.`);
    lines.push('');
  }
  return lines;
}
