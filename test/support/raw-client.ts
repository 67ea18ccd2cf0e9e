/**
 * A client built from our codec and auth core, for the cases the real C tools cannot produce:
 * malformed, replayed, weakly signed or stalled requests. Well-formed traffic in tests comes from
 * the real C fence_xvm / fence_virt instead.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { challengeAsClient } from '../../src/auth/challenge-response.js';
import type { AuthKey } from '../../src/auth/keyed-hash.js';
import { signRequest } from '../../src/auth/request-signature.js';
import {
  decodeHostRecord,
  encodeFenceRequest,
  Family,
  Hash,
  HOST_RECORD_SIZE,
  type FenceRequest,
  type HashType,
} from '../../src/protocol/index.js';
import { StreamIO } from '../../src/util/stream-io.js';
import { nextSeqno } from './seqnos.js';

export function signedRequest(fields: Partial<FenceRequest> & { request: number }, key: AuthKey): Buffer {
  const packet = encodeFenceRequest({
    hashType: Hash.SHA256,
    flags: 0,
    domain: '',
    address: null,
    family: Family.NONE,
    port: 0,
    random: new Uint8Array(6),
    seqno: nextSeqno(),
    ...fields,
  });
  signRequest(packet, key);
  return packet;
}

export type Outcome = { kind: 'closed'; received: number } | { kind: 'code'; code: number } | { kind: 'hosts'; names: string[] };

/** Reads what the daemon answers after authentication: a byte, a host list, or nothing. */
async function readAnswer(io: StreamIO, timeoutMs: number): Promise<Outcome> {
  const first = await io.read(1, timeoutMs);
  if (first[0] !== 0xfd) return { kind: 'code', code: first[0] as number };
  const names: string[] = [];
  for (;;) {
    const rec = decodeHostRecord(await io.read(HOST_RECORD_SIZE, timeoutMs));
    if (rec.terminator) break;
    names.push(rec.name);
  }
  return { kind: 'hosts', names };
}

/** Sends a request over TCP and runs the client side; a dropped request shows as 'closed'. */
export async function tcpExchange(
  port: number,
  packet: Buffer,
  key: AuthKey,
  auth: HashType,
  timeoutMs = 5000,
  proven?: () => void,
): Promise<Outcome> {
  const socket = connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
  } catch {
    return { kind: 'closed', received: 0 };
  }
  return exchangeOn(socket, packet, key, auth, timeoutMs, proven);
}

/**
 * The client side on a connected stream (a socket, or an in-memory stream in the unit tier). `proven`
 * runs once the challenge-response both ways succeeded, before the answer is read: by then the daemon
 * has admitted the request.
 */
export async function exchangeOn(
  socket: Duplex,
  packet: Buffer | null,
  key: AuthKey,
  auth: HashType,
  timeoutMs: number,
  proven?: () => void,
): Promise<Outcome> {
  // A daemon writes a host list as fast as it can: room for thousands of records read one by one.
  const io = new StreamIO(socket, 4 << 20);
  try {
    if (packet) await io.write(packet, timeoutMs);
    await challengeAsClient(io, key, auth, timeoutMs);
    proven?.();
    return await readAnswer(io, timeoutMs);
  } catch {
    return { kind: 'closed', received: 0 };
  } finally {
    socket.destroy();
  }
}

/**
 * Multicast: listens for the connect-back, sends the datagram to the group, and runs the client side
 * on the first connection. Resolves 'closed' if no connect-back arrives within `waitMs`.
 */
export async function multicastExchange(
  send: (datagram: Buffer) => Promise<void>,
  datagram: Buffer,
  callbackPort: number,
  key: AuthKey,
  auth: HashType,
  waitMs = 3000,
): Promise<Outcome> {
  const server = createServer();
  server.listen(callbackPort, '127.0.0.1');
  await once(server, 'listening');
  try {
    const accepted = once(server, 'connection', { signal: AbortSignal.timeout(waitMs) }) as Promise<[Socket]>;
    await send(datagram);
    let socket: Socket;
    try {
      [socket] = await accepted;
    } catch {
      return { kind: 'closed', received: 0 };
    }
    return await exchangeOn(socket, null, key, auth, waitMs);
  } finally {
    server.close();
  }
}

/** Sends one datagram to a multicast group (the test namespace routes 224.0.0.0/4 over lo). */
export function sendToGroup(datagram: Buffer, port: number, group = '225.0.0.12'): Promise<void> {
  const sock = createSocket('udp4');
  return new Promise((resolve, reject) =>
    sock.send(datagram, port, group, (err) => {
      sock.close();
      if (err) reject(err);
      else resolve();
    }),
  );
}
