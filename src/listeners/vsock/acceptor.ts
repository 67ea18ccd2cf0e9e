import type { Duplex } from 'node:stream';
import { listenVsock, VMADDR_CID_ANY, type VsockAddress, type VsockServer } from '../../native/vsock.js';
import { ACCEPT_BACKLOG, type StreamAcceptor } from '../stream-listener.js';

/**
 * Accepts vsock connections on VMADDR_CID_ANY:port; the peer's {cid, port} identifies the guest.
 * The native addon is loaded by the first listen, so a daemon without a vsock listener never loads it.
 */
export class VsockAcceptor implements StreamAcceptor<VsockAddress> {
  private server: VsockServer | undefined;

  constructor(private readonly port: number) {}

  get endpoint(): string {
    return `vsock *:${this.port}`;
  }

  async listen(onConnection: (stream: Duplex, peer: VsockAddress) => void, onError: (err: Error) => void): Promise<void> {
    let server: VsockServer;
    try {
      // Errors of a kernel without vsock arrive already explained (explainVsockError).
      server = listenVsock({ cid: VMADDR_CID_ANY, port: this.port, backlog: ACCEPT_BACKLOG });
    } catch (err) {
      throw new Error(`cannot listen on ${this.endpoint}: ${(err as Error).message}`, { cause: err });
    }
    server.on('connection', onConnection);
    server.on('error', onError);
    this.server = server;
  }

  async close(): Promise<void> {
    this.server?.close();
    this.server = undefined;
  }
}
