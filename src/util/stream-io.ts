import type { Duplex } from 'node:stream';
import { EarliestDeadlineTimer } from './earliest-deadline-timer.js';

export type StreamIOErrorCode = 'TIMEOUT' | 'EOF' | 'CLOSED' | 'OVERFLOW' | 'WRITE';

export class StreamIOError extends Error {
  constructor(
    readonly code: StreamIOErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StreamIOError';
  }
}

/**
 * Exact-size reads and flushed writes on a Duplex, each with its own deadline. Bytes that arrive early
 * (a TCP client sends its challenge right behind the request) are kept for the next read; bytes may
 * also trickle in one at a time. A peer that sends more than `maxBuffered` unread bytes is cut off.
 *
 * Read deadlines share one timer per stream, armed once and left armed: when it fires, the read waiting
 * then fails if its deadline has passed, or arms the timer again for its own. A request-response exchange
 * thus costs one timer, not one to set and clear per read (a serial guest's socket reads once per
 * request, a TCP exchange two or three times).
 */
export class StreamIO {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure: StreamIOError | undefined;
  private waiter: (() => void) | undefined;
  /** One timer for every read's deadline: a read that finds its deadline still ahead waits again. */
  private readonly timer = new EarliestDeadlineTimer(() => this.wake());

  constructor(
    readonly stream: Duplex,
    private readonly maxBuffered = 64 * 1024,
  ) {
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered > this.maxBuffered) {
        this.fail(new StreamIOError('OVERFLOW', `peer sent more than ${this.maxBuffered} unread bytes`));
        stream.destroy();
      }
      this.wake();
    });
    stream.on('end', () => {
      this.ended = true;
      this.wake();
    });
    stream.on('error', (err: Error) => this.fail(new StreamIOError('CLOSED', `stream error: ${err.message}`)));
    stream.on('close', () => {
      this.ended = true;
      this.timer.stop();
      this.wake();
    });
  }

  private fail(err: StreamIOError): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    this.timer.release();
    w?.();
  }

  /** Resolves with exactly n bytes, or rejects on timeout, EOF or a stream error. */
  read(n: number, timeoutMs: number, what?: string): Promise<Buffer> {
    // Bytes that came early (a client's challenge behind its request) need no wait, nor a deadline.
    if (this.buffered >= n) return Promise.resolve(this.take(n));
    const deadline = Date.now() + timeoutMs;
    // A plain callback, checked at every wake, rather than an async loop: one promise per read instead
    // of one per wake, and no suspended frame kept (both weigh on a request's garbage).
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.buffered >= n) return resolve(this.take(n));
        const label = what ?? `${n} bytes`;
        if (this.failure) return reject(this.failure);
        if (this.ended) return reject(new StreamIOError('EOF', `connection closed after ${this.buffered} of ${label}`));
        if (deadline - Date.now() <= 0) {
          return reject(new StreamIOError('TIMEOUT', `timed out waiting for ${label} (${this.buffered} received)`));
        }
        this.waiter = check;
        this.timer.arm(deadline);
      };
      check();
    });
  }

  /**
   * The first n buffered bytes, as a view of what the stream delivered (a socket hands over a fresh
   * buffer per read, so nothing else writes there): no copy, and no allocation when one chunk holds them.
   */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.buffered);
    this.buffered -= n;
    this.chunks = this.buffered ? [all.subarray(n)] : [];
    return all.subarray(0, n);
  }

  /**
   * Resolves once the data was handed to the kernel; a peer that stops reading hits the deadline
   * (docs/compatibility.md, row 'final answer write').
   */
  write(data: Uint8Array, timeoutMs: number, what = 'data'): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stream.destroyed || this.stream.writableEnded) {
        reject(new StreamIOError('CLOSED', `cannot write ${what}: connection closed`));
        return;
      }
      const deadline: { timer?: NodeJS.Timeout } = {};
      // Settled by the callback even when the socket took the bytes at once (it follows on the next
      // tick): a caller that closes the stream next must do so after it, or the stream makes an error
      // object (with its stack) for the write it finds cut short.
      this.stream.write(data, (err) => {
        clearTimeout(deadline.timer);
        if (err) reject(new StreamIOError('WRITE', `writing ${what} failed: ${err.message}`));
        else resolve();
      });
      // Nothing left queued: the stream took the bytes at once (a socket wrote them to the kernel) and
      // the callback follows on the next tick. Only a write that has to wait needs a deadline.
      if (this.stream.writableLength === 0) return;
      deadline.timer = setTimeout(() => {
        reject(new StreamIOError('TIMEOUT', `timed out writing ${what}`));
        this.stream.destroy();
      }, timeoutMs);
    });
  }
}
