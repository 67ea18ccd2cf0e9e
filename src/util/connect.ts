/** Stream connections (TCP or unix socket) that give up at a deadline. */
import { Socket, type NetConnectOpts } from 'node:net';

/** Module-level, not a closure: it stays on the socket for life and would keep this call's scope. */
const ignore = (): void => undefined;

const noConnectionWithin = (timeoutMs: number) => () => new Error(`no connection within ${timeoutMs} ms`);

/**
 * Connects and resolves with the connected socket; rejects with the connect error, or with
 * `timeoutError()` when `timeoutMs` passes first, the socket destroyed either way. A listener that
 * ignores errors stays on the socket, so an error between the connect and the caller's own handler
 * (a StreamIO, a protocol reader) cannot go unhandled and crash the process.
 */
export function connectWithin(
  options: NetConnectOpts,
  timeoutMs: number,
  timeoutError: () => Error = noConnectionWithin(timeoutMs),
): Promise<Socket> {
  return connectSocketWithin(new Socket(options), options, timeoutMs, timeoutError);
}

/**
 * connectWithin with a socket made beforehand (unconnected, `new Socket(...)`), for a caller that makes
 * it while idle rather than while a peer waits: its construction is a good part of a connect's cost.
 */
export function connectSocketWithin(
  socket: Socket,
  options: NetConnectOpts,
  timeoutMs: number,
  timeoutError: () => Error = noConnectionWithin(timeoutMs),
): Promise<Socket> {
  socket.on('error', ignore);
  socket.connect(options);
  // Two listeners and a timer, not events.once: that one also handles abort signals and builds an
  // array of arguments, work a connect-back pays while its peer waits.
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => socket.destroy(timeoutError()), timeoutMs);
    const connected = (): void => {
      clearTimeout(timer);
      socket.off('error', failed);
      resolve(socket);
    };
    const failed = (err: Error): void => {
      clearTimeout(timer);
      socket.off('connect', connected);
      socket.destroy();
      reject(err);
    };
    socket.once('connect', connected);
    socket.once('error', failed);
  });
}
