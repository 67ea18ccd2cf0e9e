/**
 * A daemon started by a test (the C fence_virtd or ours): its combined output, waits that fail at once
 * when it exits early, and a stop by its own PID (SIGTERM, then SIGKILL if it hangs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export class DaemonProcess {
  private text = '';
  private ended: string | undefined;
  /** The exit status once it exited (null when a signal ended it). */
  exitCode: number | null | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    const append = (chunk: Buffer): void => {
      this.text += chunk.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.ended = `exited (${code ?? signal})`;
        this.exitCode = code;
        resolve();
      });
      child.once('error', (err) => {
        this.ended = `failed: ${err.message}`;
        resolve();
      });
    });
  }

  /** `env` is added to the test's own environment, or is the whole environment when `inherit` is false. */
  static start(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, inherit = true): DaemonProcess {
    const full = inherit ? { ...process.env, ...env } : env;
    return new DaemonProcess(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: full }));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.ended === undefined;
  }

  output(): string {
    return this.text;
  }

  /** Polls `ready` until it holds; fails at once, with the output, if the daemon exits first. */
  async waitUntil(ready: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await ready())) {
      const why = this.ended ?? (Date.now() > deadline && `did not get ready (${what}) within ${timeoutMs} ms`);
      if (why) throw new Error(`${this.child.spawnfile} ${why}; output:\n${this.text.slice(-4000)}`);
      await sleep(50);
    }
  }

  /** Waits until the output matches. */
  waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    return this.waitUntil(() => pattern.test(this.text), `output ${pattern}`, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM');
      // The fallback timer is cancelled once the daemon exits, so it never keeps the test process alive.
      const timer = new AbortController();
      const done = await Promise.race([this.exited.then(() => true), sleep(10_000, false, { signal: timer.signal }).catch(() => false)]);
      timer.abort();
      if (!done) this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}
