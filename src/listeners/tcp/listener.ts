import type { KeySource } from '../../core/request-gate.js';
import type { Requester } from '../../core/requester.js';
import type { Listener, ListenerContext } from '../listener.js';
import { StreamRequestListener } from '../stream-listener.js';
import { TcpAcceptor, type TcpPeer } from './acceptor.js';
import type { TcpListenerConfig } from './config.js';

/** The requester behind a TCP peer: its numeric address, matched against `ip` entries of the groups. */
export function tcpRequester(listener: string, peer: TcpPeer): Requester {
  return { listener, display: peer.address, addresses: [peer.address], domains: [] };
}

/** The TCP listener: the stream flow (StreamRequestListener) over TCP connections, counted per peer address. */
export function createTcpListener(config: TcpListenerConfig, key: KeySource, ctx: ListenerContext): Listener {
  return new StreamRequestListener<TcpPeer>(
    new TcpAcceptor(config.address, config.port),
    {
      name: config.name,
      key,
      minimumHash: config.hash,
      auth: config.auth,
      protocol: config.protocol,
      freshnessWindowMs: config.freshnessWindowMs,
      sourceOf: (peer) => peer.address,
      identify: (peer) => tcpRequester(config.name, peer),
    },
    ctx,
  );
}
