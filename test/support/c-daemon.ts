/**
 * The real C fence_virtd (the reference implementation) for tests: started in the foreground from a
 * config text and a key file in its own directory, waited for until it serves, stopped by its PID.
 *
 *   const daemon = await startCDaemon({
 *     config: ({ keyFile }) => `fence_virtd { listener = "tcp"; backend = "libvirt"; } ...key_file = "${keyFile}"...`,
 *     ready: { listening: { protocol: 'tcp', port: 27001 } },
 *   });
 *   try { ... } finally { await daemon.stop(); }
 *
 * Readiness, whichever fits the listener: a socket the daemon has bound (read from /proc, no traffic
 * sent), a line of its output (e.g. `Registered <uuid> on` of the serial listener with args
 * ['-d', '5']), or any probe. Its output (stdout and stderr, line-buffered through stdbuf) is kept
 * for failure messages.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdsPort } from '../../src/util/port-owner.js';
import { DaemonProcess } from './daemon-process.js';
import { needsTools } from './requirement.js';

export const C_FENCE_VIRTD = '/usr/sbin/fence_virtd';

export interface CDaemonFiles {
  dir: string;
  keyFile: string;
}

export type ReadySignal =
  /** The daemon has a TCP socket listening, or a UDP socket bound, at this port (IPv4 or IPv6). */
  | { listening: { protocol: 'tcp' | 'udp'; port: number } }
  /** Its output matches (debug lines need args such as ['-d', '5']). */
  | { output: RegExp }
  | { probe: () => Promise<boolean> };

export interface CDaemonOptions {
  /** fence_virt.conf text, or a function of the daemon's files that makes it. */
  config: string | ((files: CDaemonFiles) => string);
  ready: ReadySignal;
  /** Contents of the key file (default: 32 random bytes). The daemon requires the file for every listener. */
  key?: Buffer | string;
  /** A directory the caller owns (kept at stop); default: a new temporary one, removed at stop. */
  dir?: string;
  /** More fence_virtd arguments, e.g. ['-d', '5']. */
  args?: readonly string[];
  readyTimeoutMs?: number;
}

/** Why the C daemon cannot run here, for a test's skip message (see requirement.ts); undefined if it can. */
export function cDaemonMissing(): string | undefined {
  return needsTools(C_FENCE_VIRTD);
}

export class CDaemon {
  private readonly process: DaemonProcess;

  constructor(
    readonly files: CDaemonFiles & { configFile: string; pidFile: string },
    args: readonly string[],
    private readonly ownsDir: boolean,
  ) {
    // stdbuf execs the daemon (same PID) with line-buffered output, so lines arrive when printed.
    this.process = DaemonProcess.start('stdbuf', ['-oL', '-eL', C_FENCE_VIRTD, '-F', '-f', files.configFile, '-p', files.pidFile, ...args]);
  }

  get pid(): number {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.running;
  }

  output(): string {
    return this.process.output();
  }

  waitReady(signal: ReadySignal, timeoutMs: number): Promise<void> {
    const what = JSON.stringify(signal, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v));
    return this.process.waitUntil(() => this.isReady(signal), what, timeoutMs);
  }

  private async isReady(signal: ReadySignal): Promise<boolean> {
    if ('output' in signal) return signal.output.test(this.output());
    if ('probe' in signal) return signal.probe();
    // A daemon that is gone holds nothing: its exit shows up on the next round.
    return holdsPort(this.pid, signal.listening.protocol, signal.listening.port);
  }

  /** Stops the daemon by its PID (it removes its pid file), then removes its directory if it owns it. */
  async stop(): Promise<void> {
    await this.process.stop();
    if (this.ownsDir) await rm(this.files.dir, { recursive: true, force: true });
  }
}

export async function startCDaemon(options: CDaemonOptions): Promise<CDaemon> {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'c-fence-virtd-')));
  const files = {
    dir,
    keyFile: join(dir, 'fence_xvm.key'),
    configFile: join(dir, 'fence_virt.conf'),
    pidFile: join(dir, 'fence_virtd.pid'),
  };
  try {
    await writeFile(files.keyFile, options.key ?? randomBytes(32), { mode: 0o600 });
    const config = typeof options.config === 'string' ? options.config : options.config(files);
    await writeFile(files.configFile, config, { mode: 0o600 });
  } catch (err) {
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const daemon = new CDaemon(files, options.args ?? [], ownsDir);
  try {
    await daemon.waitReady(options.ready, options.readyTimeoutMs ?? 20_000);
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return daemon;
}
