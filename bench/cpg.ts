/**
 * The cpg backend on a corosync cluster of three hosts in network namespaces (the test bed of
 * test/support/corosync-cluster.ts), our daemon on each host over its own libvirt test node:
 *  1. status round trip from an agent on host 1: a VM on host 3 (forwarded over CPG), a VM on host 1
 *     through the cpg backend, and the same VM through a libvirt-backend daemon on host 1 (the local
 *     figure), all in this run, taken in turn round after round: by our fence_virt code inside one
 *     process (test/support/cpg-status-client.ts, no process start in the figure) and by the C
 *     fence_virt as a process;
 *  2. the time from an owner host's death (its corosync, or its daemon, killed by PID) until an `off`
 *     for its VM, sent at once from host 1, gets its failure answer.
 * Every answer is checked (status 0 for running VMs, 1 for the dead owner's VM) before its time counts.
 * Writes bench/results/cpg.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CorosyncCluster, type CorosyncHost } from '../test/support/corosync-cluster.js';
import { configText } from '../test/support/daemon-config-text.js';
import { DaemonProcess } from '../test/support/daemon-process.js';
import { OUR_DAEMON_BUNDLE, waitUntil } from '../test/support/processes.js';
import { nodeXml } from '../test/serial/node-xml.js';
import { publishReport } from './report.js';

const ROUNDS = 200;
const AGENT_ROUNDS = 30;
const DEATHS = 5;
const TOKEN_MS = 1000;
const CPG_PORT = '1229';
const LOCAL_PORT = '1230';
const AGENT = '/usr/sbin/fence_virt';
const CLIENT = fileURLToPath(new URL('../test/support/cpg-status-client.ts', import.meta.url));
const AGENT_TIMEOUT_S = 30;
/** One running VM per host, host N's at index N - 1. */
const VMS = [
  { name: 'alpha', uuid: '6a7e0004-0000-4000-8000-0000000e0101' },
  { name: 'bravo', uuid: '6a7e0004-0000-4000-8000-0000000e0201' },
  { name: 'charlie', uuid: '6a7e0004-0000-4000-8000-0000000e0301' },
] as const;
const [ALPHA, , CHARLIE] = VMS;

const dir = mkdtempSync(join(tmpdir(), 'fvd-bench-cpg-'));
const keyFile = join(dir, 'key');
writeFileSync(keyFile, 'cpg benchmark key\n', { mode: 0o600 });

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const median = (xs: number[]): number => sorted(xs)[Math.floor(xs.length / 2)] as number;
const p95 = (xs: number[]): number => sorted(xs)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)] as number;
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
const version = (command: string, args: string[]): string =>
  execFileSync(command, args, { encoding: 'utf8' }).split('\n')[0]?.trim() ?? '?';

let cluster: CorosyncCluster | undefined;
const daemons = new Map<string, DaemonProcess>();

/** The C fence_virt inside `host`, asking the daemon on `port` at that host's address; its exit code and time. */
async function agent(host: CorosyncHost, port: string, action: string, vm: string): Promise<{ code: number | null; ms: number }> {
  const args = ['-T', host.address, '-p', port, '-k', keyFile, '-t', String(AGENT_TIMEOUT_S), '-o', action, '-H', vm];
  const started = performance.now();
  const result = await host.exec(AGENT, args, { timeoutMs: (AGENT_TIMEOUT_S + 10) * 1000 });
  return { code: result.code, ms: performance.now() - started };
}

/** `action` on `vm` must answer `expected`; the benchmark stops on any other answer. */
async function expectAnswer(host: CorosyncHost, port: string, action: string, vm: string, expected: number): Promise<number> {
  const { code, ms } = await agent(host, port, action, vm);
  if (code !== expected) throw new Error(`${action} ${vm} via host ${host.nodeId}:${port} answered ${code}, expected ${expected}`);
  return ms;
}

function startDaemon(host: CorosyncHost, backend: 'cpg' | 'libvirt'): DaemonProcess {
  const port = backend === 'cpg' ? CPG_PORT : LOCAL_PORT;
  const name = `${backend}-${host.nodeId}`;
  const file = join(dir, `${name}.conf`);
  const listeners = { tcp: { address: host.address, port, key_file: keyFile } };
  const backendUri = `test+unix://${join(dir, `host${host.nodeId}.xml`)}`;
  writeFileSync(file, configText({ listeners, backend, backendUri, backendKeys: backend === 'cpg' ? { name_mode: 'name' } : {} }), {
    mode: 0o600,
  });
  const [command, args] = host.wrap(process.execPath, [...OUR_DAEMON_BUNDLE.args, '-F', '-f', file, '-p', join(dir, `${name}.pid`)]);
  const daemon = DaemonProcess.start(command, args);
  daemons.set(name, daemon);
  return daemon;
}

/** Host 1 answers status 0 for every VM: all daemons are in the group and know each other's VMs. */
async function clusterServing(c: CorosyncCluster): Promise<void> {
  for (const { name } of VMS) {
    await waitUntil(async () => (await agent(c.host(1), CPG_PORT, 'status', name)).code === 0, `host 1 serving ${name}`, 60_000);
  }
}

interface Target {
  label: string;
  port: string;
  vm: string;
}

/** Status of every target from inside `host`, in turn, round after round: per label, in-process and C agent times. */
async function roundTrips(host: CorosyncHost, targets: Target[]): Promise<Map<string, { inProcess: number[]; agent: number[] }>> {
  const spec = { rounds: ROUNDS, key: keyFile, targets: targets.map((t) => ({ ...t, address: host.address, expected: 0 })) };
  const run = await host.exec(process.execPath, ['--import', 'tsx', CLIENT, JSON.stringify(spec)], { timeoutMs: 600_000 });
  if (run.code !== 0) throw new Error(`the status client failed: ${run.stderr}`);
  const inProcess = JSON.parse(run.stdout) as Record<string, number[]>;
  const result = new Map(targets.map((t) => [t.label, { inProcess: inProcess[t.label] ?? [], agent: [] as number[] }]));
  for (let i = 0; i < AGENT_ROUNDS; i++) {
    for (const t of targets) result.get(t.label)?.agent.push(await expectAnswer(host, t.port, 'status', t.vm, 0));
  }
  return result;
}

/** Kills host 3's owner side `DEATHS` times; each time, how long an `off` for its VM sent at once took to fail. */
async function deaths(c: CorosyncCluster, what: 'corosync' | 'daemon'): Promise<number[]> {
  const host3 = c.host(3);
  const times: number[] = [];
  for (let i = 0; i < DEATHS; i++) {
    if (what === 'corosync') await host3.kill('SIGKILL');
    else await killDaemon(3);
    times.push(await expectAnswer(c.host(1), CPG_PORT, 'off', CHARLIE.name, 1));
    if (what === 'corosync') {
      await host3.start();
      await host3.waitForQuorum(true, 60_000);
    } else {
      await startDaemon(host3, 'cpg').waitForOutput(/serving with backend cpg/);
    }
    await clusterServing(c);
  }
  return times;
}

async function killDaemon(nodeId: number): Promise<void> {
  const daemon = daemons.get(`cpg-${nodeId}`) as DaemonProcess;
  process.kill(daemon.pid, 'SIGKILL');
  await daemon.stop(); // waits for the exit of the killed process
}

const rows: string[] = [];
const deathRows: string[] = [];
let agentAlone = 0;
try {
  cluster = await CorosyncCluster.start({ tokenMs: TOKEN_MS });
  for (const host of cluster.hosts) {
    writeFileSync(join(dir, `host${host.nodeId}.xml`), nodeXml(VMS.filter((_, i) => i === host.nodeId - 1)));
    startDaemon(host, 'cpg');
  }
  startDaemon(cluster.host(1), 'libvirt');
  for (const d of daemons.values()) await d.waitForOutput(/serving with backend/);
  await clusterServing(cluster);
  const host1 = cluster.host(1);
  await expectAnswer(host1, LOCAL_PORT, 'status', ALPHA.name, 0);

  const figures = await roundTrips(host1, [
    { label: 'libvirt backend, VM on host 1 (the local figure)', port: LOCAL_PORT, vm: ALPHA.name },
    { label: 'cpg backend, VM on host 1 (this host)', port: CPG_PORT, vm: ALPHA.name },
    { label: 'cpg backend, VM on host 3 (forwarded over CPG)', port: CPG_PORT, vm: CHARLIE.name },
  ]);
  for (const [label, { inProcess, agent: byAgent }] of figures) {
    rows.push(`| ${label} | ${fmt(median(inProcess))} | ${fmt(p95(inProcess))} | ${fmt(median(byAgent))} | ${fmt(p95(byAgent))} |`);
  }
  const alone: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    await host1.exec(AGENT, ['-V']);
    alone.push(performance.now() - started);
  }
  agentAlone = median(alone);

  for (const what of ['daemon', 'corosync'] as const) {
    const times = await deaths(cluster, what);
    deathRows.push(`| host 3's ${what} killed (SIGKILL) | ${fmt(median(times))} | ${fmt(p95(times))} | ${fmt(Math.max(...times))} |`);
  }
} finally {
  await Promise.all([...daemons.values()].map((d) => d.stop()));
  await cluster?.cleanup();
  rmSync(dir, { recursive: true, force: true });
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
publishReport('cpg', [
  '# cpg backend: forwarding and owner death',
  '',
  `${new Date().toISOString()}. ${cpus().length} × ${cpu}, Linux ${release()}; Node ${process.version};`,
  `${version('libvirtd', ['--version'])}; ${version('corosync', ['-v'])} (knet, token ${TOKEN_MS} ms).`,
  'Three corosync hosts in network namespaces on this one machine (a bridge between them, no real network);',
  'one daemon per host over its own libvirt test-driver node, served by the shared libvirtd.',
  '',
  '## Status round trip from host 1 (`fence_virt -T` to a daemon on host 1)',
  '',
  `In process: our fence_virt code, ${ROUNDS} rounds, no process start. C agent: \`/usr/sbin/fence_virt\` started`,
  `inside host 1's namespace (\`ip netns exec\`), ${AGENT_ROUNDS} rounds; that start alone (\`fence_virt -V\`): ${fmt(agentAlone)}.`,
  'The three requests take turns in every round. Every answer was checked (0: running).',
  '',
  '| request | in process: median | p95 | C agent: median | p95 |',
  '|---|---|---|---|---|',
  ...rows,
  '',
  `## From an owner host's death to the failure answer (${DEATHS} times each)`,
  '',
  "Host 3's corosync or daemon is killed by its PID, then host 1 is asked at once to `off` host 3's VM;",
  'the time is from the killed process having exited to the answer, which was 1 (failure) every time; host 3 is',
  'restored between rounds.',
  '',
  '| owner death | median | p95 | slowest |',
  '|---|---|---|---|',
  ...deathRows,
  '',
  "A killed daemon's corosync tells the group at once that the process is gone. A killed corosync is noticed",
  `by the others after the totem token timeout (${TOKEN_MS} ms here; corosync's default is 3000 ms, plus 650 ms per`,
  'node beyond two), so on a default cluster expect that many seconds more. Both stay below the 20 s',
  'forwarding deadline, which bounds the answer when an owner is alive but silent.',
  '',
]);
