/**
 * The service manager's side channel (sd_notify(3)): with `Type=notify` systemd learns from these
 * datagrams when the daemon serves (READY=1), what it is doing (STATUS=), that it reloads or stops,
 * and, with `WatchdogSec=`, that its event loop still turns (WATCHDOG=1). Without $NOTIFY_SOCKET there
 * is nobody to tell and nothing is sent.
 *
 * Datagrams leave from this process (not a helper program), so systemd attributes them to the main PID
 * (`NotifyAccess=main`). A send never blocks the loop: when systemd's queue is full the message waits
 * and is retried, in order.
 */
import { sendUnixDatagram, unixSocketAddress } from '../native/unix-datagram.js';
import type { Logger } from '../util/log.js';

const RETRY_MS = 100;
/** How often the status line is refreshed at most: a modest rate, not per request. */
export const STATUS_INTERVAL_MS = 5_000;

export class SystemdNotifier {
  private readonly queue: string[] = [];
  private statusTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private lastStatus = '';
  private statusOf: (() => string) | undefined;
  private reloadUnderWay = false;
  private failed = false;

  private constructor(
    private readonly address: Buffer,
    private readonly log: Logger,
  ) {}

  /** A notifier when the service manager asked for notifications ($NOTIFY_SOCKET), else undefined. */
  static fromEnvironment(env: NodeJS.ProcessEnv, log: Logger): SystemdNotifier | undefined {
    const socket = env.NOTIFY_SOCKET;
    if (!socket || !(socket.startsWith('/') || socket.startsWith('@'))) return undefined;
    return new SystemdNotifier(unixSocketAddress(socket), log);
  }

  /** Every listener serves: `systemctl start` returns now. The status line is refreshed from then on. */
  ready(status: () => string): void {
    this.statusOf = status;
    this.send(`READY=1\nSTATUS=${this.statusText(status)}`);
    this.statusTimer = setInterval(() => {
      const before = this.lastStatus;
      const text = this.statusText(status);
      if (text !== before) this.send(`STATUS=${text}`);
    }, STATUS_INTERVAL_MS).unref();
  }

  /**
   * Before READY=1, a log line saying what holds the start up (a backend or listener being retried
   * with -w) becomes the status line, so `systemctl status` shows why the start has not finished.
   */
  startupProblem(line: string): void {
    if (!this.statusOf) this.send(`STATUS=${this.statusText(() => line.trimEnd())}`);
  }

  /**
   * SIGHUP: reloading until reloaded(). MONOTONIC_USEC lets newer systemd match it to the reload it
   * asked for. Before ready() there is nothing to report: systemd still waits for the start.
   */
  reloading(): void {
    if (!this.statusOf) return;
    this.reloadUnderWay = true;
    this.send(`RELOADING=1\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`);
  }

  reloaded(): void {
    if (!this.reloadUnderWay || !this.statusOf) return;
    this.reloadUnderWay = false;
    this.send(`READY=1\nSTATUS=${this.statusText(this.statusOf)}`);
  }

  stopping(): void {
    this.stop();
    this.send('STOPPING=1');
  }

  /**
   * Pings at half of $WATCHDOG_USEC when systemd asked for them for this process. The pings come from a
   * timer on the event loop, so a loop that no longer turns stops them and systemd restarts the daemon.
   */
  startWatchdog(env: NodeJS.ProcessEnv): void {
    const usec = Number(env.WATCHDOG_USEC);
    if (!Number.isSafeInteger(usec) || usec <= 0) return;
    if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== process.pid) return;
    const everyMs = Math.max(1, Math.floor(usec / 2000));
    this.send('WATCHDOG=1');
    this.watchdogTimer = setInterval(() => this.send('WATCHDOG=1'), everyMs).unref();
  }

  /** Stops the timers (the watchdog and the status refresh). */
  stop(): void {
    clearInterval(this.statusTimer);
    clearInterval(this.watchdogTimer);
  }

  private statusText(status: () => string): string {
    // One line: a newline would start another field of the message.
    this.lastStatus = status().replace(/\s+/g, ' ');
    return this.lastStatus;
  }

  private send(message: string): void {
    this.queue.push(message);
    if (this.queue.length === 1) this.flush();
  }

  private flush(): void {
    while (this.queue.length > 0) {
      try {
        if (!sendUnixDatagram(this.address, this.queue[0] as string)) {
          setTimeout(() => this.flush(), RETRY_MS).unref();
          return;
        }
      } catch (err) {
        // Said once: a service manager that went away would otherwise fill the log with watchdog failures.
        if (!this.failed) {
          this.failed = true;
          this.log.warn(`cannot notify the service manager: ${(err as Error).message}`);
        }
      }
      this.queue.shift();
    }
  }
}
