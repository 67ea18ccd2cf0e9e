/**
 * Keeps one connection to each guest socket the serial listener serves
 * (docs/protocol.md#guest-socket-discovery), driven by libvirt instead of polling: a full scan at start
 * and after every reconnect to libvirtd (C's event thread dies with the connection:
 * docs/compatibility.md, row 'libvirtd restart'), and a re-check of one domain on each of its lifecycle
 * events. A re-check reads the domain's current state and live XML and makes the open sockets match:
 * every socket of a VM is opened and closed (C closes only the first:
 * row 'stopped domain with several sockets'). A socket that ends on its own is dropped at once (C spins
 * on the EOF: row 'guest socket at end of file') and reopened after a growing delay while the domain
 * still lists it; a started or stopped domain resets the delay.
 */
import type { Socket } from 'node:net';
import {
  isNoSuchDomain,
  LibvirtConnectionError,
  LifecycleEventType,
  ListDomainsFlag,
  type LibvirtClient,
  type LifecycleEvent,
} from '../../libvirt/index.js';
import { DomainState } from '../../protocol/constants.js';
import { connectWithin } from '../../util/connect.js';
import { DirectReads } from '../../util/direct-reads.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { settleHeapAfter } from '../../util/heap-settle.js';
import { mapLimited } from '../../util/map-limited.js';
import type { Logger } from '../../util/log.js';
import { boundSocketPaths, inSocketDirectory, type SerialMode } from './domain-sockets.js';

/** A guest socket and the domain it belongs to (the requester identity of what comes over it). */
export interface GuestEndpoint {
  uuid: string;
  name: string;
  path: string;
}

export interface DomainSocketWatchSettings {
  mode: SerialMode;
  /** Only sockets in this directory; undefined = any. */
  directory: string | undefined;
  /** Unix connect deadline (C: 3 s). */
  connectTimeoutMs?: number;
  /** Reopen delays after a socket failed or ended: first, doubled up to the maximum. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** Domains re-checked at once during a scan (libvirt answers one connection's calls in turn). */
const SCAN_CONCURRENCY = 16;

/** A socket that stayed open this long was healthy: its end starts the retry delays afresh. */
const STABLE_MS = 10_000;

/** An open guest socket: also the endpoint its session serves (one object per guest, not two). */
interface OpenSocket extends GuestEndpoint {
  socket: Socket;
  openedAt: number;
}

/** A guest socket just connected, and its reads (kept until it is served). */
interface Connection {
  socket: Socket;
  reads: DirectReads;
}

interface WatchedDomain {
  name: string;
  /** Usually one; an array, not a Map: thousands of domains each pay for it. */
  sockets: OpenSocket[];
  retryTimer: NodeJS.Timeout | undefined;
  /** Consecutive failed or short-lived attempts: the next retry waits min * 2^failures. */
  failures: number;
}

export class DomainSocketWatch {
  private readonly domains = new Map<string, WatchedDomain>();
  private readonly perDomain = new KeyedMutex();
  private stopped = false;
  private readonly connectTimeoutMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly onLifecycle = (event: LifecycleEvent): void => this.onEvent(event);
  // scan and recheck log libvirt's failures themselves and leave the next try to an event or a timer.
  private readonly onConnected = (): void => void this.scan('libvirt reconnected');

  constructor(
    private readonly client: LibvirtClient,
    private readonly settings: DomainSocketWatchSettings,
    private readonly log: Logger,
    /**
     * Called with each newly opened socket, answers where the socket's reads go (they come without
     * 'data' events); the watch destroys the socket when the domain no longer has it.
     */
    private readonly serve: (socket: Socket, endpoint: GuestEndpoint) => (bytes: Buffer) => void,
  ) {
    this.connectTimeoutMs = settings.connectTimeoutMs ?? 3_000;
    this.retryMinMs = settings.retryMinMs ?? 500;
    this.retryMaxMs = settings.retryMaxMs ?? 30_000;
  }

  /** Subscribes to events, then scans: sockets of domains running now are open when this resolves. */
  async start(): Promise<void> {
    this.client.on('lifecycle', this.onLifecycle);
    this.client.on('connected', this.onConnected);
    try {
      await this.client.enableLifecycleEvents();
    } catch (err) {
      this.stopWatching();
      throw new Error(`cannot subscribe to libvirt domain events on ${this.client.uri}: ${(err as Error).message}`);
    }
    await this.scan('start');
  }

  /**
   * Closes every socket and stops watching. Lifecycle events stay enabled on the shared connection:
   * other listeners may use them.
   */
  async stop(): Promise<void> {
    this.stopWatching();
    for (const domain of this.domains.values()) {
      clearTimeout(domain.retryTimer);
      for (const open of domain.sockets) this.close(domain, open, 'the listener stops');
    }
    this.domains.clear();
  }

  /** The sockets open now. */
  endpoints(): GuestEndpoint[] {
    return [...this.domains.values()].flatMap((d) => d.sockets.map(({ uuid, name, path }) => ({ uuid, name, path })));
  }

  private stopWatching(): void {
    this.stopped = true;
    this.client.off('lifecycle', this.onLifecycle);
    this.client.off('connected', this.onConnected);
  }

  private onEvent(event: LifecycleEvent): void {
    // A started or stopped domain has a new qemu or none: what we had open belonged to the old one.
    const change =
      event.event === LifecycleEventType.Started ? 'started' : event.event === LifecycleEventType.Stopped ? 'stopped' : undefined;
    void this.recheck(event.uuid, event.name, change && `domain ${event.name} ${change}`);
  }

  /** Re-checks every active domain and every domain we hold sockets of. */
  private async scan(why: string): Promise<void> {
    let active;
    try {
      active = await this.client.listAllDomains(ListDomainsFlag.Active);
    } catch (err) {
      // Disconnected: the 'connected' event brings the next scan.
      this.log.warn(`cannot list domains (${why}): ${(err as Error).message}`);
      return;
    }
    const uuids = new Map(active.map((d) => [d.uuid, d.name]));
    for (const [uuid, domain] of this.domains) if (!uuids.has(uuid)) uuids.set(uuid, domain.name);
    await mapLimited([...uuids], SCAN_CONCURRENCY, ([uuid, name]) => this.recheck(uuid, name));
    settleHeapAfter(uuids.size);
  }

  /**
   * Makes the open sockets of one domain match its current truth; `restart` first closes them all.
   * One domain's re-checks run in order, so a restart never lands in the middle of another one.
   */
  private recheck(uuid: string, name: string, restart?: string): Promise<void> {
    return this.perDomain.run(uuid, async () => {
      const domain = this.domains.get(uuid);
      if (restart && domain) {
        domain.failures = 0;
        for (const open of domain.sockets) this.close(domain, open, restart);
      }
      await this.reconcile(uuid, name);
    });
  }

  private async reconcile(uuid: string, name: string): Promise<void> {
    if (this.stopped) return;
    const wanted = await this.wantedPaths(uuid, name);
    if (wanted === undefined || this.stopped) return;
    let domain = this.domains.get(uuid);
    if (!domain) {
      if (wanted.length === 0) return;
      domain = { name, sockets: [], retryTimer: undefined, failures: 0 };
      this.domains.set(uuid, domain);
    }
    clearTimeout(domain.retryTimer);
    domain.retryTimer = undefined;
    for (const open of domain.sockets) {
      if (!wanted.includes(open.path)) this.close(domain, open, `domain ${name} no longer has it`);
    }
    const missing = wanted.filter((path) => !domain.sockets.some((open) => open.path === path));
    const opened = await Promise.all(missing.map((path) => this.open(path, domain)));
    if (this.stopped) {
      for (const connection of opened) connection?.socket.destroy();
      return;
    }
    missing.forEach((path, i) => {
      const connection = opened[i];
      if (connection) this.attach(uuid, domain, path, connection);
    });
    if (opened.includes(undefined)) this.retryLater(uuid, domain);
    else if (domain.sockets.length === 0) this.domains.delete(uuid);
  }

  /** Socket paths the domain has now; [] if it is not running; undefined if libvirt cannot tell. */
  private async wantedPaths(uuid: string, name: string): Promise<string[] | undefined> {
    try {
      const dom = await this.client.lookupByUuid(uuid);
      const { state } = await this.client.getState(dom);
      // As C: shut-off and crashed domains have no qemu to talk to; paused ones do.
      if (state === DomainState.SHUTOFF || state === DomainState.CRASHED) return [];
      const xml = await this.client.getXmlDesc(dom, 0);
      return boundSocketPaths(xml, this.settings.mode).filter((path) => inSocketDirectory(path, this.settings.directory));
    } catch (err) {
      if (isNoSuchDomain(err)) return [];
      // Disconnected: the scan after the reconnect re-checks this domain.
      if (err instanceof LibvirtConnectionError) this.log.debug(`cannot check domain ${name}: ${err.message}`);
      else this.log.warn(`cannot read the devices of domain ${name} (${uuid}): ${(err as Error).message}`);
      return undefined;
    }
  }

  private async open(path: string, domain: WatchedDomain): Promise<Connection | undefined> {
    const reads = new DirectReads();
    try {
      return { socket: await connectWithin({ path, onread: reads.onread }, this.connectTimeoutMs), reads };
    } catch (err) {
      // The first failure is worth a warning; repeats of it only at debug level.
      const line = `cannot connect to ${path} of domain ${domain.name}: ${(err as Error).message}`;
      if (domain.failures === 0) this.log.warn(line);
      else this.log.debug(line);
      return undefined;
    }
  }

  private attach(uuid: string, domain: WatchedDomain, path: string, { socket, reads }: Connection): void {
    const open: OpenSocket = { uuid, name: domain.name, path, socket, openedAt: Date.now() };
    domain.sockets = [...domain.sockets, open];
    // The reader reports errors that matter; 'close' follows every one.
    socket.on('close', () => this.closed(domain, open));
    this.log.info(`registered ${path} of domain ${domain.name} (${uuid})`);
    reads.readTo(this.serve(socket, open));
  }

  /** A socket closed: by us (already removed), or on its own (removed now, and tried again later). */
  private closed(domain: WatchedDomain, open: OpenSocket): void {
    if (!domain.sockets.includes(open) || this.stopped) return;
    domain.sockets = domain.sockets.filter((o) => o !== open);
    if (Date.now() - open.openedAt >= STABLE_MS) domain.failures = 0;
    this.log.info(`socket ${open.path} of domain ${domain.name} closed`);
    this.retryLater(open.uuid, domain);
  }

  private close(domain: WatchedDomain, open: OpenSocket, why: string): void {
    if (!domain.sockets.includes(open)) return;
    domain.sockets = domain.sockets.filter((o) => o !== open);
    open.socket.destroy();
    this.log.info(`dropped ${open.path} of domain ${domain.name} (${open.uuid}): ${why}`);
  }

  private retryLater(uuid: string, domain: WatchedDomain): void {
    if (this.stopped || domain.retryTimer) return;
    const delay = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** domain.failures);
    domain.failures++;
    this.log.debug(`re-checking domain ${domain.name} in ${delay} ms`);
    domain.retryTimer = setTimeout(() => {
      domain.retryTimer = undefined;
      void this.recheck(uuid, domain.name);
    }, delay);
    domain.retryTimer.unref();
  }
}
