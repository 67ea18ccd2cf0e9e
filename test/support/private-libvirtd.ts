/**
 * A libvirtd of the test's own, so tests can kill, stop and restart it without disturbing the shared one.
 * It runs in a private mount namespace with a tmpfs on /run/libvirt (its drivers' pid-file locks would
 * otherwise collide with the shared daemon's) and puts its sockets in a temp dir visible to the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { needsRoot, needsTools } from './requirement.js';
import { killChild } from './processes.js';

export interface PrivateLibvirtdOptions {
  /** libvirtd.conf settings on top of (or replacing) the defaults below, e.g. { keepalive_interval: 1 }. */
  config?: Record<string, string | number>;
}

export class PrivateLibvirtd {
  readonly dir = mkdtempSync(join(tmpdir(), 'libvirtd-'));
  readonly socketPath = join(this.dir, 'sock', 'libvirt-sock');
  private child: ChildProcess | null = null;

  private constructor(options: PrivateLibvirtdOptions) {
    mkdirSync(join(this.dir, 'sock'));
    const settings = { unix_sock_dir: join(this.dir, 'sock'), auth_unix_rw: 'none', auth_unix_ro: 'none', ...options.config };
    const conf = Object.entries(settings).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : JSON.stringify(v)}`);
    writeFileSync(join(this.dir, 'libvirtd.conf'), `${conf.join('\n')}\n`);
  }

  /** Why this machine cannot run one (not root, libvirtd or unshare missing), or undefined (see requirement.ts). */
  static unavailable(): string | undefined {
    return needsRoot('starting a private libvirtd (mount namespace)') ?? needsTools('libvirtd', 'unshare');
  }

  static async start(options: PrivateLibvirtdOptions = {}): Promise<PrivateLibvirtd> {
    const daemon = new PrivateLibvirtd(options);
    try {
      await daemon.launch();
    } catch (err) {
      await daemon.cleanup();
      throw err;
    }
    return daemon;
  }

  /** A test+unix URI for a test-driver path ('/default' or an absolute node XML path) on this daemon. */
  uri(path: string): string {
    return `test+unix://${path}?socket=${this.socketPath}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts libvirtd (again) and waits until it serves a test-driver connection. */
  async launch(): Promise<void> {
    if (this.child) throw new Error('private libvirtd already running');
    const log = openSync(join(this.dir, 'libvirtd.log'), 'a');
    const conf = join(this.dir, 'libvirtd.conf');
    const script = `mount -t tmpfs tmpfs /run/libvirt && exec libvirtd --config '${conf}' --pid-file '${join(this.dir, 'pid')}'`;
    const child = spawn('unshare', ['-m', 'sh', '-c', script], { stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    let exited = false;
    child.once('exit', () => {
      exited = true;
      if (this.child === child) this.child = null;
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`private libvirtd exited during start-up:\n${this.logTail()}`);
      try {
        const probe = await LibvirtClient.open({ uri: this.uri('/default'), connectTimeoutMs: 2_000, keepaliveIntervalMs: 0 });
        await probe.close();
        return;
      } catch {
        await sleep(50);
      }
    }
    await this.kill();
    throw new Error(`private libvirtd did not start within 20 s:\n${this.logTail()}`);
  }

  /** Sends a signal to the daemon (SIGSTOP / SIGCONT to hang and resume it). */
  signal(signal: NodeJS.Signals): void {
    if (!this.child) throw new Error('private libvirtd is not running');
    this.child.kill(signal);
  }

  /** Kills the daemon by its PID and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child) await killChild(this.child, signal);
  }

  async cleanup(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private logTail(): string {
    try {
      return readFileSync(join(this.dir, 'libvirtd.log'), 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
