import { ErrorCode, LibvirtError, ListDomainsFlag, type LibvirtClient } from '../libvirt/index.js';
import type { Logger } from '../util/log.js';
import { vsockCidOf } from './vsock-cid.js';

/** The running domain that owns a guest CID. */
export interface VsockDomain {
  name: string;
  uuid: string;
}

/** A scan is one list call plus one XML call per running domain; a hung libvirtd must not hold a peer long. */
const SCAN_CALL_TIMEOUT_MS = 5_000;

/** What one libvirt connection says about CIDs; null marks a CID claimed by two domains. */
type CidTable = Map<number, VsockDomain | null>;

class WatchedConnection {
  private table: CidTable = new Map();
  /** Bumped by every event that may change which domain runs with which CID. */
  private generation = 0;
  private scannedGeneration = -1;
  private scan: Promise<CidTable> | undefined;
  /** Without lifecycle events nothing says when the table is out of date: scan on every lookup. */
  private watching = false;
  readonly invalidate = (): void => void this.generation++;

  constructor(
    readonly client: LibvirtClient,
    private readonly log: Logger,
  ) {}

  async attach(): Promise<void> {
    for (const event of ['lifecycle', 'connected', 'disconnected'] as const) this.client.on(event, this.invalidate);
    try {
      await this.client.enableLifecycleEvents();
      this.watching = true;
    } catch (err) {
      this.log.warn(`no lifecycle events from ${this.client.uri}, scanning its domains on every vsock connection: ${(err as Error).message}`);
    }
  }

  detach(): void {
    // The connection is shared (backend, serial listener): leave its event registration alone.
    for (const event of ['lifecycle', 'connected', 'disconnected'] as const) this.client.off(event, this.invalidate);
  }

  /** The CID table, rescanned only when an event came since the last scan. Never rejects. */
  current(): Promise<CidTable> {
    if (this.watching && this.scannedGeneration === this.generation) return Promise.resolve(this.table);
    this.scan ??= this.rescan().finally(() => (this.scan = undefined));
    return this.scan;
  }

  private async rescan(): Promise<CidTable> {
    const generation = this.generation;
    const o = { timeoutMs: SCAN_CALL_TIMEOUT_MS };
    try {
      const domains = await this.client.listAllDomains(ListDomainsFlag.Active, o);
      const xmls = await Promise.all(domains.map((dom) => this.client.getXmlDesc(dom, 0, o).catch(gone)));
      const table: CidTable = new Map();
      domains.forEach((dom, i) => {
        const cid = this.cidOf(dom.name, xmls[i]);
        if (cid === undefined) return;
        if (table.has(cid)) this.log.warn(`CID ${cid} is claimed by several domains on ${this.client.uri} ('${dom.name}' among them); none gets it`);
        table.set(cid, table.has(cid) ? null : { name: dom.name, uuid: dom.uuid });
      });
      this.table = table;
      this.scannedGeneration = generation;
      // Sorted by CID: libvirtd lists domains in hash-table order, which changes from one libvirtd to the next.
      const byCid = [...table].sort(([a], [b]) => a - b);
      this.log.debug(`vsock CIDs on ${this.client.uri}: ${byCid.map(([cid, d]) => `${cid}=${d?.name ?? '(claimed twice)'}`).join(', ') || 'none'}`);
    } catch (err) {
      // A stale table could give a new guest the identity of one that stopped: forget it instead.
      this.log.warn(`cannot map vsock CIDs to domains on ${this.client.uri}: ${(err as Error).message}`);
      this.table = new Map();
    }
    return this.table;
  }

  /** One unreadable description costs that domain its identity, not every other domain theirs. */
  private cidOf(name: string, xml: string | undefined): number | undefined {
    if (xml === undefined) return undefined;
    try {
      return vsockCidOf(xml);
    } catch (err) {
      this.log.warn(`cannot read the live XML of '${name}' on ${this.client.uri}: ${(err as Error).message}`);
      return undefined;
    }
  }
}

/** A domain undefined between the list and its XML simply has no CID. */
function gone(err: unknown): undefined {
  if (err instanceof LibvirtError && err.code === ErrorCode.NoDomain) return undefined;
  throw err;
}

/**
 * Which running domain owns a vsock peer's CID, from the live XML of the domains on the daemon's
 * libvirt connections. The table is kept per connection and rebuilt lazily after a lifecycle event
 * (or a reconnect), so a burst of guest connections costs no libvirt calls. A CID nobody claims, or
 * claimed twice, has no domain.
 */
export class VsockDomainDirectory {
  private watched: WatchedConnection[] = [];

  constructor(
    /** The connections to consult, resolved at start (the backend's; those that failed are skipped). */
    private readonly connections: () => Promise<LibvirtClient>[],
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const results = await Promise.allSettled(this.connections());
    const clients = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    this.watched = clients.map((client) => new WatchedConnection(client, this.log));
    await Promise.all(this.watched.map((w) => w.attach()));
  }

  stop(): void {
    for (const w of this.watched) w.detach();
    this.watched = [];
  }

  async lookup(cid: number): Promise<VsockDomain | undefined> {
    const tables = await Promise.all(this.watched.map((w) => w.current()));
    const owners = tables.filter((t) => t.has(cid)).map((t) => t.get(cid));
    if (owners.length > 1) {
      this.log.warn(`CID ${cid} is claimed on several libvirt connections; it has no domain identity`);
      return undefined;
    }
    return owners[0] ?? undefined;
  }
}
