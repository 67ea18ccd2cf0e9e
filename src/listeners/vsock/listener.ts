import type { Requester } from '../../core/requester.js';
import type { VsockAddress } from '../../native/vsock.js';
import type { Listener, ListenerContext } from '../listener.js';
import { StreamRequestListener, type StreamAcceptor, type StreamListenerSettings } from '../stream-listener.js';
import type { VsockDomain, VsockDomainDirectory } from './domains.js';

export type VsockListenerSettings = Omit<StreamListenerSettings<VsockAddress>, 'identify'>;

/**
 * The requester behind a vsock peer. Its CID in decimal is matched against `ip` entries of the groups,
 * as in C; beyond C, the UUID of the running domain that holds the CID is matched against `uuid`
 * entries. Never the domain's name: a guest picks its own name, and a name equal to a `uuid` entry
 * (in any letter case) must not make it a member. The name appears in logs only.
 */
export function vsockRequester(listener: string, peer: VsockAddress, domain: VsockDomain | undefined): Requester {
  const cid = String(peer.cid);
  return {
    listener,
    display: domain ? `cid ${cid} (${domain.name})` : `cid ${cid}`,
    addresses: [cid],
    domains: domain ? [domain.uuid] : [],
  };
}

/**
 * The vsock listener: exactly the TCP flow (StreamRequestListener) over vsock connections, with the
 * peer resolved to its domain from libvirt data newer than the connection's accept. The acceptor is the
 * real vsock socket in the daemon; tests put another stream transport in its place.
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
    const identify = async (peer: VsockAddress, acceptedAt: number): Promise<Requester> =>
      vsockRequester(settings.name, peer, await domains.lookup(peer.cid, acceptedAt));
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
