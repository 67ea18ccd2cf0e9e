/** Every domain of a connection with its state, in as few round trips to libvirtd as it allows. */
import { mapLimited } from '../util/map-limited.js';
import type { Logger } from '../util/log.js';
import type { LibvirtClient } from './client.js';
import { isNoSuchDomain, LibvirtError } from './errors.js';
import { DOMAIN_STATS_STATE, ErrorCode } from './protocol.js';
import type { Domain } from './remote-types.js';

export interface DomainWithState {
  dom: Domain;
  /** virDomainState, as virDomainGetInfo gives it. */
  state: number;
}

/** Domain states asked at once where each is asked alone: enough to keep libvirt busy, few enough to stay small. */
const ONE_BY_ONE_CONCURRENCY = 32;
/** The domain-statistics field that holds virDomainState. */
const STATE_FIELD = 'state.state';
/** The largest state virDomainGetInfo can give (an unsigned char). */
const MAX_STATE = 0xff;
/** Connections where virConnectGetAllDomainStats does not exist: not asked it again. */
const withoutStats = new WeakSet<LibvirtClient>();

/**
 * Every domain, active and inactive, with its state: in one round trip (virConnectGetAllDomainStats,
 * state group, sent with the list; 1,000 domains take one instead of 1,001) where libvirtd and its
 * driver have that call, else the list and one virDomainGetInfo per domain (what C does). Domains
 * undefined between the list and their state are left out. Rejects when libvirt fails otherwise: a
 * caller never gets a partial list.
 */
export async function listDomainStates(client: LibvirtClient, log: Logger): Promise<DomainWithState[]> {
  // Sent with the statistics call, in the same round trip (see fromDomainStats).
  const listing = client.listAllDomains();
  listing.catch(() => undefined); // awaited below, unless the statistics call throws first
  const fromStats = withoutStats.has(client) ? null : await fromDomainStats(client, log, listing);
  return fromStats ?? (await statesOneByOne(client, await listing));
}

/**
 * Null where the statistics call failed with a libvirt error (the caller lists one by one instead). The
 * domains `listing` has and the statistics lack are asked one by one too: libvirt's access control
 * filters the statistics by another permission than the list, and a domain that may be listed but not
 * read must fail the listing (as its virDomainGetInfo does, and did), not go missing from a list
 * answered as complete.
 */
async function fromDomainStats(client: LibvirtClient, log: Logger, listing: Promise<Domain[]>): Promise<DomainWithState[] | null> {
  let records;
  try {
    records = await client.getAllDomainStats(DOMAIN_STATS_STATE);
  } catch (err) {
    if (!(err instanceof LibvirtError)) throw err;
    // The driver lacks it (NoSupport), or libvirtd does (an unknown procedure is an RPC error).
    if (err.code === ErrorCode.NoSupport || err.code === ErrorCode.Rpc) withoutStats.add(client);
    log.info(`listing the domains of ${client.uri} one by one: domain statistics failed: ${err.message}`);
    return null;
  }
  const found: DomainWithState[] = [];
  const inStats = new Set(records.map(({ dom }) => dom.uuid));
  const withoutState = (await listing).filter((dom) => !inStats.has(dom.uuid));
  for (const { dom, params } of records) {
    const state = params.find((p) => p.field === STATE_FIELD)?.value;
    // libvirtd sends an int; a value virDomainGetInfo could not give (its state is an unsigned char)
    // comes from a broken reply, and that domain is asked as C asks.
    if (typeof state === 'number' && Number.isInteger(state) && state >= 0 && state <= MAX_STATE) found.push({ dom, state });
    else withoutState.push(dom);
  }
  return withoutState.length === 0 ? found : [...found, ...(await statesOneByOne(client, withoutState))];
}

/** `domains` with their states, one virDomainGetInfo each (a few under way at once): the fallback, and what C does. */
export async function statesOneByOne(client: LibvirtClient, domains: readonly Domain[]): Promise<DomainWithState[]> {
  const found = await mapLimited(domains, ONE_BY_ONE_CONCURRENCY, (dom) =>
    client.getInfo(dom).then(
      (info): DomainWithState | null => ({ dom, state: info.state }),
      (err: unknown) => {
        if (isNoSuchDomain(err)) return null; // undefined between the list and the info
        throw err;
      },
    ),
  );
  return found.filter((d): d is DomainWithState => d !== null);
}
