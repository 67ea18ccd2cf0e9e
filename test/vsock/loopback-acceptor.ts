/**
 * Stands in for the vsock socket in the listener tests: these machines have no vsock loopback
 * transport, and a vsock connect would reach the real host. Each fake guest CID gets its own loopback
 * TCP port (the real TcpAcceptor), so a test chooses the peer CID by the port it connects to; the
 * listener above sees {cid, port} exactly as the vsock acceptor reports it.
 */
import type { Duplex } from 'node:stream';
import type { AuthKey } from '../../src/auth/keyed-hash.js';
import { createRequestCore } from '../../src/core/request-core.js';
import type { Dispatcher } from '../../src/daemon/dispatcher.js';
import type { LibvirtConnectionPool } from '../../src/libvirt/index.js';
import { defaultProtocolSettings } from '../../src/listeners/protocol-policy.js';
import type { StreamAcceptor } from '../../src/listeners/stream-listener.js';
import { TcpAcceptor } from '../../src/listeners/tcp/acceptor.js';
import { VsockDomainDirectory, type VsockLibvirt } from '../../src/listeners/vsock/domains.js';
import { VsockListener } from '../../src/listeners/vsock/listener.js';
import type { VsockAddress } from '../../src/native/vsock.js';
import { Hash } from '../../src/protocol/index.js';
import type { Logger } from '../../src/util/log.js';

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

/**
 * A VsockListener on the stand-in, wired as the daemon wires one (sha256 signatures and challenges, the
 * default protocol settings, the dispatcher's permission check), in front of `dispatcher`.
 */
export function loopbackVsockListener(options: {
  /** Fake peer CID → loopback TCP port. */
  guests: ReadonlyMap<number, number>;
  key: AuthKey;
  /** The connections the CID → VM directory consults. */
  libvirt: () => Promise<VsockLibvirt>[];
  dispatcher: Dispatcher;
  pool: LibvirtConnectionPool;
  log: Logger;
}): VsockListener {
  const { dispatcher, log } = options;
  return new VsockListener(
    new LoopbackVsockAcceptor(options.guests),
    {
      name: 'vsock',
      key: () => options.key,
      minimumHash: Hash.SHA256,
      auth: Hash.SHA256,
      ...defaultProtocolSettings,
      sourceOf: (peer) => `cid ${peer.cid}`,
    },
    new VsockDomainDirectory(options.libvirt, log),
    { dispatcher, core: createRequestCore((req, who) => dispatcher.permits(req, who), log), log, libvirt: options.pool },
  );
}
