/**
 * A service manager's notification socket for tests: a real AF_UNIX datagram socket (socat), by path
 * or abstract name, that collects each datagram the daemon sends as one message. socat's -v dump
 * announces each datagram with a header naming its length, which keeps the boundaries.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { killChild, waitUntil } from './processes.js';

const HEADER = /> \d{4}\/\d\d\/\d\d \S+\s+length=(\d+) from=\d+ to=\d+\n/y;

export class NotifySocket {
  private dump = '';
  private parsed = 0;
  /** Every datagram received, in order. */
  readonly messages: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    /** What to put in $NOTIFY_SOCKET. */
    readonly address: string,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.dump += chunk.toString('latin1');
      this.parse();
    });
  }

  /** Listens on `address`: a path, or '@name' for an abstract socket. */
  static async open(address: string): Promise<NotifySocket> {
    const abstract = address.startsWith('@');
    const spec = abstract ? `ABSTRACT-RECV:${address.slice(1)}` : `UNIX-RECV:${address}`;
    const socket = new NotifySocket(spawn('socat', ['-u', '-v', spec, '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] }), address);
    // An abstract name has no file; /proc/net/unix lists it (as @name) once bound.
    const bound = abstract
      ? () =>
          readFileSync('/proc/net/unix', 'utf8')
            .split('\n')
            .some((line) => line.endsWith(` ${address}`))
      : () => existsSync(address);
    await waitUntil(bound, `socat listening on ${address}`);
    return socket;
  }

  /** Messages that contain `field` as one of their lines (e.g. 'READY=1'), or start with it (e.g. 'STATUS='). */
  having(field: string): string[] {
    return this.messages.filter((m) => m.split('\n').some((line) => (field.endsWith('=') ? line.startsWith(field) : line === field)));
  }

  async waitFor(field: string, count = 1, timeoutMs = 20_000): Promise<string> {
    await waitUntil(
      () => this.having(field).length >= count,
      `notification ${field} #${count} (got ${JSON.stringify(this.messages)})`,
      timeoutMs,
    );
    return this.having(field)[count - 1] as string;
  }

  close(): Promise<void> {
    return killChild(this.child, 'SIGTERM');
  }

  private parse(): void {
    for (;;) {
      HEADER.lastIndex = this.parsed;
      const header = HEADER.exec(this.dump);
      if (!header) return;
      const length = Number(header[1]);
      const start = HEADER.lastIndex;
      if (this.dump.length < start + length) return;
      this.messages.push(this.dump.slice(start, start + length));
      this.parsed = start + length;
    }
  }
}
