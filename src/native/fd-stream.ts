/**
 * A Duplex over one non-blocking fd of the native addon (connected vsock socket, character device,
 * FIFO). The addon's libuv poller reports readiness; this side reads until the call would block,
 * and keeps a write that hit EAGAIN until the fd is writable again (backpressure).
 */
import { Duplex } from 'node:stream';
import type { NativeHandle, OnEvent } from './addon.js';

export interface FdStreamOptions {
  /** Sockets half-close with shutdown() on end(); a character device has no half-close. */
  halfClose: boolean;
  /** Keep the writable side open after the peer's end of stream (Duplex allowHalfOpen; default true). */
  allowHalfOpen?: boolean;
}

const onPoll = Symbol('onPoll');

/** One read buffer for every stream: reads are synchronous and copied out before the next. */
const scratch = Buffer.allocUnsafe(64 * 1024);

interface PendingWrite {
  chunk: Buffer;
  callback: (err?: Error | null) => void;
}

export class FdStream extends Duplex {
  readonly #handle: NativeHandle;
  readonly #halfClose: boolean;
  #wantRead = false;
  #pending: PendingWrite | undefined;

  /** Made by PollRelay.attach: the handle's poll callback, fixed when the handle was made, must reach it. */
  constructor(handle: NativeHandle, options: FdStreamOptions) {
    super({ allowHalfOpen: options.allowHalfOpen ?? true });
    this.#handle = handle;
    this.#halfClose = options.halfClose;
  }

  [onPoll](err: NodeJS.ErrnoException | null, readable: boolean, writable: boolean): void {
    if (this.destroyed) return;
    if (err) {
      this.#onPollError(err);
      return;
    }
    if (readable && this.#wantRead) this.#readAvailable();
    if (writable && this.#pending && !this.destroyed) this.#flush();
  }

  override _read(): void {
    this.#wantRead = true;
    this.#updatePoll();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#pending = { chunk, callback };
    this.#flush();
  }

  override _final(callback: (err?: Error | null) => void): void {
    try {
      if (this.#halfClose) this.#handle.shutdown();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.#handle.close();
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.callback(Object.assign(new Error('stream destroyed before the write completed'), { code: 'ERR_STREAM_DESTROYED' }));
    callback(err);
  }

  #readAvailable(): void {
    try {
      while (this.#wantRead && !this.destroyed) {
        const n = this.#handle.read(scratch);
        if (n < 0) break; // would block: the poller says when there is more
        if (n === 0) {
          this.#wantRead = false;
          this.push(null);
          break;
        }
        this.#wantRead = this.push(Buffer.from(scratch.subarray(0, n)));
      }
    } catch (err) {
      this.destroy(err as Error);
      return;
    }
    this.#updatePoll();
  }

  #flush(): void {
    const pending = this.#pending;
    if (!pending) return;
    try {
      while (pending.chunk.length > 0) {
        const n = this.#handle.write(pending.chunk);
        if (n < 0) {
          this.#updatePoll(); // EAGAIN: finish when the fd is writable again
          return;
        }
        pending.chunk = pending.chunk.subarray(n);
      }
    } catch (err) {
      this.#pending = undefined;
      this.#updatePoll();
      pending.callback(err as Error);
      return;
    }
    this.#pending = undefined;
    this.#updatePoll();
    pending.callback();
  }

  /** POLLERR reaches us as a bare EBADF and stops the poller; the next read or write names the real
   * cause (EOF, EPIPE, EIO), so try those first and fail with the poll error only if they would block. */
  #onPollError(err: NodeJS.ErrnoException): void {
    if (this.#wantRead) this.#readAvailable();
    if (!this.destroyed && this.#pending) this.#flush();
    if (!this.destroyed && (this.#wantRead || this.#pending)) this.destroy(err);
  }

  #updatePoll(): void {
    if (this.destroyed) return;
    try {
      this.#handle.poll(this.#wantRead, this.#pending !== undefined);
    } catch (err) {
      this.destroy(err as Error);
    }
  }
}

/**
 * The poll callback for a handle made before its stream (accept and connect hand back a handle that
 * already has its callback): events go to `early` until a stream is attached, then to the stream.
 */
export class PollRelay {
  #stream: FdStream | undefined;
  readonly #early: OnEvent;

  constructor(early: OnEvent = () => undefined) {
    this.#early = early;
  }

  readonly onEvent: OnEvent = (err, readable, writable) => {
    if (this.#stream) this.#stream[onPoll](err, readable, writable);
    else this.#early(err, readable, writable);
  };

  attach(handle: NativeHandle, options: FdStreamOptions): FdStream {
    this.#stream = new FdStream(handle, options);
    return this.#stream;
  }
}
