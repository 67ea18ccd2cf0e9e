import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ACCEPT_BACKLOG, type StreamAcceptor } from '../stream-listener.js';

export interface TcpPeer {
  address: string;
  port: number;
}

/** The step net.Server#listen() ends in; Node keeps it under this name for code that wraps it. */
interface ListenStep {
  _listen2(address: string, port: number, addressType: 4 | 6, backlog: number): void;
}

/**
 * server.listen() on a numeric address, without what listen() loads on the way there: the cluster
 * module (and with it child_process and dgram), to ask whether this process is a cluster worker, and
 * dns, to look the host up even when it is an address. About 4 ms of CPU at every start here, before
 * the first answer. The daemon is never a cluster worker, and its configuration accepts only addresses
 * (listeners/settings.ts), so a colon tells the family (net.isIPv6 would compile its large regular
 * expression, 5-7 ms, at the first call). Like listen(), it emits 'listening' or 'error' on the next tick.
 */
function listenOn(server: Server, address: string, port: number): void {
  (server as unknown as ListenStep)._listen2(address, port, address.includes(':') ? 6 : 4, ACCEPT_BACKLOG);
}

/** Accepts TCP connections on address:port; the peer's numeric address is the requester identity. */
export class TcpAcceptor implements StreamAcceptor<TcpPeer> {
  private server: Server | undefined;

  constructor(
    private readonly address: string,
    private readonly port: number,
  ) {}

  get endpoint(): string {
    return this.address.includes(':') ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }

  async listen(onConnection: (stream: Duplex, peer: TcpPeer) => void, onError: (err: Error) => void): Promise<void> {
    const server = createServer({ noDelay: true }, (socket: Socket) => {
      onConnection(socket, { address: socket.remoteAddress ?? 'unknown', port: socket.remotePort ?? 0 });
    });
    listenOn(server, this.address, this.port);
    try {
      await once(server, 'listening'); // rejects with the server's 'error'
    } catch (err) {
      throw new Error(`cannot listen on ${this.endpoint}: ${(err as Error).message}`);
    }
    server.on('error', onError);
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
