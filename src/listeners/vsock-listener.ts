import type { Requester } from '../daemon/dispatcher.js';
import type { VsockAddress } from '../transport/vsock.js';
import type { Listener, ListenerContext } from './listener.js';
import { StreamRequestListener, type StreamAcceptor, type StreamListenerSettings } from './stream-listener.js';
import type { VsockDomain, VsockDomainDirectory } from './vsock-domains.js';

export type VsockListenerSettings = Omit<StreamListenerSettings<VsockAddress>, 'identify'>;

/**
 * The requester behind a vsock peer. Its CID in decimal is matched against `ip` entries of the groups,
 * as in C (PROTOCOL.md §4.4, §6); beyond C, the domain owning the CID is a requester identity too, by
 * UUID and by name, matched against `uuid` entries.
 */
export function vsockRequester(listener: string, peer: VsockAddress, domain: VsockDomain | undefined): Requester {
  const cid = String(peer.cid);
  return {
    listener,
    display: domain ? `cid ${cid} (${domain.name})` : `cid ${cid}`,
    addresses: [cid],
    domains: domain ? [domain.uuid, domain.name] : [],
  };
}

/**
 * The vsock listener: exactly the TCP flow (StreamRequestListener) over vsock connections, with the
 * peer resolved to its domain. The acceptor is the real vsock socket in the daemon; tests put another
 * stream transport in its place.
 */
export class VsockListener implements Listener {
  readonly name: string;
  private readonly stream: StreamRequestListener<VsockAddress>;

  constructor(
    acceptor: StreamAcceptor<VsockAddress>,
    settings: VsockListenerSettings,
    private readonly domains: VsockDomainDirectory,
    ctx: ListenerContext,
  ) {
    this.name = settings.name;
    const identify = async (peer: VsockAddress): Promise<Requester> => vsockRequester(settings.name, peer, await domains.lookup(peer.cid));
    this.stream = new StreamRequestListener(acceptor, { ...settings, identify }, ctx);
  }

  async start(): Promise<void> {
    await this.domains.start();
    try {
      await this.stream.start();
    } catch (err) {
      this.domains.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.stream.stop();
    this.domains.stop();
  }
}
