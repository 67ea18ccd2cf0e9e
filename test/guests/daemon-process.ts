/**
 * A host daemon started by a guest test (the C fence_virtd now, ours later): its combined output, a
 * wait for a line that says it is ready, and a stop by its own PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';

export class DaemonProcess {
  private text = '';
  private ended: string | undefined;
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
        resolve();
      });
      child.once('error', (err) => {
        this.ended = `failed: ${err.message}`;
        resolve();
      });
    });
  }

  static start(command: string, args: readonly string[]): DaemonProcess {
    return new DaemonProcess(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  output(): string {
    return this.text;
  }

  /** Waits until the output matches; fails at once if the daemon exits first. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.text)) {
      const why = this.ended ?? (Date.now() > deadline && `did not print ${pattern} within ${timeoutMs} ms`);
      if (why) throw new Error(`${this.child.spawnfile} ${why}; output:\n${this.text.slice(-4000)}`);
      await delay(50);
    }
  }

  /** SIGTERM to this daemon's PID only, then waits for it to exit. */
  async stop(): Promise<void> {
    if (this.ended === undefined) this.child.kill('SIGTERM');
    await this.exited;
  }
}
