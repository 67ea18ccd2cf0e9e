import type { Listener, ListenerContext } from '../listener.js';
import { DomainSocketWatch } from './domain-sockets-watch.js';
import type { SerialMode } from './domain-sockets.js';
import { serveGuestSocket } from './session.js';

export interface SerialListenerSettings {
  name: string;
  /** libvirt URI whose domains are watched; the connection is the daemon's shared one for it. */
  uri: string;
  mode: SerialMode;
  /** Only sockets in this directory count; undefined = any. */
  directory: string | undefined;
}

/**
 * The serial/vmchannel listener: connects to the unix sockets qemu offers for the guests' serial ports
 * or channels and serves requests on each, with the owning VM as the requester. No key and no
 * authentication exist on this path (the channel is private to one VM); the permission map is what
 * limits guests.
 */
export class SerialListener implements Listener {
  readonly name: string;
  private watch: DomainSocketWatch | undefined;

  constructor(
    private readonly settings: SerialListenerSettings,
    private readonly ctx: ListenerContext,
  ) {
    this.name = settings.name;
  }

  async start(): Promise<void> {
    const { uri, mode, directory } = this.settings;
    const client = await this.ctx.libvirt.get(uri);
    const deps = { listener: this.name, dispatcher: this.ctx.dispatcher, core: this.ctx.core, log: this.ctx.log };
    // The session logs what goes wrong on its socket and ends with it; the watch reopens the socket.
    const watch = new DomainSocketWatch(client, { mode, directory }, this.ctx.log, (socket, endpoint) =>
      serveGuestSocket(socket, endpoint, deps),
    );
    await watch.start();
    this.watch = watch;
    this.ctx.log.notice(`serving ${mode} sockets in ${directory ?? 'any directory'} of ${uri} domains (${watch.endpoints().length} open)`);
  }

  async stop(): Promise<void> {
    await this.watch?.stop();
    this.watch = undefined;
  }

  /** The guest sockets being served now. */
  endpoints() {
    return this.watch?.endpoints() ?? [];
  }
}
