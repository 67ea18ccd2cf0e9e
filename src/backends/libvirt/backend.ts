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
import {
  isNoSuchDomain,
  LibvirtClient,
  LibvirtError,
  listDomainStates,
  UnsupportedUriError,
  type Domain,
  type LibvirtClientOptions,
} from '../../libvirt/index.js';
import { DomainState, Response } from '../../protocol/constants.js';
import { isUuidString } from '../../protocol/uuid.js';
import type { Logger } from '../../util/log.js';
import { settleHeapAfter } from '../../util/heap-settle.js';
import { sleep } from '../../util/sleep.js';
import { BackendStartError, type FenceBackend, type HostInfo, type HostList, type RequestOrigin } from '../backend.js';

/** How long the device-status check waits for libvirt's answer (an agent waits 30 s for the daemon's). */
const HEALTH_CALL_TIMEOUT_MS = 5_000;

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

/** A domain found and its state (null: libvirt could not tell, which C treats as not shut off). */
interface Located {
  found: Found;
  state: number | null;
}

/** Why a domain was not found: nowhere, or some connection could not be asked (and why not, for the audit line). */
type NotFound = 'missing' | { unavailable: string };

/** Bound of the domains last found per name (see `seen`), in case names are never asked for again. */
const MAX_SEEN = 1024;

/** A lookup handed over by resolve(), with the state libvirt gave while the lookup was under way. */
interface HandedOver {
  /** The domain string resolve() was asked: the request's later call must name the same. */
  domain: string;
  found: Found;
  /** The state asked for alongside the lookup (undefined: not asked, or not usable); see resolve(). */
  state: Promise<number | undefined> | undefined;
  /** `changes` when the state was asked for: an action begun or ended, or a connection lost, since makes it stale. */
  changes: number;
}

export class LibvirtBackend implements FenceBackend {
  readonly name = 'libvirt';
  private readonly pollIntervalMs: number;
  private readonly rebootWaitMs: number;
  private readonly ownsClients: boolean;
  /**
   * The lookup resolve() made for a request, taken by that request's own off, on, reboot or status
   * instead of looking the domain up again (the dispatcher resolves every request first: one libvirt
   * round trip less per request). Keyed by the request (its origin), not by the domain: requests for
   * one domain that arrive together (all nodes asking the status of one victim) each take their own,
   * where one slot per domain left all but one to look it up again. Each is taken once and checked
   * against libvirt before use; an entry never taken goes with its request.
   */
  private readonly handedOver = new WeakMap<RequestOrigin, HandedOver>();
  /**
   * The domain each name or UUID was last found as: only a guess of which UUID to ask the state of
   * while the lookup that confirms it is under way, never an answer (see resolve()).
   */
  private readonly seen = new Map<string, Found>();
  /**
   * Off, on and reboot actions begun plus ended, and connections lost: a state asked for before one of
   * these is not used after it (a libvirtd gone since must not have its last word taken for an answer).
   */
  private changes = 0;
  private readonly lost = (): void => {
    this.changes++;
  };
  /** A configured URI's connection, in configured order; null while it is not open (see devstatus). */
  private readonly slots: (LibvirtClient | null)[];
  /** The attempt under way to open a URI that failed at start, by its slot. */
  private readonly opening = new Map<number, Promise<boolean>>();
  private closed = false;

  private constructor(
    opened: (LibvirtClient | null)[],
    private readonly uris: readonly string[],
    private readonly connect: (uri: string) => Promise<LibvirtClient>,
    private readonly log: Logger,
    options: LibvirtBackendOptions,
  ) {
    this.slots = opened;
    for (const client of opened) client?.on('disconnected', this.lost);
    this.ownsClients = options.connect === undefined;
    this.pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.rebootWaitMs = options.rebootWaitMs ?? 15_000;
  }

  /** Opens every URI; those that fail are skipped with a warning. Rejects only if none opens. */
  static async open(uris: readonly string[], logger: Logger, options: LibvirtBackendOptions = {}): Promise<LibvirtBackend> {
    const log = logger.child('libvirt backend');
    const connect = options.connect ?? ((uri: string) => LibvirtClient.open({ ...options.client, uri, logger }));
    const results = await Promise.allSettled(uris.map(connect));
    const failures: string[] = [];
    let permanent = true;
    const opened = results.map((r, i) => {
      if (r.status === 'fulfilled') return r.value;
      const why = r.reason instanceof Error ? r.reason.message : String(r.reason);
      failures.push(why);
      permanent &&= refusedForGood(r.reason);
      log.warn(`skipping ${uris[i]}: ${why}`);
      return null;
    });
    if (opened.every((c) => c === null)) {
      const detail = failures.length > 0 ? failures.join('; ') : 'no URI configured';
      throw new LibvirtBackendInitError(`could not connect to any hypervisor: ${detail}`, permanent);
    }
    return new LibvirtBackend(opened, uris, connect, log, options);
  }

  /** The open connections, in configured order (`uri`, `uri1`, …; a URI that failed at start counts once devstatus opened it). */
  get clients(): readonly LibvirtClient[] {
    return this.slots.filter((c): c is LibvirtClient => c !== null);
  }

  /**
   * Looks the domain up for the dispatcher and hands the lookup over to the same request's (`origin`'s)
   * off, on, reboot or status, which the dispatcher calls next. When the name was found before, the
   * state of that domain is asked for in the same round trip as the lookup, and kept only if the lookup
   * answers the same domain on the same connection: the state is libvirt's, asked now, and the earlier
   * lookup only chose which UUID to ask it of. A status thus costs one round trip to libvirtd instead of
   * two (lookup, then state), also when many requests for one domain arrive together.
   */
  async resolve(domain: string, origin: RequestOrigin): Promise<string | undefined> {
    const guess = this.seen.get(domain);
    const changes = this.changes;
    const early = guess && this.stateOf(guess, { gone: undefined }, 'quiet').then((s) => s ?? undefined);
    const found = await this.find(domain);
    if (!isFound(found)) {
      this.seen.delete(domain);
      return undefined;
    }
    if (this.seen.size >= MAX_SEEN) this.seen.clear();
    const same = guess !== undefined && sameDomain(guess, found);
    // The object found before stays while it is the same domain: its call arguments are encoded once.
    this.seen.set(domain, same ? guess : found);
    const state = same ? early : undefined;
    this.handedOver.set(origin, { domain, found, state, changes });
    return found.dom.uuid.toLowerCase();
  }

  /** libvirt cannot answer "null" meaningfully; the C backend always fails it. */
  async null(domain: string): Promise<number> {
    this.log.debug(`null request for '${domain}': not supported, answering failure`);
    return Response.FAIL;
  }

  /**
   * 0 only when every configured URI is open and answers a cheap call (the number of running domains)
   * within HEALTH_CALL_TIMEOUT_MS; a URI that failed at start is tried again, within the same deadline.
   * A connection that must reconnect first adds its connect timeout: about 10 s in all, at most.
   * The C backend answers 0 whenever the daemon runs, even with libvirtd down (docs/compatibility.md,
   * row 'monitor (device status)').
   */
  async devstatus(): Promise<number> {
    const answers = await Promise.all(this.slots.map((client, i) => (client ? this.answers(client) : this.opens(i))));
    return answers.every(Boolean) ? Response.SUCCESS : Response.FAIL;
  }

  async status(domain: string, origin: RequestOrigin): Promise<number> {
    const located = await this.locate(domain, origin, 'early state');
    if (located === 'missing') {
      // Off, as C answers (agents and fencers rely on it); but a mistyped port= must not pass unnoticed.
      this.log.warn(`status of '${domain}' (${describe(origin)}): no such domain, answering off`);
      origin.explain?.('no such domain');
      return Response.OFF;
    }
    if (!isLocated(located)) return this.notFound('status', domain, located, origin);
    return statusAnswer(located.state);
  }

  off(domain: string, origin: RequestOrigin): Promise<number> {
    return this.counted(() => this.offNow(domain, origin));
  }

  on(domain: string, origin: RequestOrigin): Promise<number> {
    return this.counted(() => this.onNow(domain, origin));
  }

  reboot(domain: string, origin: RequestOrigin): Promise<number> {
    return this.counted(() => this.rebootNow(domain, origin));
  }

  private async offNow(domain: string, origin: RequestOrigin): Promise<number> {
    const located = await this.locate(domain, origin);
    if (!isLocated(located)) return this.notFound('off', domain, located, origin);
    const { found, state } = located;
    if (state === DomainState.SHUTOFF) {
      this.log.info(`off '${found.dom.name}' (${describe(origin)}): already shut off`);
      return Response.SUCCESS;
    }
    return this.act(`destroying '${found.dom.name}' (${describe(origin)})`, origin, () => found.client.destroy(found.dom));
  }

  private async onNow(domain: string, origin: RequestOrigin): Promise<number> {
    const located = await this.locate(domain, origin);
    if (!isLocated(located)) return this.notFound('on', domain, located, origin);
    const { found, state } = located;
    if (state !== null && state !== DomainState.SHUTOFF) {
      // Like C, a paused or crashed domain counts as on and is left as it is (kept on purpose:
      // docs/compatibility.md, "C behaviour kept on purpose", row 'on').
      this.log.info(`on '${found.dom.name}' (${describe(origin)}): already on (state ${state})`);
      return Response.SUCCESS;
    }
    return this.act(`starting '${found.dom.name}' (${describe(origin)})`, origin, () => found.client.create(found.dom));
  }

  /**
   * Destroy, wait until gone or shut off, start again from the saved live XML. Answers 0 once the
   * destroy is confirmed, whether or not the restart works (like C); a failed restart is logged as an error.
   */
  private async rebootNow(domain: string, origin: RequestOrigin): Promise<number> {
    const located = await this.locate(domain, origin);
    if (!isLocated(located)) return this.notFound('reboot', domain, located, origin);
    const { found, state } = located;
    const { client, dom } = found;
    const who = `'${dom.name}' (${describe(origin)})`;
    if (state === DomainState.SHUTOFF) {
      this.log.info(`reboot ${who}: shut off, leaving it off`);
      return Response.SUCCESS;
    }
    const xml = await client.getXmlDesc(dom).catch((err: Error) => {
      this.log.warn(`reboot ${who}: cannot fetch the live XML, the domain will not be restarted: ${err.message}`);
      return null;
    });
    if ((await this.act(`reboot ${who}: destroying`, origin, () => client.destroy(dom))) !== Response.SUCCESS) return Response.FAIL;
    if (!(await this.waitGone(found))) {
      this.log.error(`reboot ${who}: domain still exists after ${this.rebootWaitMs} ms; fencing failed`);
      origin.explain?.(`still running ${this.rebootWaitMs} ms after the destroy`);
      return Response.FAIL;
    }
    if (xml === null) origin.explain?.('powered off; not restarted (its live XML could not be read)');
    else if (!(await this.restart(found, xml, who))) origin.explain?.('powered off; the restart failed');
    return Response.SUCCESS;
  }

  async hostList(origin: RequestOrigin): Promise<HostList> {
    const lists = await Promise.all(this.clients.map((client) => this.listHosts(client)));
    const hosts = sortByNameIgnoringCase(lists.flatMap((list) => list ?? []));
    settleHeapAfter(hosts.length);
    const complete = lists.every((list) => list !== null);
    if (!complete) this.log.error(`host list for ${describe(origin)} is incomplete: a libvirt connection is unavailable`);
    return { hosts, code: complete ? Response.SUCCESS : Response.FAIL };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const client of this.clients) client.off('disconnected', this.lost);
    if (this.ownsClients) await Promise.all(this.clients.map((c) => c.close()));
  }

  /** Opens the URI of `slot`, skipped at start: true once it is open, false when it fails or takes longer than the deadline. */
  private async opens(slot: number): Promise<boolean> {
    const uri = this.uris[slot] as string;
    let attempt = this.opening.get(slot);
    if (!attempt) {
      attempt = this.connect(uri).then(
        async (client) => {
          if (!this.closed) this.slots[slot] = client.on('disconnected', this.lost);
          else if (this.ownsClients) await client.close();
          return !this.closed;
        },
        (err: unknown) => {
          this.log.warn(`device status: cannot open ${uri}: ${err instanceof Error ? err.message : String(err)}`);
          return false;
        },
      );
      // One attempt at a time: a slow one stays under way across monitor requests.
      this.opening.set(slot, attempt);
      void attempt.finally(() => this.opening.delete(slot));
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, HEALTH_CALL_TIMEOUT_MS, false)));
    const opened = await Promise.race([attempt, late]).finally(() => clearTimeout(timer));
    if (!opened) this.log.warn(`device status: libvirt ${uri} is not open; answering failure`);
    return opened;
  }

  private async answers(client: LibvirtClient): Promise<boolean> {
    if (!(await client.ensureConnected())) {
      this.log.warn(`device status: libvirt ${client.uri} is unavailable; answering failure`);
      return false;
    }
    try {
      await client.numOfDomains({ timeoutMs: HEALTH_CALL_TIMEOUT_MS });
      return true;
    } catch (err) {
      this.log.warn(`device status: libvirt ${client.uri} did not answer: ${(err as Error).message}; answering failure`);
      return false;
    }
  }

  /**
   * The domain and its state: from the lookup resolve() handed over, else looked up now. Only a status
   * takes the state asked for alongside the lookup: an action acts on the state it asks for itself.
   */
  private async locate(domain: string, origin: RequestOrigin, early?: 'early state'): Promise<Located | NotFound> {
    const current = await this.takeHandedOver(domain, origin, early !== undefined);
    if (current) return current;
    const found = await this.find(domain);
    return isFound(found) ? { found, state: await this.stateOf(found) } : found;
  }

  /**
   * The lookup resolve() handed over for `domain`, taken (never used twice), with a state libvirt gave
   * during this request: with `early`, the one asked for alongside the lookup, unless an off, on or
   * reboot began or ended since (the request waited its turn behind it) or a connection was lost; else
   * asked now. Undefined when there is none, when the domain is gone since (it may have been defined
   * again under a new UUID), or when libvirt cannot give the state: the caller then looks it up afresh,
   * which tells "unreachable" (failure) from "state unknown", where an old lookup cannot.
   */
  private async takeHandedOver(
    domain: string,
    origin: RequestOrigin,
    early: boolean,
  ): Promise<{ found: Found; state: number } | undefined> {
    const handed = this.handedOver.get(origin);
    this.handedOver.delete(origin);
    if (handed?.domain !== domain) return undefined;
    const { found } = handed;
    const asked = early && handed.changes === this.changes && handed.state ? await handed.state : undefined;
    const state = asked ?? (await this.stateOf(found, { gone: null }, 'quiet'));
    return state === null ? undefined : { found, state };
  }

  /** Runs an off, on or reboot, counted so that a state asked for before it is not used after it. */
  private async counted(action: () => Promise<number>): Promise<number> {
    this.changes++;
    try {
      return await action();
    } finally {
      this.changes++;
    }
  }

  /** Connections in order; the first that knows the domain wins. UUID syntax ⇒ lookup by UUID. */
  private async find(domain: string): Promise<Found | NotFound> {
    const byUuid = isUuidString(domain);
    let unavailable: string | undefined;
    for (const client of this.clients) {
      // Connected is the usual case: no promise to wait for then.
      if (!client.isConnected && !(await client.ensureConnected())) {
        this.log.error(`libvirt ${client.uri} is unavailable, cannot look up '${domain}'`);
        unavailable ??= `libvirt ${client.uri} unreachable`;
        continue;
      }
      try {
        const dom = byUuid ? await client.lookupByUuid(domain.toLowerCase()) : await client.lookupByName(domain);
        return { client, dom };
      } catch (err) {
        if (isNoSuchDomain(err)) continue;
        this.log.error(`looking up '${domain}' on ${client.uri} failed: ${(err as Error).message}`);
        unavailable ??= `looking it up on ${client.uri} failed: ${(err as Error).message}`;
      }
    }
    // An unreachable connection might hold the domain: "no such domain" would be a guess.
    return unavailable === undefined ? 'missing' : { unavailable };
  }

  private notFound(op: string, domain: string, why: NotFound, origin: RequestOrigin): number {
    const reason = why === 'missing' ? 'no such domain' : why.unavailable;
    // A fencing request for an unknown domain is a configuration mistake worth seeing at the default level.
    this.log.warn(`${op} '${domain}' (${describe(origin)}): ${reason}, answering failure`);
    origin.explain?.(reason);
    return Response.FAIL;
  }

  /**
   * The domain's state, or null when libvirt cannot tell (C then acts as if it were not shut off);
   * `gone` is what a domain that no longer exists answers when the caller wants to know.
   */
  private async stateOf<G = null>({ client, dom }: Found, ifGone?: { gone: G }, quiet?: 'quiet'): Promise<number | null | G> {
    try {
      return (await client.getInfo(dom)).state;
    } catch (err) {
      if (ifGone && isNoSuchDomain(err)) return ifGone.gone;
      if (!quiet) this.log.warn(`cannot get the state of '${dom.name}' on ${client.uri}: ${(err as Error).message}`);
      return null;
    }
  }

  private async act(what: string, origin: RequestOrigin, action: () => Promise<unknown>): Promise<number> {
    this.log.notice(what);
    try {
      await action();
      return Response.SUCCESS;
    } catch (err) {
      this.log.error(`${what} failed: ${(err as Error).message}`);
      origin.explain?.(`libvirt: ${(err as Error).message}`);
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

  /** Start from the live XML (transient or persistent alike), else the persistent definition; whether it started. */
  private async restart({ client, dom }: Found, xml: string, who: string): Promise<boolean> {
    try {
      await client.createXml(xml);
      this.log.notice(`reboot ${who}: started again from its live XML`);
      return true;
    } catch (err) {
      this.log.warn(`reboot ${who}: starting from the live XML failed (${(err as Error).message}); starting the defined domain`);
    }
    try {
      await client.create(dom);
      this.log.notice(`reboot ${who}: started the defined domain again`);
      return true;
    } catch (err) {
      this.log.error(`reboot ${who}: THE DOMAIN DID NOT COME BACK (answering success like fence_virtd): ${(err as Error).message}`);
      return false;
    }
  }

  private async listHosts(client: LibvirtClient): Promise<HostInfo[] | null> {
    if (!(await client.ensureConnected())) return null;
    try {
      return (await listDomainStates(client, this.log)).map(({ dom, state }) => ({ name: dom.name, uuid: dom.uuid, state }));
    } catch (err) {
      this.log.error(`listing domains on ${client.uri} failed: ${(err as Error).message}`);
      return null;
    }
  }
}

/** Shut off answers off; any other state, or none known (as C), answers on. */
function statusAnswer(state: number | null): number {
  return state === DomainState.SHUTOFF ? Response.OFF : Response.SUCCESS;
}

/** The same domain (UUID) on the same connection. */
function sameDomain(a: Found, b: Found): boolean {
  return a.client === b.client && a.dom.uuid.toLowerCase() === b.dom.uuid.toLowerCase();
}

function isFound(found: Found | NotFound): found is Found {
  return typeof found === 'object' && 'dom' in found;
}

function isLocated(located: Located | NotFound): located is Located {
  return typeof located === 'object' && 'found' in located;
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
