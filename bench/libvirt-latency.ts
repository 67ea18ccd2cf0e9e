/**
 * Latency of our libvirt client over libvirtd's unix socket, next to virsh doing the same in the same run.
 * Targets: a status call (lookup + info) under 1 ms median; listing 1000 domains measured and compared.
 * Needs the shared libvirtd (scripts/setup-test-env.sh). Run: node --import tsx bench/libvirt-latency.ts
 * (writes bench/results/libvirt.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LibvirtBackend } from '../src/backends/libvirt/backend.js';
import { statesOneByOne } from '../src/libvirt/index.js';
import { silentLogger } from '../src/util/log.js';
import { publishReport } from './report.js';

const origin = { source: 'bench', seqno: 0 };

interface Stats {
  median: number;
  p90: number;
  n: number;
}

function stats(samplesMs: number[]): Stats {
  const s = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p90: at(0.9), n: s.length };
}

async function time(n: number, warmup: number, fn: () => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return stats(samples);
}

function virsh(uri: string, input: string | null, ...args: string[]): void {
  const r = spawnSync('virsh', ['-q', '-c', uri, ...args], { input: input ?? undefined, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`virsh ${args.join(' ')} failed: ${r.stderr}`);
}

/** One virsh process per command: process start, connect, open, command. */
async function virshPerProcess(uri: string, n: number, ...args: string[]): Promise<Stats> {
  return time(n, 1, async () => virsh(uri, null, ...args));
}

/** Many commands in one virsh session (one connection): the per-command cost of the C library. */
function virshSession(uri: string, n: number, command: string): Stats {
  const t0 = process.hrtime.bigint();
  virsh(uri, `${command}\n`.repeat(n));
  const single = Number(process.hrtime.bigint() - t0) / 1e6;
  const t1 = process.hrtime.bigint();
  virsh(uri, `${command}\n`);
  const overhead = Number(process.hrtime.bigint() - t1) / 1e6;
  return { median: Math.max(0, (single - overhead) / (n - 1)), p90: NaN, n };
}

function nodeXml(count: number): string {
  const domains = Array.from({ length: count }, (_, i) => {
    const id = String(i).padStart(4, '0');
    const runstate = i % 4 === 0 ? '<test:runstate>5</test:runstate>' : '';
    return `<domain type="test" xmlns:test="http://libvirt.org/schemas/domain/test/1.0"><name>vm-${id}</name><uuid>6a7e0003-0000-4000-8000-00000000${id}</uuid><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>${runstate}</domain>`;
  });
  return `<node>\n${domains.join('\n')}\n</node>\n`;
}

const fmt = (ms: number): string => (Number.isNaN(ms) ? '–' : ms < 10 ? ms.toFixed(3) : ms.toFixed(1));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'libvirt-bench-'));
  try {
    const small = join(dir, 'small.xml');
    const big = join(dir, 'big.xml');
    writeFileSync(small, nodeXml(8));
    writeFileSync(big, nodeXml(1000));
    const smallUri = `test://${small}`;
    const bigUri = `test://${big}`;
    // virsh reaches libvirtd only with an explicit transport; test:/// alone would run in-process.
    const viaDaemon = (path: string): string => `test+unix://${path}`;

    const rows: [string, Stats, Stats | null, Stats | null][] = [];

    const backend = await LibvirtBackend.open([smallUri], silentLogger);
    const [client] = backend.clients;
    const dom = await client!.lookupByName('vm-0001');
    const info = await time(5000, 500, () => client!.getInfo(dom));
    const status = await time(5000, 500, () => backend.status('vm-0001', origin));
    const statusUuid = await time(5000, 500, () => backend.status('6a7e0003-0000-4000-8000-000000000001', origin));
    await backend.close();
    rows.push(['one call (DOMAIN_GET_INFO), one round trip', info, null, null]);
    rows.push([
      'status by name (lookup + info) — virsh domstate',
      status,
      virshSession(viaDaemon(small), 2000, 'domstate vm-0001'),
      await virshPerProcess(viaDaemon(small), 30, 'domstate', 'vm-0001'),
    ]);
    rows.push(['status by UUID (lookup + info)', statusUuid, null, null]);

    const bigBackend = await LibvirtBackend.open([bigUri], silentLogger);
    const [bigClient] = bigBackend.clients;
    const list = await time(200, 20, () => bigClient!.listAllDomains());
    const hostList = await time(100, 10, () => bigBackend.hostList(origin));
    // What the host list asked before it used one domain-statistics call (now its fallback): the list, then each state.
    const oneByOne = await time(100, 10, async () => statesOneByOne(bigClient!, await bigClient!.listAllDomains()));
    if ((await bigBackend.hostList(origin)).hosts.length !== 1000) throw new Error('expected 1000 domains');
    await bigBackend.close();
    rows.push([
      'list 1000 domains (CONNECT_LIST_ALL_DOMAINS) — virsh list --all --name',
      list,
      virshSession(viaDaemon(big), 50, 'list --all --name'),
      null,
    ]);
    rows.push([
      'host list of 1000 domains, as the backend asks it (one CONNECT_GET_ALL_DOMAIN_STATS, state group) — virsh domstats --state',
      hostList,
      virshSession(viaDaemon(big), 50, 'domstats --state'),
      null,
    ]);
    rows.push([
      'host list of 1000 domains, one state at a time (list + 1000 × info, 32 under way) — virsh list --all',
      oneByOne,
      virshSession(viaDaemon(big), 50, 'list --all'),
      await virshPerProcess(viaDaemon(big), 10, 'list', '--all'),
    ]);

    const libvirtVersion = spawnSync('libvirtd', ['--version'], { encoding: 'utf8' }).stdout.trim();
    const lines = [
      '# libvirt client latency',
      '',
      `Run ${new Date().toISOString()} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), Node ${process.version}, ${libvirtVersion},`,
      'test driver through the shared libvirtd over /run/libvirt/libvirt-sock. Times in milliseconds.',
      '',
      '| operation | ours: median | ours: p90 | virsh, one session: per command | virsh, one process per command: median |',
      '|---|---|---|---|---|',
      ...rows.map(
        ([what, ours, session, perProcess]) =>
          `| ${what} | ${fmt(ours.median)} | ${fmt(ours.p90)} | ${session ? fmt(session.median) : '–'} | ${perProcess ? fmt(perProcess.median) : '–'} |`,
      ),
      '',
      `Target: status under 1 ms median — ${status.median < 1 ? 'met' : 'NOT met'} (${fmt(status.median)} ms).`,
      '',
      'Notes:',
      '- "ours" is the backend/client of this repository on one persistent connection (samples: 5000 for single calls, 100–200 for lists).',
      '- "virsh, one session" pipes N identical commands into one virsh (one connection) and divides the time beyond a',
      '  one-command session by N − 1: the per-command cost of the C library plus virsh printing.',
      '- "virsh, one process per command" is what a script calling virsh pays: process start, connect, auth, open',
      '  (the test driver parses the node XML on every open: large for 1000 domains), the command.',
      '- virsh list --all issues a domain-state call per domain, as the host list did before it asked all states in one',
      '  domain-statistics call (the fallback where libvirtd or its driver lacks that call); --name only lists.',
      '',
    ];
    publishReport('libvirt', lines);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
