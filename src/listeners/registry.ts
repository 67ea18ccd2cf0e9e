import type { ListenerConfig } from '../daemon-config/listeners.js';
import { defaultLibvirtUri } from '../libvirt/connection-pool.js';
import type { Listener, ListenerContext } from './listener.js';
import { MulticastListener } from './multicast/listener.js';
import { SerialListener } from './serial/listener.js';
import { StreamRequestListener } from './stream-listener.js';
import { TcpAcceptor, type TcpPeer } from './tcp/acceptor.js';
import { VsockAcceptor } from './vsock/acceptor.js';
import { VsockDomainDirectory } from './vsock/domains.js';
import { VsockListener } from './vsock/listener.js';
import type { KeyRing } from '../daemon/key-ring.js';

export interface ListenerDeps {
  keys: KeyRing;
  context: (name: string) => ListenerContext;
  /** The backend's libvirt URIs: vsock peers are resolved to their domains there. */
  backendUris: readonly string[];
}

/** One place that knows every listener module; adding a transport adds one case here. */
export function createListener(config: ListenerConfig, deps: ListenerDeps): Listener {
  const ctx = deps.context(config.name);
  switch (config.module) {
    case 'multicast':
      return new MulticastListener(
        {
          name: config.name,
          family: config.family,
          address: config.address,
          port: config.port,
          interface: config.interface,
          key: deps.keys.source(config.keyFile),
          minimumHash: config.hash,
          auth: config.auth,
        },
        ctx,
      );
    case 'tcp':
      return new StreamRequestListener<TcpPeer>(
        new TcpAcceptor(config.address, config.port),
        {
          name: config.name,
          key: deps.keys.source(config.keyFile),
          minimumHash: config.hash,
          auth: config.auth,
          sourceOf: (peer) => peer.address,
          identify: (peer) => ({ listener: config.name, display: peer.address, addresses: [peer.address], domains: [] }),
        },
        ctx,
      );
    case 'vsock':
      return new VsockListener(
        new VsockAcceptor(config.port),
        {
          name: config.name,
          key: deps.keys.source(config.keyFile),
          minimumHash: config.hash,
          auth: config.auth,
          sourceOf: (peer) => `cid ${peer.cid}`,
        },
        new VsockDomainDirectory(() => deps.backendUris.map((uri) => ctx.libvirt.get(uri)), ctx.log),
        ctx,
      );
    case 'serial':
      return new SerialListener(
        { name: config.name, uri: config.uri ?? defaultLibvirtUri(), mode: config.mode, directory: config.path },
        ctx,
      );
  }
}

/** Key files the configured listeners need; the serial listener uses none (the C daemon still demanded one). */
export function keyFilesOf(listeners: readonly ListenerConfig[]): string[] {
  return listeners.flatMap((l) => (l.module === 'serial' ? [] : [l.keyFile]));
}
