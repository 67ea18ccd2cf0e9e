/**
 * AF_VSOCK listening and connecting on top of the native addon. Listening is for the host daemon;
 * connecting is for guest agents only (on a host without a vsock loopback transport a connect goes to
 * the real hypervisor).
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { loadAddon, type NativeHandle, type VsockAddress } from './addon.js';
import { PollRelay } from './fd-stream.js';

export type { VsockAddress } from './addon.js';

/** Bind address meaning "every local CID". */
export const VMADDR_CID_ANY = 0xffffffff;
/** The hypervisor host, as seen from a guest. */
export const VMADDR_CID_HOST = 2;
/** Bind port meaning "pick a free one". */
export const VMADDR_PORT_ANY = 0xffffffff;

/** A CID or port outside what AF_VSOCK can express; thrown before any syscall. */
export class VsockAddressError extends RangeError {
  readonly code = 'ERR_VSOCK_ADDRESS';
}

function checkUint32(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new VsockAddressError(`invalid vsock ${what} ${String(value)}: must be an integer from 0 to ${max}`);
  }
}

/**
 * Makes the errors of a kernel without vsock say so: socket() then fails with EAFNOSUPPORT (no
 * vsock core) or ENODEV (no transport). The error keeps its code, errno and syscall.
 */
export function explainVsockError(err: NodeJS.ErrnoException): NodeJS.ErrnoException {
  if (err.syscall === 'socket' && (err.code === 'EAFNOSUPPORT' || err.code === 'ENODEV')) {
    err.message =
      `AF_VSOCK is not available in this kernel (socket() failed with ${err.code}): load the vsock ` +
      `transport module (vhost_vsock on a host, vmw_vsock_virtio_transport in a guest). ${err.message}`;
  }
  return err;
}

function callAddon<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw explainVsockError(err as NodeJS.ErrnoException);
  }
}

/** This machine's CID (IOCTL_VM_SOCKETS_GET_LOCAL_CID on /dev/vsock), e.g. for logs. */
export function vsockLocalCid(): number {
  return loadAddon().localCid();
}

export interface VsockServerEvents {
  connection: [stream: Duplex, peer: VsockAddress];
  error: [err: NodeJS.ErrnoException];
  close: [];
}

export interface ListenOptions {
  /** Local CID to bind (default VMADDR_CID_ANY). */
  cid?: number;
  port: number;
  /** listen(2) backlog (default 16). */
  backlog?: number;
}

/** After an accept error that is not about one connection (EMFILE, ENOBUFS…): wait before retrying
 * so a persistent condition is not a busy loop. */
const ACCEPT_RETRY_MS = 1000;

/** Accept errors that concern only the connection that just failed. */
const transientAcceptErrors = new Set(['ECONNABORTED', 'EPROTO', 'ECONNRESET']);

/** A listening vsock socket: 'connection' (stream, peer {cid, port}) for each accepted connection. */
export class VsockServer extends EventEmitter<VsockServerEvents> {
  #handle: NativeHandle | undefined;
  #retry: NodeJS.Timeout | undefined;
  readonly #address: VsockAddress;

  /** Use listenVsock(). */
  constructor(options: ListenOptions) {
    super();
    const cid = options.cid ?? VMADDR_CID_ANY;
    const backlog = options.backlog ?? 16;
    checkUint32('CID', cid, VMADDR_CID_ANY);
    checkUint32('port', options.port, VMADDR_PORT_ANY);
    checkUint32('backlog', backlog, 0x7fffffff);
    const handle = callAddon(() => loadAddon().listen(cid, options.port, backlog, (err) => this.#onEvent(err)));
    this.#handle = handle;
    this.#address = handle.localAddress();
    handle.poll(true, false);
  }

  /** The bound address ({cid: VMADDR_CID_ANY, port} for a wildcard bind). */
  address(): VsockAddress {
    return { ...this.#address };
  }

  get listening(): boolean {
    return this.#handle !== undefined;
  }

  /** Stops listening and closes the socket; accepted connections stay open. Idempotent. */
  close(): void {
    if (!this.#handle) return;
    clearTimeout(this.#retry);
    this.#handle.close();
    this.#handle = undefined;
    process.nextTick(() => this.emit('close'));
  }

  #onEvent(err: NodeJS.ErrnoException | null): void {
    if (err) {
      this.#pauseAfter(err); // the poller has stopped itself
      return;
    }
    while (this.#handle) {
      const relay = new PollRelay();
      let accepted;
      try {
        accepted = this.#handle.accept(relay.onEvent);
      } catch (acceptErr) {
        const e = acceptErr as NodeJS.ErrnoException;
        if (transientAcceptErrors.has(e.code ?? '')) continue;
        this.#pauseAfter(e);
        return;
      }
      if (!accepted) return;
      const stream = relay.attach(accepted.handle, { halfClose: true });
      this.emit('connection', stream, { cid: accepted.cid, port: accepted.port });
    }
  }

  #pauseAfter(err: NodeJS.ErrnoException): void {
    const handle = this.#handle;
    if (!handle) return;
    handle.poll(false, false);
    this.#retry = setTimeout(() => {
      if (this.#handle === handle) handle.poll(true, false);
    }, ACCEPT_RETRY_MS);
    this.emit('error', err);
  }
}

/** Binds and listens now; throws errno-coded errors (EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT…). */
export function listenVsock(options: ListenOptions): VsockServer {
  return new VsockServer(options);
}

export interface ConnectOptions {
  cid: number;
  port: number;
  /** Give up after this long (default 5000 ms): ETIMEDOUT. */
  timeoutMs?: number;
}

/**
 * Connects to (cid, port) from a guest. NEVER call this on the development and test machines: they
 * have no vsock loopback transport, so any connect reaches the real host.
 */
export function connectVsock(options: ConnectOptions): Promise<Duplex> {
  const { cid, port, timeoutMs = 5000 } = options;
  checkUint32('CID', cid, VMADDR_CID_ANY - 1); // VMADDR_CID_ANY is a bind address, never a peer
  checkUint32('port', port, VMADDR_PORT_ANY);
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      handle.close();
      reject(explainVsockError(err));
    };
    const relay = new PollRelay((err) => {
      // Writable (or a poll error) ends the connect; SO_ERROR holds its outcome.
      handle.poll(false, false);
      try {
        handle.socketError();
      } catch (socketErr) {
        fail(socketErr as NodeJS.ErrnoException);
        return;
      }
      if (err) {
        fail(err);
        return;
      }
      clearTimeout(timer);
      resolve(relay.attach(handle, { halfClose: true }));
    });
    const handle = callAddon(() => loadAddon().connect(cid, port, relay.onEvent));
    const timer = setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error(`ETIMEDOUT: connect to vsock ${cid}:${port} timed out after ${timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      err.syscall = 'connect';
      fail(err);
    }, timeoutMs);
    handle.poll(false, true);
  });
}
