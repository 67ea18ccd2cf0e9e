import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { HISTORY_WINDOW_MS, type HashType } from '../protocol/constants.js';
import { FENCE_REQUEST_SIZE } from '../protocol/fence-request.js';
import { RequestHistory } from '../daemon/request-history.js';
import { StreamIO } from '../util/stream-io.js';
import { runAuthenticatedSession } from './authenticated-session.js';
import { Timeouts, type KeySource, type Listener, type ListenerContext } from './listener.js';
import { admitRequest } from './request-gate.js';

export interface MulticastSettings {
  name: string;
  family: 'ipv4' | 'ipv6';
  /** Group to join. */
  address: string;
  port: number;
  /** Interface to join the group on; undefined lets the kernel choose by route, as in C. */
  interface: string | undefined;
  key: KeySource;
  minimumHash: HashType;
  auth: HashType;
}

/** Replays of a packet whose connect-back failed are ignored this long (§9 W2). */
const FAILED_CONNECT_BACK_WINDOW_MS = 5_000;

/**
 * The multicast listener (PROTOCOL.md §4.2): a UDP socket on the wildcard address that joins the group;
 * each valid datagram makes us connect back to the address and port inside it, where the client
 * challenges first. The requester identity is the address inside the packet, as in C.
 */
export class MulticastListener implements Listener {
  readonly name: string;
  private socket: UdpSocket | undefined;
  private readonly history = new RequestHistory(HISTORY_WINDOW_MS);
  private readonly failedConnectBacks = new RequestHistory(FAILED_CONNECT_BACK_WINDOW_MS);

  constructor(
    private readonly settings: MulticastSettings,
    private readonly ctx: ListenerContext,
  ) {
    this.name = settings.name;
  }

  async start(): Promise<void> {
    const { family, address, port } = this.settings;
    const membershipInterface = this.resolveInterface();
    const socket = createSocket({ type: family === 'ipv4' ? 'udp4' : 'udp6', reuseAddr: true });
    socket.bind(port);
    try {
      await once(socket, 'listening'); // rejects with the socket's 'error'
    } catch (err) {
      throw new Error(`cannot bind UDP port ${port}: ${(err as Error).message}`);
    }
    try {
      if (membershipInterface === undefined) socket.addMembership(address);
      else socket.addMembership(address, membershipInterface);
    } catch (err) {
      socket.close();
      throw new Error(`cannot join multicast group ${address} on ${this.settings.interface ?? 'the default interface'}: ${(err as Error).message}`);
    }
    socket.on('error', (err) => this.ctx.log.error(`receive failed: ${err.message}`));
    socket.on('message', (msg, rinfo) => {
      const sender = `${rinfo.address}:${rinfo.port}`;
      this.onDatagram(msg, sender).catch((err: Error) => this.ctx.log.error(`request from ${sender} failed: ${err.message}`));
    });
    this.socket = socket;
    this.ctx.log.notice(`listening on ${address} port ${port}${this.settings.interface ? ` (interface ${this.settings.interface})` : ''}`);
  }

  /**
   * Node joins IPv4 groups by local address and IPv6 groups by scope. An interface that is unknown, down
   * or without an address cannot carry the group: that is a start-up error, not C's silent "any".
   */
  private resolveInterface(): string | undefined {
    const name = this.settings.interface;
    if (!name) return undefined;
    const addrs = networkInterfaces()[name];
    if (!addrs) throw new Error(`multicast interface '${name}' does not exist or is down (no usable address)`);
    if (this.settings.family === 'ipv6') return `::%${name}`;
    const v4 = addrs.find((a) => a.family === 'IPv4');
    if (!v4) throw new Error(`multicast interface '${name}' has no IPv4 address`);
    return v4.address;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private async onDatagram(msg: Buffer, sender: string): Promise<void> {
    const log = this.ctx.log;
    if (msg.length !== FENCE_REQUEST_SIZE) {
      log.warn(`dropping ${msg.length}-byte datagram from ${sender}: a request is exactly ${FENCE_REQUEST_SIZE} bytes`);
      return;
    }
    const admitted = admitRequest(msg, `sender ${sender}`, this.settings, this.history, log);
    if (!admitted) return;
    const req = admitted.request;
    const target = req.address;
    if (target === null) {
      log.warn(`dropping request from ${sender}: no connect-back address (family 0)`);
      this.history.finish(admitted.historyKey, false);
      return;
    }
    const failedKey = `${admitted.historyKey}\0${target}\0${req.port}`;
    if (!this.failedConnectBacks.begin(failedKey)) {
      log.info(`dropping request from ${sender}: connecting back to ${target} port ${req.port} failed moments ago`);
      this.history.finish(admitted.historyKey, false);
      return;
    }
    let socket;
    try {
      socket = await connectBack(target, req.port);
      this.failedConnectBacks.finish(failedKey, false);
    } catch (err) {
      log.warn(`failed to call back ${target} port ${req.port}: ${(err as Error).message}`);
      this.failedConnectBacks.finish(failedKey, true);
      this.history.finish(admitted.historyKey, false);
      return;
    }
    const who = { listener: this.name, display: target, addresses: [target], domains: [] };
    await runAuthenticatedSession(new StreamIO(socket), admitted, who, this.settings, {
      dispatcher: this.ctx.dispatcher,
      history: this.history,
      log,
    });
  }
}

async function connectBack(host: string, port: number) {
  const socket = connect({ host, port, noDelay: true, keepAlive: true });
  // Errors after the connect are StreamIO's to report; this keeps them from being unhandled meanwhile.
  socket.on('error', () => undefined);
  const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${Timeouts.connectBack} ms`)), Timeouts.connectBack);
  try {
    await once(socket, 'connect'); // rejects with the connect error or the timeout
    return socket;
  } finally {
    clearTimeout(timer);
  }
}
