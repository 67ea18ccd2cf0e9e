/**
 * Our fence_virtd as it is installed (the dist/fence_virtd bundle) in a process of its own, so the
 * attacks meet the same event loop, descriptor table and log output as in production. Started in the
 * foreground from a config text and a key in a temporary directory; serving once it holds its ports
 * (read from /proc, no traffic sent); stopped by its PID.
 *
 *   const daemon = await OurDaemon.start({
 *     key, config: ({ keyFile }) => configText({...}), ready: [{ protocol: 'tcp', port: 31001 }],
 *   });
 *   try { ... await daemon.waitForLog(/reflect/i); } finally { await daemon.stop(); }
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { holdsPort } from '../../src/util/port-owner.js';
import { fdTargets } from '../../src/util/proc-fds.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { OUR_DAEMON_BUNDLE } from '../support/processes.js';

export interface DaemonFiles {
  dir: string;
  keyFile: string;
}

export interface OurDaemonOptions {
  key: Buffer;
  config: (files: DaemonFiles) => string;
  /** Sockets the daemon must hold before it counts as serving. */
  ready: ReadonlyArray<{ protocol: 'tcp' | 'udp'; port: number }>;
  /** More arguments, e.g. ['-d', '2'] for info lines. */
  args?: readonly string[];
}

/** FENCE_VIRTD_BUNDLE runs the attacks against another build, e.g. one from before the hardening. */
const BUNDLE = process.env.FENCE_VIRTD_BUNDLE || (OUR_DAEMON_BUNDLE.args[0] as string);

export class OurDaemon {
  private constructor(
    private readonly process: DaemonProcess,
    readonly files: DaemonFiles,
  ) {}

  static async start(options: OurDaemonOptions): Promise<OurDaemon> {
    if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build first`);
    const dir = await mkdtemp(join(tmpdir(), 'fvd-attack-'));
    const files = { dir, keyFile: join(dir, 'fence_xvm.key') };
    const configFile = join(dir, 'fence_virt.conf');
    try {
      await writeFile(files.keyFile, options.key, { mode: 0o600 });
      await writeFile(configFile, options.config(files), { mode: 0o600 });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const args = [BUNDLE, '-F', '-f', configFile, '-p', join(dir, 'fence_virtd.pid'), ...(options.args ?? [])];
    const daemon = new OurDaemon(DaemonProcess.start(OUR_DAEMON_BUNDLE.command, args), files);
    try {
      await daemon.process.waitUntil(
        () => options.ready.every(({ protocol, port }) => holdsPort(daemon.pid, protocol, port)),
        `holding ${options.ready.map((r) => `${r.protocol}/${r.port}`).join(', ')}`,
        20_000,
      );
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return daemon;
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Everything the daemon wrote (stdout and stderr). */
  output(): string {
    return this.process.output();
  }

  /** Its output lines (a line is what ends in "\n": the only line break a log reader honours). */
  lines(): string[] {
    return this.output().split('\n');
  }

  /** How many lines the daemon has written so far: a mark for `waitForLog`. */
  get lineCount(): number {
    return this.lines().length - 1;
  }

  /**
   * Waits for a line matching `pattern`, among the lines written after the mark `since` (default: any).
   * Refusals are logged after the peer has seen the close, so the line may come a moment later.
   */
  waitForLog(pattern: RegExp, since = 0, timeoutMs = 5_000): Promise<void> {
    return this.process.waitUntil(
      () =>
        this.lines()
          .slice(since)
          .some((l) => pattern.test(l)),
      `a log line matching ${pattern}`,
      timeoutMs,
    );
  }

  /** How many descriptors the daemon holds now. */
  fdCount(): number {
    return fdTargets(this.pid).size;
  }

  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  async stop(): Promise<void> {
    await this.process.stop();
    await rm(this.files.dir, { recursive: true, force: true });
  }
}

/**
 * Samples a process's descriptor count every 10 ms while `during` runs; resolves with the highest
 * count seen. /proc is the only view of a daemon's descriptors from outside it.
 */
export async function peakFdCount(count: () => number, during: () => Promise<void>): Promise<number> {
  let peak = count();
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, count());
      await sleep(10);
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await sampler;
  }
  return Math.max(peak, count());
}
