/** Stream connections (TCP or unix socket) that give up at a deadline. */
import { once } from 'node:events';
import { connect, type NetConnectOpts, type Socket } from 'node:net';

/** Module-level, not a closure: it stays on the socket for life and would keep this call's scope. */
const ignore = (): void => undefined;

/**
 * Connects and resolves with the connected socket; rejects with the connect error, or with
 * `timeoutError()` when `timeoutMs` passes first, the socket destroyed either way. A listener that
 * ignores errors stays on the socket, so an error between the connect and the caller's own handler
 * (a StreamIO, a protocol reader) cannot go unhandled and crash the process.
 */
export async function connectWithin(
  options: NetConnectOpts,
  timeoutMs: number,
  timeoutError: () => Error = () => new Error(`no connection within ${timeoutMs} ms`),
): Promise<Socket> {
  const socket = connect(options);
  socket.on('error', ignore);
  const timer = setTimeout(() => socket.destroy(timeoutError()), timeoutMs);
  try {
    await once(socket, 'connect'); // rejects with the connect error or the timeout's
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
