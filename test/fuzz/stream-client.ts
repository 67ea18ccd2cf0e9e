/**
 * The client side of a TCP or vsock (loopback stand-in) connection for the fuzzer: writes an input in
 * its pieces from a chosen source address, then behaves like a client that holds the right key. A
 * daemon that wrongly admitted a mutated request would therefore complete the exchange and act, which
 * the run sees; a daemon that refuses it closes the connection.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { challengeAsClient } from '../../src/auth/challenge-response.js';
import { decodeHostRecord, FENCE_REQUEST_SIZE, Hash, HOST_RECORD_SIZE, Response, type HostRecord } from '../../src/protocol/index.js';
import { StreamIO, StreamIOError } from '../../src/util/stream-io.js';
import { KEY } from './fixture.js';

export type StreamOutcome =
  | { kind: 'answered'; code: number; hosts?: HostRecord[] }
  /** Closed without an answer; `why` says at which step. */
  | { kind: 'closed'; why?: string }
  /** Neither an answer nor a close within the deadline of a step. */
  | { kind: 'stalled'; what: string };

export interface Endpoint {
  port: number;
  /** Source address (the daemon bounds connections per source). */
  localAddress?: string;
}

/** The daemon's answer after the challenge-response: one code byte, or a host list and its code. */
async function readAnswer(io: StreamIO, timeoutMs: number): Promise<{ code: number; hosts?: HostRecord[] }> {
  const first = (await io.read(1, timeoutMs, 'the answer'))[0] as number;
  if (first !== Response.HOSTLIST) return { code: first };
  const hosts: HostRecord[] = [];
  for (;;) {
    const record = decodeHostRecord(await io.read(HOST_RECORD_SIZE, timeoutMs, 'a host record'));
    if (record.terminator) break;
    hosts.push(record);
  }
  return { code: (await io.read(1, timeoutMs, 'the host list code'))[0] as number, hosts };
}

/** Runs the client's half of the exchange with the right key and reads the answer. */
export async function actAsClient(io: StreamIO, timeoutMs: number): Promise<StreamOutcome> {
  try {
    await challengeAsClient(io, KEY, Hash.SHA256, timeoutMs);
    return { kind: 'answered', ...(await readAnswer(io, timeoutMs)) };
  } catch (err) {
    if (err instanceof StreamIOError && err.code === 'TIMEOUT') return { kind: 'stalled', what: err.message };
    return { kind: 'closed', why: (err as Error).message };
  } finally {
    io.stream.destroy();
  }
}

/**
 * Sends `pieces` (pausing before each as told) and plays the client. Fewer bytes than a request get a
 * half-close instead, so the daemon sees the end at once, unless `holdOpen`: then the daemon has to end
 * the connection by its read deadline.
 */
export async function sendPieces(
  to: Endpoint,
  pieces: readonly Buffer[],
  pausesMs: readonly number[],
  timeoutMs: number,
  holdOpen = false,
): Promise<StreamOutcome> {
  const socket = connect({ port: to.port, host: '127.0.0.1', localAddress: to.localAddress, noDelay: true });
  socket.on('error', () => undefined);
  const io = new StreamIO(socket);
  try {
    // A connect the kernel keeps retrying (a full accept queue) counts as stalled after twice a step.
    await once(socket, 'connect', { signal: AbortSignal.timeout(2 * timeoutMs) });
  } catch (err) {
    socket.destroy();
    if ((err as Error).name === 'AbortError') return { kind: 'stalled', what: `no connection within ${2 * timeoutMs} ms` };
    return { kind: 'closed', why: `connect: ${(err as Error).message}` };
  }
  try {
    for (const [i, piece] of pieces.entries()) {
      if (pausesMs[i]) await sleep(pausesMs[i]);
      await io.write(piece, timeoutMs, 'the input');
    }
  } catch (err) {
    socket.destroy();
    // Shed at accept, or closed by the daemon while we were still writing.
    return { kind: 'closed', why: (err as Error).message };
  }
  const total = pieces.reduce((n, p) => n + p.length, 0);
  if (total >= FENCE_REQUEST_SIZE) return actAsClient(io, timeoutMs);
  if (!holdOpen) socket.end();
  try {
    // Nothing may come back for less than a request.
    return { kind: 'answered', code: (await io.read(1, timeoutMs, 'the close'))[0] as number };
  } catch (err) {
    if (err instanceof StreamIOError && err.code === 'TIMEOUT') return { kind: 'stalled', what: err.message };
    return { kind: 'closed' };
  } finally {
    socket.destroy();
  }
}
