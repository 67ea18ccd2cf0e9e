/**
 * The libvirt fencing backend (docs/protocol.md#libvirt-backend): off/on/reboot/status of one domain and
 * the host list, over one or more libvirt connections, answering exactly what the C backend answers,
 * except where the C code is broken: the host list of several connections is complete and sorted
 * (docs/compatibility.md, row 'host list with several URIs'), and while libvirtd is unreachable
 * operations answer 1 at once instead of looping forever (row 'libvirtd unreachable').
 *
 * Connections: in the daemon they come from its LibvirtConnectionPool (the `connect` option), shared
 * with the serial and vsock listeners and closed by the pool; without `connect` the backend opens and
 * closes its own. The sharing matters on libvirt's test driver: a node loaded from a file
 * (`test:///PATH.xml`, or `test+unix:///PATH.xml` through libvirtd) keeps its state per connection, so
 * a change made on one connection is invisible on every other, and parts of the daemon that must see
 * each other's changes need the same connection.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isNoSuchDomain,
  LibvirtClient,
  LibvirtError,
  UnsupportedUriError,
  type Domain,
  type LibvirtClientOptions,
} from '../../libvirt/index.js';
import { DomainState, Response } from '../../protocol/constants.js';
import { isUuidString } from '../../protocol/uuid.js';
import type { Logger } from '../../util/log.js';
import { BackendStartError, type FenceBackend, type HostInfo, type HostList, type RequestOrigin } from '../backend.js';

export interface LibvirtBackendOptions {
  /** Pause between checks that a destroyed domain is gone during reboot (C: 1 s). */
  pollIntervalMs?: number;
  /** How long reboot waits for the destroyed domain to be gone or shut off (C: 15 s). */
  rebootWaitMs?: number;
  /** Passed to every LibvirtClient the backend opens itself: call/connect timeouts, keepalive, reconnect backoff. */
  client?: Omit<LibvirtClientOptions, 'uri' | 'logger'>;
  /**
   * Where connections come from when they are shared with other parts of the daemon (a
   * LibvirtConnectionPool); the backend then leaves closing them to their owner.
   */
  connect?: (uri: string) => Promise<LibvirtClient>;
}

/** No configured URI could be opened; permanent when every one was refused for good (see `refusedForGood`). */
export class LibvirtBackendInitError extends BackendStartError {
  override name = 'LibvirtBackendInitError';
}

/**
 * Whether opening a URI failed in a way waiting cannot cure: libvirtd answered the open with an error
 * (a misspelled `qemu:///sytem`, a missing test-driver file), or the URI is not one this client can
 * open. A socket that is not there yet, a refused or dropped connection or a timeout may get better.
 */
function refusedForGood(err: unknown): boolean {
  return err instanceof LibvirtError || err instanceof UnsupportedUriError;
}

interface Found {
  client: LibvirtClient;
  dom: Domain;
}

/** Why a domain was not found: nowhere, or some connection could not be asked. */
type NotFound = 'missing' | 'unavailable';

export class LibvirtBackend implements FenceBackend {
  readonly name = 'libvirt';
  private readonly pollIntervalMs: number;
  private readonly rebootWaitMs: number;
  private readonly ownsClients: boolean;

  private constructor(
    /** The open connections, in configured order (`uri`, `uri1`, …; URIs that failed at start are left out). */
    readonly clients: readonly LibvirtClient[],
    private readonly log: Logger,
    options: LibvirtBackendOptions,
  ) {
    this.ownsClients = options.connect === undefined;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.rebootWaitMs = options.rebootWaitMs ?? 15_000;
  }

  /** Opens every URI; those that fail are skipped with a warning. Rejects only if none opens. */
  static async open(uris: readonly string[], logger: Logger, options: LibvirtBackendOptions = {}): Promise<LibvirtBackend> {
    const log = logger.child('libvirt backend');
    const connect = options.connect ?? ((uri: string) => LibvirtClient.open({ ...options.client, uri, logger }));
    const results = await Promise.allSettled(uris.map(connect));
    const clients: LibvirtClient[] = [];
    const failures: string[] = [];
    let permanent = true;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') clients.push(r.value);
      else {
        const why = r.reason instanceof Error ? r.reason.message : String(r.reason);
        failures.push(why);
        permanent &&= refusedForGood(r.reason);
        log.warn(`skipping ${uris[i]}: ${why}`);
      }
    });
    if (clients.length === 0) {
      const detail = failures.length > 0 ? failures.join('; ') : 'no URI configured';
      throw new LibvirtBackendInitError(`could not connect to any hypervisor: ${detail}`, permanent);
    }
    return new LibvirtBackend(clients, log, options);
  }

  async resolve(domain: string): Promise<string | undefined> {
    const found = await this.find(domain);
    return typeof found === 'string' ? undefined : found.dom.uuid.toLowerCase();
  }

  /** libvirt cannot answer "null" meaningfully; the C backend always fails it. */
  async null(domain: string): Promise<number> {
    this.log.debug(`null request for '${domain}': not supported, answering failure`);
    return Response.FAIL;
  }

  async devstatus(): Promise<number> {
    return Response.SUCCESS;
  }

  async status(domain: string, origin: RequestOrigin): Promise<number> {
    const found = await this.find(domain);
    if (found === 'unavailable') return Response.FAIL;
    if (found === 'missing') {
      this.log.info(`status of '${domain}' (${describe(origin)}): no such domain, answering off`);
      return Response.OFF;
    }
    return (await this.stateOf(found)) === DomainState.SHUTOFF ? Response.OFF : Response.SUCCESS;
  }

  async off(domain: string, origin: RequestOrigin): Promise<number> {
    const found = await this.find(domain);
    if (typeof found === 'string') return this.notFound('off', domain, found);
    if ((await this.stateOf(found)) === DomainState.SHUTOFF) {
      this.log.info(`off '${found.dom.name}' (${describe(origin)}): already shut off`);
      return Response.SUCCESS;
    }
    return this.act(`destroying '${found.dom.name}' (${describe(origin)})`, () => found.client.destroy(found.dom));
  }

  async on(domain: string, origin: RequestOrigin): Promise<number> {
    const found = await this.find(domain);
    if (typeof found === 'string') return this.notFound('on', domain, found);
    const state = await this.stateOf(found);
    if (state !== null && state !== DomainState.SHUTOFF) {
      // Like C, a paused or crashed domain counts as on and is left as it is (kept on purpose:
      // docs/compatibility.md, "C behaviour kept on purpose", row 'on').
      this.log.info(`on '${found.dom.name}' (${describe(origin)}): already on (state ${state})`);
      return Response.SUCCESS;
    }
    return this.act(`starting '${found.dom.name}' (${describe(origin)})`, () => found.client.create(found.dom));
  }

  /**
   * Destroy, wait until gone or shut off, start again from the saved live XML. Answers 0 once the
   * destroy is confirmed, whether or not the restart works (like C); a failed restart is logged as an error.
   */
  async reboot(domain: string, origin: RequestOrigin): Promise<number> {
    const found = await this.find(domain);
    if (typeof found === 'string') return this.notFound('reboot', domain, found);
    const { client, dom } = found;
    const who = `'${dom.name}' (${describe(origin)})`;
    if ((await this.stateOf(found)) === DomainState.SHUTOFF) {
      this.log.info(`reboot ${who}: shut off, leaving it off`);
      return Response.SUCCESS;
    }
    const xml = await client.getXmlDesc(dom).catch((err: Error) => {
      this.log.warn(`reboot ${who}: cannot fetch the live XML, the domain will not be restarted: ${err.message}`);
      return null;
    });
    if ((await this.act(`reboot ${who}: destroying`, () => client.destroy(dom))) !== Response.SUCCESS) return Response.FAIL;
    if (!(await this.waitGone(found))) {
      this.log.error(`reboot ${who}: domain still exists after ${this.rebootWaitMs} ms; fencing failed`);
      return Response.FAIL;
    }
    if (xml !== null) await this.restart(found, xml, who);
    return Response.SUCCESS;
  }

  async hostList(origin: RequestOrigin): Promise<HostList> {
    const lists = await Promise.all(this.clients.map((client) => this.listHosts(client)));
    const hosts = sortByNameIgnoringCase(lists.flatMap((list) => list ?? []));
    const complete = lists.every((list) => list !== null);
    if (!complete) this.log.error(`host list for ${describe(origin)} is incomplete: a libvirt connection is unavailable`);
    return { hosts, code: complete ? Response.SUCCESS : Response.FAIL };
  }

  async close(): Promise<void> {
    if (this.ownsClients) await Promise.all(this.clients.map((c) => c.close()));
  }

  /** Connections in order; the first that knows the domain wins. UUID syntax ⇒ lookup by UUID. */
  private async find(domain: string): Promise<Found | NotFound> {
    const byUuid = isUuidString(domain);
    let unavailable = false;
    for (const client of this.clients) {
      if (!(await client.ensureConnected())) {
        this.log.error(`libvirt ${client.uri} is unavailable, cannot look up '${domain}'`);
        unavailable = true;
        continue;
      }
      try {
        const dom = byUuid ? await client.lookupByUuid(domain.toLowerCase()) : await client.lookupByName(domain);
        return { client, dom };
      } catch (err) {
        if (isNoSuchDomain(err)) continue;
        this.log.error(`looking up '${domain}' on ${client.uri} failed: ${(err as Error).message}`);
        unavailable = true;
      }
    }
    // An unreachable connection might hold the domain: "no such domain" would be a guess.
    return unavailable ? 'unavailable' : 'missing';
  }

  private notFound(op: string, domain: string, why: NotFound): number {
    this.log.info(`${op} '${domain}': ${why === 'missing' ? 'no such domain' : 'libvirt unavailable'}, answering failure`);
    return Response.FAIL;
  }

  /** The domain's state, or null when libvirt cannot tell (C then acts as if it were not shut off). */
  private async stateOf({ client, dom }: Found): Promise<number | null> {
    try {
      return (await client.getInfo(dom)).state;
    } catch (err) {
      this.log.warn(`cannot get the state of '${dom.name}' on ${client.uri}: ${(err as Error).message}`);
      return null;
    }
  }

  private async act(what: string, action: () => Promise<unknown>): Promise<number> {
    this.log.notice(what);
    try {
      await action();
      return Response.SUCCESS;
    } catch (err) {
      this.log.error(`${what} failed: ${(err as Error).message}`);
      return Response.FAIL;
    }
  }

  /**
   * Like C: gone at once if the domain no longer exists (transient); otherwise check once per poll
   * interval, after sleeping, until it is gone or shut off, at most rebootWaitMs.
   */
  private async waitGone({ client, dom }: Found): Promise<boolean> {
    const check = async (stateToo: boolean): Promise<boolean> => {
      try {
        const found = await client.lookupByUuid(dom.uuid);
        return stateToo && (await client.getInfo(found)).state === DomainState.SHUTOFF;
      } catch (err) {
        if (isNoSuchDomain(err)) return true;
        this.log.warn(`waiting for '${dom.name}' to stop: ${(err as Error).message}`);
        return false;
      }
    };
    if (await check(false)) return true;
    const tries = Math.max(1, Math.round(this.rebootWaitMs / this.pollIntervalMs));
    for (let i = 0; i < tries; i++) {
      await sleep(this.pollIntervalMs);
      if (await check(true)) return true;
    }
    return false;
  }

  /** Start from the live XML (transient or persistent alike), else the persistent definition. */
  private async restart({ client, dom }: Found, xml: string, who: string): Promise<void> {
    try {
      await client.createXml(xml);
      this.log.notice(`reboot ${who}: started again from its live XML`);
      return;
    } catch (err) {
      this.log.warn(`reboot ${who}: starting from the live XML failed (${(err as Error).message}); starting the defined domain`);
    }
    try {
      await client.create(dom);
      this.log.notice(`reboot ${who}: started the defined domain again`);
    } catch (err) {
      this.log.error(`reboot ${who}: THE DOMAIN DID NOT COME BACK (answering success like fence_virtd): ${(err as Error).message}`);
    }
  }

  private async listHosts(client: LibvirtClient): Promise<HostInfo[] | null> {
    if (!(await client.ensureConnected())) return null;
    try {
      const domains = await client.listAllDomains();
      const hosts = await Promise.all(
        domains.map((dom) =>
          client.getInfo(dom).then(
            (info): HostInfo | null => ({ name: dom.name, uuid: dom.uuid, state: info.state }),
            (err: unknown) => {
              if (isNoSuchDomain(err)) return null; // undefined between the list and the info
              throw err;
            },
          ),
        ),
      );
      return hosts.filter((h): h is HostInfo => h !== null);
    } catch (err) {
      this.log.error(`listing domains on ${client.uri} failed: ${(err as Error).message}`);
      return null;
    }
  }
}

function describe(origin: RequestOrigin): string {
  return `from ${origin.source}, seq ${origin.seqno}`;
}

/** strcasecmp order in the C locale, as C sorts: ASCII letters folded, then UTF-8 byte order. */
function sortByNameIgnoringCase(hosts: HostInfo[]): HostInfo[] {
  const keyed = hosts.map((h) => ({ h, key: Buffer.from(h.name.replace(/[A-Z]+/g, (s) => s.toLowerCase())) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map(({ h }) => h);
}
