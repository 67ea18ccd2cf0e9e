/** A TCP connection to an IP literal with a connect deadline (TCP and vmchannel modes). */
import { connect, type Socket } from 'node:net';
import { errnoError } from '../errno-text.js';

/** The C agents give a TCP connect 3 s, whatever the timeout. */
export const CONNECT_MS = 3000;

/** Rejects with the errno-coded error, or ETIMEDOUT when `timeoutMs` passes first. */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, keepAlive: true });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(errnoError('ETIMEDOUT', `connecting to ${host}:${port} took longer than ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
