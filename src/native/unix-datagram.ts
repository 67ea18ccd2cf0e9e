/**
 * One datagram to an AF_UNIX datagram socket, which Node's dgram module cannot address. It is a small
 * function of the native addon (`sendUnixDatagram`) rather than a helper process, so the datagram comes
 * from this process: a receiver such as systemd attributes it by the sender's credentials.
 */
import { loadAddon } from './addon.js';

/**
 * The raw socket address for a path, or for an abstract name written with a leading '@' (the
 * convention of $NOTIFY_SOCKET), which the kernel reads as a leading NUL byte.
 */
export function unixSocketAddress(name: string): Buffer {
  return name.startsWith('@') ? Buffer.concat([Buffer.alloc(1), Buffer.from(name.slice(1))]) : Buffer.from(name);
}

/** Sends without blocking; false when the receiver's queue is full (try again later). Throws errno errors. */
export function sendUnixDatagram(address: Buffer, payload: string): boolean {
  return loadAddon().sendUnixDatagram(address, Buffer.from(payload)) >= 0;
}
