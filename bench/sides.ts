/**
 * The two daemons of the side-by-side benchmark (bench/run.ts): the C fence_virtd and ours, started from
 * the same configuration text on the same kind of libvirt test-driver node (through libvirtd), and what
 * every figure needs from them: a TCP status in process, their memory, their stop.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuthKey } from '../src/auth/keyed-hash.js';
import { Hash, Request } from '../src/protocol/index.js';
import { configText } from '../test/support/daemon-config-text.js';
import { DaemonProcess } from '../test/support/daemon-process.js';
import { C_DAEMON, OUR_DAEMON_BUNDLE, procStatFields, procStatusNumber } from '../test/support/processes.js';
import { signedRequest, tcpExchange, type Outcome } from '../test/support/raw-client.js';
import { nodeXml, type TestDomain } from '../test/serial/node-xml.js';

export type Daemon = 'C' | 'ours';
export const DAEMONS: readonly Daemon[] = ['C', 'ours'];

export const KEY_BYTES = Buffer.from('benchmark key 0123456789abcdef');
export const KEY = new AuthKey(KEY_BYTES);

/** A directory for one benchmark's files: the key, node files, configurations, pid files. */
export class BenchDir {
  readonly keyFile: string;

  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
    this.keyFile = join(path, 'key');
    writeFileSync(this.keyFile, KEY_BYTES, { mode: 0o600 });
  }

  /** Writes a test-driver node and answers the URI that opens it through libvirtd. */
  node(name: string, domains: readonly TestDomain[]): string {
    const file = join(this.path, `${name}.xml`);
    writeFileSync(file, nodeXml(domains));
    return `test+unix://${file}`;
  }
}

/** n running domains vm-0000…, with `serial(i)` socket paths if given. */
export function domains(n: number, serial?: (i: number) => string): TestDomain[] {
  return Array.from({ length: n }, (_, i) => {
    const id = String(i).padStart(4, '0');
    return { name: `vm-${id}`, uuid: `be000000-0000-4000-8000-00000000${id}`, ...(serial ? { serial: [serial(i)] } : {}) };
  });
}

export function startDaemon(
  which: Daemon,
  dir: BenchDir,
  name: string,
  listeners: Record<string, Record<string, string>>,
  uri: string,
  args: readonly string[] = [],
  /**
   * stdbuf execs the C daemon (same PID) with line-buffered output, so its lines arrive when printed.
   * Without, it runs as installed: a start then does not pay stdbuf's own exec and preloaded library.
   */
  lineBuffered = true,
) {
  const conf = join(dir.path, `${name}.conf`);
  writeFileSync(conf, configText({ listeners, backendUri: uri }), { mode: 0o600 });
  const c = lineBuffered ? { command: 'stdbuf', args: ['-oL', '-eL', C_DAEMON.command] } : C_DAEMON;
  // Ours as the RPM installs it: node runs the loader, as the package's `#!/usr/bin/node` line does (the
  // development build's `#!/usr/bin/env node` adds an exec of env, about 2 ms of a start here).
  const bin = which === 'C' ? c : OUR_DAEMON_BUNDLE;
  // Both run with the environment systemd gives a service (PATH only), not this shell's: a variable such as
  // NODE_EXTRA_CA_CERTS, set on these machines, makes every Node process parse a CA bundle at start
  // (about 90 ms and 2 MB here), which the installed daemon never does.
  const env = { PATH: process.env.PATH };
  return DaemonProcess.start(bin.command, [...bin.args, ...args, '-F', '-f', conf, '-p', join(dir.path, `${name}.pid`)], env, false);
}

export function tcpListener(dir: BenchDir, port: number): Record<string, Record<string, string>> {
  return { tcp: { address: '127.0.0.1', port: String(port), key_file: dir.keyFile } };
}

/** One signed request over TCP and its answer, in this process (no agent process start). */
export function tcpAsk(port: number, request: number, domain: string, timeoutMs = 5_000): Promise<Outcome> {
  return tcpExchange(port, signedRequest({ request, domain }, KEY), KEY, Hash.SHA256, timeoutMs);
}

/** Status over TCP; throws unless the daemon answers `want`. */
export async function tcpStatus(port: number, domain: string, want = 0): Promise<void> {
  const o = await tcpAsk(port, Request.STATUS, domain);
  if (o.kind !== 'code' || o.code !== want) throw new Error(`status of ${domain} on port ${port}: ${JSON.stringify(o)}, not code ${want}`);
}

/**
 * RSS once a burst of work is over: read 1 s after the last answer, the same for both daemons, so
 * the figure is what the process keeps rather than what it holds while the last requests finish.
 */
export async function settledRssMb(pid: number): Promise<number> {
  await sleep(1_000);
  return rssMb(pid);
}

export function rssMb(pid: number): number {
  return (procStatusNumber(pid, 'VmRSS') ?? NaN) / 1024;
}

/**
 * CPU milliseconds the process has run so far, all its threads: the scheduler's own count in ns
 * (`/proc/PID/task/TID/schedstat`), not clock ticks, and what a shared machine's load inflates least.
 */
export function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended meanwhile: its share is not counted.
    }
  }
  return ns / 1e6;
}

/** Minor page faults the process has taken so far (`/proc/PID/stat` field 10): pages it mapped without disk I/O. */
export function minorFaults(pid: number): number {
  return Number(procStatFields(pid)[7]);
}

/**
 * CPU milliseconds all processors have run so far (user, nice, system, interrupts; not idle or waiting),
 * from /proc/stat's clock ticks: the whole machine's work during a figure, every process included.
 */
export function machineCpuMs(): number {
  const [user, nice, system, , , irq, softirq] = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string)
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  return ticksToMs((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0));
}

/** USER_HZ: the unit of the CPU times in /proc/stat and /proc/PID/stat, 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_S = 100;

/** Milliseconds in `ticks` of USER_HZ. */
export function ticksToMs(ticks: number): number {
  return ticks * (1000 / CLOCK_TICKS_PER_S);
}

/** Polls until `ready` answers true (errors count as not yet), failing with the daemon's output. */
export async function readyOrFail(daemon: DaemonProcess, what: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  await daemon.waitUntil(() => ready().catch(() => false), what, timeoutMs);
}
