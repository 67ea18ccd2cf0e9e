/** A TCP connection to an IP literal with a connect deadline (TCP and vmchannel modes). */
import type { Socket } from 'node:net';
import { connectWithin } from '../../util/connect.js';
import { errnoError } from '../errno-text.js';

/** The C agents give a TCP connect 3 s, whatever the timeout. */
export const CONNECT_MS = 3000;

/** Rejects with the errno-coded error, or ETIMEDOUT when `timeoutMs` passes first. */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return connectWithin({ host, port, keepAlive: true }, timeoutMs, () =>
    errnoError('ETIMEDOUT', `connecting to ${host}:${port} took longer than ${timeoutMs} ms`),
  );
}
