/** Types of the compiled addon (build/Release/vsock.node); see src/*.c. */

/** Poll callback: err is set when the poller reported an error (the poller is then stopped). */
export type OnEvent = (err: NodeJS.ErrnoException | null, readable: boolean, writable: boolean) => void;

export interface VsockAddress {
  cid: number;
  port: number;
}

/** One non-blocking fd plus its libuv poller on Node's loop. Methods throw errno-coded errors. */
export interface Handle {
  /** What to watch; both false stops the poller, so this handle no longer keeps the loop alive. */
  poll(readable: boolean, writable: boolean): void;
  /** Bytes read into buffer, 0 at end of stream, -1 if it would block. */
  read(buffer: Buffer): number;
  /** Bytes written (possibly fewer than buffer.length), -1 if it would block. */
  write(buffer: Buffer): number;
  /** shutdown(SHUT_WR): the peer reads end of stream. Sockets only. */
  shutdown(): void;
  /** The next pending connection of a listening socket, or null if none is waiting. */
  accept(onEvent: OnEvent): (VsockAddress & { handle: Handle }) | null;
  /** Throws the socket's pending error (outcome of a non-blocking connect) if there is one. */
  socketError(): void;
  localAddress(): VsockAddress;
  /** Closes fd and poller; idempotent. */
  close(): void;
}

export function listen(cid: number, port: number, backlog: number, onEvent: OnEvent): Handle;
/** Starts a non-blocking connect; poll for writable, then socketError() tells the outcome. */
export function connect(cid: number, port: number, onEvent: OnEvent): Handle;
export function localCid(): number;
/** Opens a character device, FIFO or socket path read-write, non-blocking, without tty setup. */
export function openDevice(path: string, onEvent: OnEvent): Handle;
/**
 * Sends one datagram to an AF_UNIX datagram socket without blocking: `address` is the raw sun_path (a
 * leading NUL byte names an abstract socket). Returns the bytes sent, or -1 when the receiver's queue is full.
 */
export function sendUnixDatagram(address: Buffer, payload: Buffer): number;
/** malloc_trim(0): pages of freed malloc chunks back to the kernel, in every arena; true if any went. */
export function trimMalloc(): boolean;
