/**
 * The attacker's end of the wire: connections driven one step at a time (so a challenge-response can
 * be split across two connections), connections from a chosen loopback source address, and listeners
 * that take the daemon's connect-backs and then talk or stay silent. Requests come from our codec and
 * signer (test/support/raw-client.ts); nothing here knows the key unless a test hands it over.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { StreamIO, StreamIOError } from '../../src/util/stream-io.js';
import { waitUntil } from '../support/processes.js';

/** What the attacker got when it waited for bytes. */
export type Reply = Buffer | 'closed' | 'silent';

export class Wire {
  readonly io: StreamIO;
  /** When the connection ended (by the daemon, unless the test closed it first). */
  closedAt: number | undefined;

  constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    const ended = () => (this.closedAt ??= Date.now());
    socket.once('end', ended).once('close', ended);
    this.io = new StreamIO(socket);
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  send(bytes: Uint8Array): Promise<void> {
    return this.io.write(bytes, 5_000);
  }

  /** Exactly n bytes, or 'closed' if the daemon hung up first, or 'silent' after `timeoutMs`. */
  async expect(n: number, timeoutMs: number): Promise<Reply> {
    try {
      return await this.io.read(n, timeoutMs);
    } catch (err) {
      return err instanceof StreamIOError && err.code === 'TIMEOUT' ? 'silent' : 'closed';
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A TCP connection to 127.0.0.1:port from `localAddress` (any 127.0.0.0/8 address is local on lo). */
export async function connectFrom(port: number, localAddress = '127.0.0.1'): Promise<Wire> {
  const socket = connect({ host: '127.0.0.1', port, localAddress, noDelay: true });
  const wire = new Wire(socket);
  await once(socket, 'connect');
  return wire;
}

/** Listens where a datagram tells the daemon to connect back, and keeps every connection it gets. */
export class ConnectBackTrap {
  readonly wires: Wire[] = [];

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => this.wires.push(new Wire(socket)));
  }

  static async listen(host: string, port: number): Promise<ConnectBackTrap> {
    const server = createServer();
    const trap = new ConnectBackTrap(server);
    server.listen({ host, port, backlog: 511 });
    await once(server, 'listening');
    return trap;
  }

  get count(): number {
    return this.wires.length;
  }

  /** The daemon's nth connection to us (1 = the first), or undefined if it does not come in time. */
  async connection(n: number, timeoutMs: number): Promise<Wire | undefined> {
    try {
      await waitUntil(() => this.wires.length >= n, `connect-back ${n}`, timeoutMs);
    } catch {
      return undefined;
    }
    return this.wires[n - 1];
  }

  /** Hangs up on every connection the daemon made (they stop holding its slots). */
  hangUp(): void {
    for (const wire of this.wires) wire.close();
  }

  async close(): Promise<void> {
    this.hangUp();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
