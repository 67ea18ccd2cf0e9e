import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ACCEPT_BACKLOG, type StreamAcceptor } from '../stream-listener.js';

export interface TcpPeer {
  address: string;
  port: number;
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
    server.listen({ host: this.address, port: this.port, backlog: ACCEPT_BACKLOG, exclusive: true });
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
