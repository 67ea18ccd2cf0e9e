import { isNoSuchDomain, ListDomainsFlag, type Domain, type LibvirtClient } from '../../libvirt/index.js';
import type { Logger } from '../../util/log.js';
import { vsockCidOf } from './cid.js';
import { monotonicMs } from '../../util/clock.js';

/** The running domain that owns a guest CID. */
export interface VsockDomain {
  name: string;
  uuid: string;
}

/** The libvirt calls the directory makes: the daemon passes its shared clients, tests may count the calls. */
export type VsockLibvirt = Pick<LibvirtClient, 'uri' | 'listAllDomains' | 'getXmlDesc'>;

export interface VsockDomainDirectoryOptions {
  /** Bound on each libvirt call: a hung libvirtd must not hold a peer long (ms). */
  callTimeoutMs?: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 5_000;

/** What one libvirt connection's scan saw; null marks a CID claimed by two domains. */
type CidTable = Map<number, Domain | null>;

/** What one connection says about a CID: its owner, nobody, or 'unknown' (libvirt failed, or claimed twice). */
type Claim = Domain | 'nobody' | 'unknown';

function claimIn(table: CidTable, cid: number): Claim {
  const owner = table.get(cid);
  if (owner === null) return 'unknown';
  return owner ?? 'nobody';
}

/**
 * The CIDs of one libvirt connection's running domains. Every answer rests on libvirt calls made after
 * the connection was accepted: the last scan only says which domain to ask first. Lifecycle events are
 * not needed for that, and waiting for them would not help: libvirtd may deliver the event of a guest
 * that took over a CID after the new guest has already connected.
 */
class ConnectionCids {
  /** The last scan's table and when that scan started (monotonicMs()). */
  private hints: CidTable = new Map();
  private hintsFrom = -Infinity;
  private running: { startedAt: number; table: Promise<CidTable | undefined> } | undefined;
  private queued: Promise<CidTable | undefined> | undefined;

  constructor(
    private readonly client: VsockLibvirt,
    private readonly log: Logger,
    private readonly callTimeoutMs: number,
  ) {}

  /** Who holds `cid` according to libvirt data obtained after `acceptedAt`. Never rejects. */
  async claim(cid: number, acceptedAt: number): Promise<Claim> {
    if (this.hintsFrom > acceptedAt) return claimIn(this.hints, cid);
    const hint = this.hints.get(cid);
    if (hint) {
      const confirmed = await this.confirm(hint, cid);
      if (confirmed !== 'stale') return confirmed;
    }
    const table = await this.scanAfter(acceptedAt);
    return table ? claimIn(table, cid) : 'unknown';
  }

  /**
   * Whether the hinted domain holds the CID now: one XML call, since only a running domain's live XML
   * carries an id and the CID it holds. A second running domain cannot hold the same CID on a real
   * hypervisor (the host kernel refuses to give one CID to two guests), so this single check suffices.
   */
  private async confirm(hint: Domain, cid: number): Promise<Domain | 'stale' | 'unknown'> {
    try {
      const xml = await this.client.getXmlDesc(hint, 0, { timeoutMs: this.callTimeoutMs });
      if (vsockCidOf(xml) === cid) return hint;
    } catch (err) {
      if (!isNoSuchDomain(err)) {
        this.log.warn(`cannot confirm that '${hint.name}' holds CID ${cid} on ${this.client.uri}: ${(err as Error).message}`);
        return 'unknown';
      }
    }
    this.log.debug(`CID ${cid} is no longer held by '${hint.name}' on ${this.client.uri}; scanning`);
    return 'stale';
  }

  /**
   * The table of a scan that started after `acceptedAt`. Lookups share scans: one that started after
   * their accept if there is one; else the next, which starts when the running one ends (at most one
   * scan per connection at a time, however many peers connect).
   */
  private scanAfter(acceptedAt: number): Promise<CidTable | undefined> {
    const running = this.running;
    if (!running) return this.startScan();
    if (running.startedAt > acceptedAt) return running.table;
    this.queued ??= running.table.then(() => {
      this.queued = undefined;
      // A scan started meanwhile began after every waiter here was accepted.
      return this.running?.table ?? this.startScan();
    });
    return this.queued;
  }

  private startScan(): Promise<CidTable | undefined> {
    const startedAt = monotonicMs();
    const table: Promise<CidTable | undefined> = this.scan(startedAt).finally(() => {
      if (this.running?.table === table) this.running = undefined;
    });
    this.running = { startedAt, table };
    return table;
  }

  /** One list call plus one XML call per running domain; undefined when libvirt failed. */
  private async scan(startedAt: number): Promise<CidTable | undefined> {
    const o = { timeoutMs: this.callTimeoutMs };
    try {
      const domains = await this.client.listAllDomains(ListDomainsFlag.Active, o);
      const xmls = await Promise.all(domains.map((dom) => this.client.getXmlDesc(dom, 0, o).catch(gone)));
      const table: CidTable = new Map();
      domains.forEach((dom, i) => {
        const cid = this.cidOf(dom.name, xmls[i]);
        if (cid === undefined) return;
        if (table.has(cid))
          this.log.warn(`CID ${cid} is claimed by several domains on ${this.client.uri} ('${dom.name}' among them); none gets it`);
        table.set(cid, table.has(cid) ? null : dom);
      });
      this.keepHints(table, startedAt);
      // Sorted by CID: libvirtd lists domains in hash-table order, which changes from one libvirtd to the next.
      const byCid = [...table].sort(([a], [b]) => a - b);
      this.log.debug(
        `vsock CIDs on ${this.client.uri}: ${byCid.map(([cid, d]) => `${cid}=${d?.name ?? '(claimed twice)'}`).join(', ') || 'none'}`,
      );
      return table;
    } catch (err) {
      this.log.warn(`cannot map vsock CIDs to domains on ${this.client.uri}: ${(err as Error).message}`);
      this.keepHints(new Map(), -Infinity);
      return undefined;
    }
  }

  private keepHints(table: CidTable, startedAt: number): void {
    this.hints = table;
    this.hintsFrom = startedAt;
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
  if (isNoSuchDomain(err)) return undefined;
  throw err;
}

/**
 * Which running domain owns a vsock peer's CID, from the live XML of the domains on the daemon's
 * libvirt connections, fetched after the peer's connection was accepted: a CID that a new guest took
 * over since an earlier scan is never credited to the guest that held it before. A CID nobody holds,
 * held on two connections or twice on one, or asked while libvirt fails, has no domain.
 */
export class VsockDomainDirectory {
  private sources: ConnectionCids[] = [];
  private readonly callTimeoutMs: number;

  constructor(
    /** The connections to consult, resolved at start (the backend's; those that failed are skipped). */
    private readonly connections: () => Promise<VsockLibvirt>[],
    private readonly log: Logger,
    options: VsockDomainDirectoryOptions = {},
  ) {
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  async start(): Promise<void> {
    const results = await Promise.allSettled(this.connections());
    const clients = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    this.sources = clients.map((client) => new ConnectionCids(client, this.log, this.callTimeoutMs));
  }

  stop(): void {
    this.sources = [];
  }

  /** The domain holding `cid`; `acceptedAt` is monotonicMs() at the connection's accept. */
  async lookup(cid: number, acceptedAt: number): Promise<VsockDomain | undefined> {
    const claims = await Promise.all(this.sources.map((s) => s.claim(cid, acceptedAt)));
    if (claims.includes('unknown')) return undefined;
    const owners = claims.filter((c): c is Domain => typeof c !== 'string');
    if (owners.length > 1) {
      this.log.warn(`CID ${cid} is claimed on several libvirt connections; it has no domain identity`);
      return undefined;
    }
    const owner = owners[0];
    return owner && { name: owner.name, uuid: owner.uuid };
  }
}
