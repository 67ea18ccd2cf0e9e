import type { Logger } from '../util/log.js';
import { LibvirtClient, type LibvirtClientOptions } from './client.js';

/**
 * One libvirt connection per URI for the whole daemon. The backend and the listeners that watch
 * domains (serial, vsock) must share it: on the test driver each connection has its own state, and on
 * real hypervisors one connection is simply cheaper than several.
 */
export class LibvirtConnectionPool {
  private readonly clients = new Map<string, Promise<LibvirtClient>>();

  constructor(
    private readonly logger: Logger,
    private readonly options: Omit<LibvirtClientOptions, 'uri' | 'logger'> = {},
  ) {}

  /** The shared connection for `uri`, opened on first use; a failed open is retried on the next call. */
  get(uri: string): Promise<LibvirtClient> {
    let client = this.clients.get(uri);
    if (!client) {
      client = LibvirtClient.open({ ...this.options, uri, logger: this.logger });
      this.clients.set(uri, client);
      client.catch(() => this.clients.delete(uri));
    }
    return client;
  }

  async closeAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(all.map(async (c) => (await c).close()));
  }
}

/** The URI libvirt itself picks when none is configured (LIBVIRT_DEFAULT_URI, else the system qemu). */
export function defaultLibvirtUri(): string {
  return process.env.LIBVIRT_DEFAULT_URI || 'qemu:///system';
}
