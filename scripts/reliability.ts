/**
 * `npm run reliability`: runs the fault cases and the soak (test/reliability, 100,000 soak requests
 * unless FVD_SOAK_REQUESTS says otherwise) against the built daemon, inside the test namespace of
 * scripts/run-tests.sh, and writes bench/results/reliability.md from what each case recorded: faults
 * injected, requests made, wrong answers, false successes, crashes, recovery time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESULTS_ENV, type CaseRecord } from '../test/reliability/case-record.js';
import { REPO } from '../test/support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'fvd-reliability-run-'));
const results = join(dir, 'records.jsonl');
const files = readdirSync(join(REPO, 'test/reliability'))
  .filter((f) => f.endsWith('.test.ts'))
  .sort()
  .map((f) => `test/reliability/${f}`);

const build = spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// The machine may be shared: the report states its load rather than assuming it was quiet.
const load = () =>
  loadavg()
    .map((n) => n.toFixed(1))
    .join(', ');
const loadAtStart = load();
const run = spawnSync('bash', ['scripts/run-tests.sh', ...files], {
  cwd: REPO,
  stdio: 'inherit',
  env: { ...process.env, [RESULTS_ENV]: results, FVD_SOAK_REQUESTS: process.env.FVD_SOAK_REQUESTS ?? '100000' },
});

const loadAtEnd = load();

let records: CaseRecord[] = [];
try {
  records = readFileSync(results, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as CaseRecord);
} catch {
  // No case recorded anything: the table says so below.
}
rmSync(dir, { recursive: true, force: true });

const sum = (key: 'faults' | 'requests' | 'wrong' | 'falseSuccesses' | 'crashes') => records.reduce((n, r) => n + r[key], 0);
const rows = records.map(
  (r) =>
    `| ${r.name} | ${r.faults} | ${r.requests} | ${r.wrong} | ${r.falseSuccesses} | ${r.crashes} | ` +
    `${r.recoveryMs === null ? '–' : `${r.recoveryMs} ms`} | ${r.notes ?? ''} |`,
);
const report = [
  '# Reliability',
  '',
  `\`npm run reliability\` on ${new Date().toISOString().slice(0, 10)} (Node ${process.version}): the fault cases and the soak of`,
  '`test/reliability` against the built daemon (`dist/fence_virtd`), with real libvirtd (a private one that',
  'the tests kill, stop and restart by its PID), real sockets and the test driver. A wrong answer is one that',
  'does not match the state the driver is in; a false success is success answered for an action that did not',
  'happen. Crashes count daemon exits nobody asked for. Recovery: from the end of the fault to the first',
  'correct answer (for SIGTERM cases: the time to exit).',
  '',
  `Test run: ${run.status === 0 ? 'all cases passed' : `FAILED (exit status ${run.status ?? run.signal})`}.`,
  '',
  `Load average (1, 5, 15 min) on ${availableParallelism()} cores: ${loadAtStart} at the start, ${loadAtEnd} at the end.`,
  '',
  '| case | faults | requests | wrong | false successes | crashes | recovery | notes |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
  `| **total** | ${sum('faults')} | ${sum('requests')} | ${sum('wrong')} | ${sum('falseSuccesses')} | ${sum('crashes')} | | |`,
  '',
];
writeFileSync(join(REPO, 'bench/results/reliability.md'), report.join('\n'));
process.stdout.write(`wrote bench/results/reliability.md (${records.length} cases)\n`);
process.exit(run.status ?? 1);
