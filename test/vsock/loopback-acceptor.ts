/**
 * Stands in for the vsock socket in the listener tests: these machines have no vsock loopback
 * transport, and a vsock connect would reach the real host. Each fake guest CID gets its own loopback
 * TCP port (the real TcpAcceptor), so a test chooses the peer CID by the port it connects to; the
 * listener above sees {cid, port} exactly as the vsock acceptor reports it.
 */
import type { Duplex } from 'node:stream';
import type { StreamAcceptor } from '../../src/listeners/stream-listener.js';
import { TcpAcceptor } from '../../src/listeners/tcp/acceptor.js';
import type { VsockAddress } from '../../src/native/vsock.js';

export class LoopbackVsockAcceptor implements StreamAcceptor<VsockAddress> {
  private readonly tcp: { cid: number; acceptor: TcpAcceptor }[];

  /** `guests`: fake peer CID → loopback TCP port its connections arrive on. */
  constructor(guests: ReadonlyMap<number, number>) {
    this.tcp = [...guests].map(([cid, port]) => ({ cid, acceptor: new TcpAcceptor('127.0.0.1', port) }));
  }

  get endpoint(): string {
    return `vsock stand-in (${this.tcp.map(({ cid, acceptor }) => `cid ${cid} via ${acceptor.endpoint}`).join(', ')})`;
  }

  async listen(onConnection: (stream: Duplex, peer: VsockAddress) => void, onError: (err: Error) => void): Promise<void> {
    for (const { cid, acceptor } of this.tcp) {
      await acceptor.listen((stream, peer) => onConnection(stream, { cid, port: peer.port }), onError);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.tcp.map(({ acceptor }) => acceptor.close()));
  }
}
