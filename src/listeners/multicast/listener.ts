import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { KeySource } from '../../core/request-gate.js';
import type { Requester } from '../../core/requester.js';
import type { HashType } from '../../protocol/constants.js';
import { FENCE_REQUEST_SIZE, type FenceRequest } from '../../protocol/fence-request.js';
import { connectSocketWithin } from '../../util/connect.js';
import { ExpiringSet } from '../../util/expiring-set.js';
import { describeOwners, otherHolders } from '../../util/port-owner.js';
import { StreamIO } from '../../util/stream-io.js';
import { askEarly, runAuthenticatedSession } from '../authenticated-session.js';
import { Timeouts, type Listener, type ListenerContext } from '../listener.js';
import { chooseVersion, type ProtocolSettings } from '../protocol-policy.js';

export interface MulticastSettings extends ProtocolSettings {
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

/**
 * Copies of a request whose connect-back just failed are not called back again for this long: a
 * client retransmits every second, and each copy would cost another connect timeout.
 */
const FAILED_CONNECT_BACK_WINDOW_MS = 5_000;
const MAX_FAILED_CONNECT_BACKS = 10_000;

/**
 * The multicast listener: a UDP socket on the wildcard address that joins the group; each valid
 * datagram makes us connect back to the address and port inside it, where the client challenges first.
 * The requester identity is the address inside the packet, as in C. Connect-backs are bounded in number,
 * in total and per address, because a datagram can name any address.
 */
export class MulticastListener implements Listener {
  readonly name: string;
  private socket: UdpSocket | undefined;
  private readonly failedConnectBacks = new ExpiringSet(FAILED_CONNECT_BACK_WINDOW_MS, MAX_FAILED_CONNECT_BACKS);
  /**
   * The next connect-back's socket, made (unconnected, no descriptor) once the previous session ended:
   * building a socket object is a good part of a connect's cost, better paid while no client waits.
   */
  private spare: Socket | undefined = newConnectBackSocket();

  constructor(
    private readonly settings: MulticastSettings,
    private readonly ctx: ListenerContext,
  ) {
    this.name = settings.name;
  }

  async start(): Promise<void> {
    const { family, address, port } = this.settings;
    const membershipInterface = this.resolveInterface();
    this.refuseSharedPort();
    const socket = createSocket({ type: family === 'ipv4' ? 'udp4' : 'udp6', reuseAddr: true });
    socket.bind(port);
    try {
      await once(socket, 'listening'); // rejects with the socket's 'error'
    } catch (err) {
      socket.close(); // a -w retry must not leak one descriptor per attempt
      throw new Error(`cannot bind UDP port ${port}: ${(err as Error).message}`);
    }
    try {
      if (membershipInterface === undefined) socket.addMembership(address);
      else socket.addMembership(address, membershipInterface);
    } catch (err) {
      socket.close();
      throw new Error(
        `cannot join multicast group ${address} on ${this.settings.interface ?? 'the default interface'}: ${(err as Error).message}`,
      );
    }
    socket.on('error', (err) => this.ctx.log.error(`receive failed: ${err.message}`));
    socket.on('message', (msg, rinfo) => {
      const sender = `${rinfo.address}:${rinfo.port}`;
      this.onDatagram(msg, sender, rinfo.address).catch((err: Error) =>
        this.ctx.log.error(`request from ${sender} failed: ${err.message}`),
      );
    });
    this.socket = socket;
    this.ctx.log.notice(`listening on ${address} port ${port}${this.settings.interface ? ` (interface ${this.settings.interface})` : ''}`);
  }

  /**
   * With SO_REUSEADDR (set, as C sets it, so a restart never waits for the port) a second daemon binds
   * the same port without error, and both then receive every request and race to fence: refuse instead.
   */
  private refuseSharedPort(): void {
    const { port } = this.settings;
    const { owners, unseen } = otherHolders('udp', port);
    if (owners.length === 0 && !unseen) return;
    const holders = owners.length ? describeOwners(owners) : 'a process this user cannot see';
    throw new Error(
      `UDP port ${port} is already bound by ${holders}: two daemons on one multicast port both answer every request ` +
        `and race to fence; stop the other one, or give listeners/${this.name}/port another port (guests: fence_xvm -p)`,
    );
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
    this.spare = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private async onDatagram(msg: Buffer, sender: string, senderAddress: string): Promise<void> {
    const { log, core } = this.ctx;
    if (msg.length !== FENCE_REQUEST_SIZE) {
      log.warn(`dropping ${msg.length}-byte datagram from ${sender}: a request is exactly ${FENCE_REQUEST_SIZE} bytes`);
      return;
    }
    // One key for the whole request: a SIGHUP that swaps keys meanwhile must not change it halfway.
    const key = this.settings.key();
    const settings = { key: () => key, minimumHash: this.settings.minimumHash, auth: this.settings.auth, stream: false };
    // By address only: each attempt of a client sends from a new port, and its refusals belong together.
    const req = core.gate.verify(msg, `sender ${senderAddress}`, settings, log);
    if (!req) return;
    const version = chooseVersion(msg, this.settings, `sender ${sender}`, log);
    if (!version) return;
    const target = req.address;
    if (target === null) {
      log.warn(`dropping request from ${sender}: no connect-back address (family 0)`);
      return;
    }
    // The key is built only when some connect-back failed lately: most datagrams need none.
    if (this.failedConnectBacks.size > 0 && this.failedConnectBacks.has(connectBackKey(target, req))) {
      log.info(`dropping request from ${sender}: connecting back to ${target} port ${req.port} failed moments ago`);
      return;
    }
    const who: Requester = { listener: this.name, display: target, addresses: [target], domains: [] };
    const admitted = core.gate.admit(req, who, msg, log);
    if (!admitted) return;
    const release = core.connectBacks.tryAcquire(target);
    if (typeof release === 'string') {
      const bound = release === 'total' ? 'max_connect_backs' : 'max_connect_backs_per_address';
      core.shed.report(
        `connect-backs-${release}`,
        `${this.name}: not calling back ${target} port ${req.port} (request from ${sender}): connect-back limit ${bound} reached`,
      );
      admitted.finish(false);
      return;
    }
    const wire = { version, raw: msg };
    try {
      let socket;
      const spare = this.spare ?? newConnectBackSocket();
      this.spare = undefined;
      const connecting = connectSocketWithin(spare, { host: target, port: req.port }, Timeouts.connectBack);
      const early = askEarly(admitted, who, wire, this.ctx.dispatcher);
      try {
        socket = await connecting;
      } catch (err) {
        log.warn(`failed to call back ${target} port ${req.port}: ${(err as Error).message}`);
        this.failedConnectBacks.add(connectBackKey(target, req));
        admitted.finish(false);
        return;
      }
      await runAuthenticatedSession(
        new StreamIO(socket),
        admitted,
        who,
        settings,
        wire,
        { dispatcher: this.ctx.dispatcher, core, log },
        early,
      );
    } finally {
      release();
      // The answer is out (or the session failed): the next connect-back's socket is made now.
      if (this.socket) this.spare ??= newConnectBackSocket();
    }
  }
}

/**
 * No Nagle delay on the answers (set at connect, as for the noDelay option of net.connect). No keepalive:
 * the connection lives seconds, far less than the kernel's first probe (2 h).
 */
function newConnectBackSocket(): Socket {
  return new Socket().setNoDelay(true);
}

/** One request's connect-back: the address and port called, and the request (its copies share these). */
function connectBackKey(target: string, req: FenceRequest): string {
  return `${target}\0${req.port}\0${req.seqno}\0${req.request}\0${req.domain.toLowerCase()}`;
}
