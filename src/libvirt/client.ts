/**
 * A libvirt connection for the rest of the daemon: opens a local URI the way libvirt's remote driver
 * does (auth list, polkit if asked, CONNECT_OPEN), keeps it alive, reconnects with backoff after the
 * daemon restarts, re-registers lifecycle events, and offers the domain calls fencing needs.
 *
 * Calls never wait for a connection: while disconnected they fail at once with LibvirtConnectionError.
 * ensureConnected() makes one immediate attempt for callers that want "reconnect now if you can".
 * Events: 'connected' (after each reconnect: the daemon's state may have changed, so re-sync),
 * 'disconnected' (with the reason), 'lifecycle' (LifecycleEvent, after enableLifecycleEvents()).
 */
import { EventEmitter } from 'node:events';
import { silentLogger, type Logger } from '../util/log.js';
import { LibvirtConnectionError, LibvirtError } from './errors.js';
import {
  AuthType,
  DOMAIN_EVENT_ID_LIFECYCLE,
  FEATURE_PROGRAM_KEEPALIVE,
  Proc,
  REMOTE_AUTH_TYPE_LIST_MAX,
  REMOTE_DOMAIN_LIST_MAX,
  REMOTE_STRING_MAX,
} from './protocol.js';
import {
  readDomain,
  readDomainInfo,
  readDomainStats,
  readLifecycleMessage,
  writeDomain,
  type Domain,
  type DomainInfo,
  type DomainStats,
  type LifecycleEvent,
} from './remote-types.js';
import { RpcConnection, type Decoder } from './rpc-connection.js';
import { resolveUri } from './uri.js';
import { uuidToBytes } from './uuid.js';
import { XdrWriter, type XdrReader } from './xdr.js';

export interface LibvirtClientOptions {
  uri: string;
  logger?: Logger;
  /** Default timeout of one call (ms). */
  callTimeoutMs?: number;
  /** Bound on socket connect plus handshake (ms). */
  connectTimeoutMs?: number;
  /** Keepalive: ping after this much silence (ms); libvirt's default is 5 s. */
  keepaliveIntervalMs?: number;
  /** Keepalive: unanswered pings before the connection is declared dead; libvirt's default is 5. */
  keepaliveCount?: number;
  /** Reconnect backoff: first delay, doubled after each failure up to the maximum (ms). */
  reconnectMinDelayMs?: number;
  reconnectMaxDelayMs?: number;
}

export interface CallOptions {
  timeoutMs?: number;
}

export interface DomainStateReason {
  state: number;
  reason: number;
}

export interface LibvirtClientEvents {
  connected: [];
  disconnected: [reason: Error];
  lifecycle: [event: LifecycleEvent];
}

type State = 'connecting' | 'connected' | 'disconnected' | 'closed';

const defaults = {
  callTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  keepaliveIntervalMs: 5_000,
  keepaliveCount: 5,
  reconnectMinDelayMs: 200,
  reconnectMaxDelayMs: 5_000,
};

/** How long close() waits for libvirtd to acknowledge CONNECT_CLOSE. */
const CLOSE_TIMEOUT_MS = 250;

const none: Decoder<void> = () => undefined;
const readInt: Decoder<number> = (r) => r.int();
const args = (build: (w: XdrWriter) => void): Buffer => {
  const w = new XdrWriter();
  build(w);
  return w.finish();
};
/**
 * Each domain's XDR as a call argument, made at its first call and kept while the domain object lives:
 * a status asks for the state of the object its name was found as before (the libvirt backend's
 * resolve()), so one object is written again and again. Copied out of the writer's buffer, a slice of
 * a shared pool slab that it would otherwise keep.
 */
const encodedDomains = new WeakMap<Domain, Buffer>();
function encodedDomain(dom: Domain): Buffer {
  let encoded = encodedDomains.get(dom);
  if (!encoded) {
    const built = args((w) => writeDomain(w, dom));
    encoded = Buffer.allocUnsafeSlow(built.length);
    built.copy(encoded);
    encodedDomains.set(dom, encoded);
  }
  return encoded;
}
const domainArgs = (dom: Domain, ...flags: number[]): Buffer =>
  flags.length === 0
    ? encodedDomain(dom)
    : args((w) => {
        w.fixedOpaque(encodedDomain(dom)); // already XDR, a multiple of 4 bytes: no padding added
        for (const f of flags) w.uint(f);
      });

export class LibvirtClient extends EventEmitter<LibvirtClientEvents> {
  readonly uri: string;
  readonly socketPath: string;
  private readonly openUri: string;
  private readonly log: Logger;
  private readonly opts: typeof defaults;
  private state: State = 'connecting';
  private rpc: RpcConnection | null = null;
  private lastError: Error | null = null;
  private reconnectDelay: number;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt: Promise<boolean> | null = null;
  private wantLifecycle = false;
  private lifecycleCallbackId: number | null = null;
  private lifecycleSync: Promise<void> = Promise.resolve();

  private constructor(options: LibvirtClientOptions) {
    super();
    const resolved = resolveUri(options.uri);
    this.uri = resolved.uri;
    this.socketPath = resolved.socketPath;
    this.openUri = resolved.openUri;
    this.log = (options.logger ?? silentLogger).child(`libvirt ${options.uri}`);
    this.opts = { ...defaults, ...stripUndefined(options) };
    this.reconnectDelay = this.opts.reconnectMinDelayMs;
  }

  /**
   * Connects and opens the URI. Rejects (UnsupportedUriError, LibvirtConnectionError, LibvirtError)
   * if that first attempt fails; later losses are repaired in the background.
   */
  static async open(options: LibvirtClientOptions): Promise<LibvirtClient> {
    const client = new LibvirtClient(options);
    try {
      client.adopt(await client.establish());
    } catch (err) {
      client.state = 'closed';
      throw err;
    }
    client.log.info(`connected via ${client.socketPath}`);
    return client;
  }

  get isConnected(): boolean {
    return this.state === 'connected';
  }

  /** True when connected, after at most one immediate reconnect attempt (bounded by connectTimeoutMs). */
  async ensureConnected(): Promise<boolean> {
    if (this.state === 'connected') return true;
    if (this.state === 'closed') return false;
    if (this.attempt) return this.attempt;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    return this.reconnect();
  }

  /** Closes the connection (CONNECT_CLOSE when possible) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const rpc = this.rpc;
    this.rpc = null;
    if (rpc && !rpc.closed) {
      // Courtesy only: a hung libvirtd must not hold up the daemon's exit.
      await rpc.call(Proc.ConnectClose, undefined, none, CLOSE_TIMEOUT_MS).catch(() => undefined);
      rpc.destroy(new LibvirtConnectionError(`libvirt client for '${this.uri}' is closed`, this.uri));
    }
  }

  // ---- procedures ------------------------------------------------------------------------------

  getUri(o?: CallOptions): Promise<string> {
    return this.call(Proc.ConnectGetUri, undefined, (r) => r.string(REMOTE_STRING_MAX), o);
  }

  /** Number of running domains. */
  numOfDomains(o?: CallOptions): Promise<number> {
    return this.call(Proc.ConnectNumOfDomains, undefined, readInt, o);
  }

  /** All domains, active and inactive unless `flags` (virConnectListAllDomainsFlags) narrow it. */
  listAllDomains(flags = 0, o?: CallOptions): Promise<Domain[]> {
    return this.call(
      Proc.ConnectListAllDomains,
      args((w) => w.int(1).uint(flags)),
      (r) => {
        const domains = r.array(REMOTE_DOMAIN_LIST_MAX, readDomain);
        r.uint(); // the count, again
        return domains;
      },
      o,
    );
  }

  /**
   * Every domain, active and inactive, with the statistics groups `stats` (virDomainStatsTypes) in one
   * call: virConnectGetAllDomainStats. Drivers that lack it answer ErrorCode.NoSupport.
   */
  getAllDomainStats(stats: number, o?: CallOptions): Promise<DomainStats[]> {
    return this.call(
      Proc.ConnectGetAllDomainStats,
      // No domains named (all of them), the groups, no flags (active and inactive).
      args((w) => w.uint(0).uint(stats).uint(0)),
      (r) => r.array(REMOTE_DOMAIN_LIST_MAX, readDomainStats),
      o,
    );
  }

  /** By name, case-sensitive. A missing domain rejects with LibvirtError code 42 (ErrorCode.NoDomain). */
  lookupByName(name: string, o?: CallOptions): Promise<Domain> {
    return this.call(
      Proc.DomainLookupByName,
      args((w) => w.string(name)),
      readDomain,
      o,
    );
  }

  lookupByUuid(uuid: string, o?: CallOptions): Promise<Domain> {
    return this.call(
      Proc.DomainLookupByUuid,
      args((w) => w.fixedOpaque(uuidToBytes(uuid))),
      readDomain,
      o,
    );
  }

  lookupById(id: number, o?: CallOptions): Promise<Domain> {
    return this.call(
      Proc.DomainLookupById,
      args((w) => w.int(id)),
      readDomain,
      o,
    );
  }

  getInfo(dom: Domain, o?: CallOptions): Promise<DomainInfo> {
    return this.call(Proc.DomainGetInfo, domainArgs(dom), readDomainInfo, o);
  }

  getState(dom: Domain, o?: CallOptions): Promise<DomainStateReason> {
    return this.call(Proc.DomainGetState, domainArgs(dom, 0), (r) => ({ state: r.int(), reason: r.int() }), o);
  }

  /** Domain XML; flags 0 gives the live definition of a running domain. */
  getXmlDesc(dom: Domain, flags = 0, o?: CallOptions): Promise<string> {
    return this.call(Proc.DomainGetXmlDesc, domainArgs(dom, flags), (r) => r.string(REMOTE_STRING_MAX), o);
  }

  destroy(dom: Domain, o?: CallOptions): Promise<void> {
    return this.call(Proc.DomainDestroy, domainArgs(dom), none, o);
  }

  /** Starts a defined (persistent) domain. */
  create(dom: Domain, o?: CallOptions): Promise<void> {
    return this.call(Proc.DomainCreate, domainArgs(dom), none, o);
  }

  /** Starts a domain from XML (transient, or the defined domain of the same name and UUID). */
  createXml(xml: string, flags = 0, o?: CallOptions): Promise<Domain> {
    return this.call(
      Proc.DomainCreateXml,
      args((w) => w.string(xml).uint(flags)),
      readDomain,
      o,
    );
  }

  reset(dom: Domain, o?: CallOptions): Promise<void> {
    return this.call(Proc.DomainReset, domainArgs(dom, 0), none, o);
  }

  reboot(dom: Domain, flags = 0, o?: CallOptions): Promise<void> {
    return this.call(Proc.DomainReboot, domainArgs(dom, flags), none, o);
  }

  // ---- lifecycle events -------------------------------------------------------------------------

  /** Registers for lifecycle events of all domains; kept registered across reconnects. */
  enableLifecycleEvents(): Promise<void> {
    this.wantLifecycle = true;
    return this.syncLifecycle();
  }

  /** Deregisters; no more 'lifecycle' events. */
  disableLifecycleEvents(): Promise<void> {
    this.wantLifecycle = false;
    return this.syncLifecycle();
  }

  private syncLifecycle(): Promise<void> {
    const run = async (): Promise<void> => {
      const rpc = this.rpc;
      if (!rpc || this.state !== 'connected') return; // establish() registers on the next connection
      await this.applyLifecycle(rpc);
    };
    this.lifecycleSync = this.lifecycleSync.then(run, run);
    return this.lifecycleSync;
  }

  private async applyLifecycle(rpc: RpcConnection): Promise<void> {
    if (this.wantLifecycle && this.lifecycleCallbackId === null) {
      this.lifecycleCallbackId = await rpc.call(
        Proc.ConnectDomainEventCallbackRegisterAny,
        args((w) => w.int(DOMAIN_EVENT_ID_LIFECYCLE).optional(null, writeDomain)),
        readInt,
        this.opts.callTimeoutMs,
      );
    } else if (!this.wantLifecycle && this.lifecycleCallbackId !== null) {
      const id = this.lifecycleCallbackId;
      this.lifecycleCallbackId = null;
      await rpc.call(
        Proc.ConnectDomainEventCallbackDeregisterAny,
        args((w) => w.int(id)),
        none,
        this.opts.callTimeoutMs,
      );
    }
  }

  private onMessage(procedure: number, r: XdrReader): void {
    if (procedure !== Proc.DomainEventCallbackLifecycle) {
      this.log.debug(`ignoring server message for procedure ${procedure}`);
      return;
    }
    try {
      const { callbackId, event } = readLifecycleMessage(r);
      if (callbackId === this.lifecycleCallbackId) this.emit('lifecycle', event);
    } catch (err) {
      this.log.warn(`malformed lifecycle event: ${(err as Error).message}`);
    }
  }

  // ---- connection management --------------------------------------------------------------------

  private call<T>(procedure: number, body: Uint8Array | undefined, decode: Decoder<T>, o?: CallOptions): Promise<T> {
    const rpc = this.rpc;
    if (this.state !== 'connected' || !rpc) {
      const why = this.lastError ? `: ${this.lastError.message}` : '';
      return Promise.reject(new LibvirtConnectionError(`not connected to libvirt '${this.uri}' (${this.state}${why})`, this.uri));
    }
    return rpc.call(procedure, body, decode, o?.timeoutMs ?? this.opts.callTimeoutMs);
  }

  /** Socket, authentication, open and event registration, bounded by connectTimeoutMs. */
  private async establish(): Promise<RpcConnection> {
    const deadline = Date.now() + this.opts.connectTimeoutMs;
    const left = (): number => Math.max(1, deadline - Date.now());
    const rpc = await RpcConnection.open(
      this.socketPath,
      this.uri,
      this.log,
      { onMessage: (p, r) => this.onMessage(p, r), onClose: (reason) => this.onClose(rpc, reason) },
      left(),
    );
    try {
      await this.authenticate(rpc, left);
      await rpc.call(
        Proc.ConnectOpen,
        args((w) => w.optional(this.openUri, (x, s) => x.string(s)).uint(0)),
        none,
        left(),
      );
      this.lifecycleCallbackId = null;
      await this.applyLifecycle(rpc);
      // The socket may have died right after the last reply; onClose ignored it (not current yet).
      if (rpc.closed) throw new LibvirtConnectionError(`connection to libvirt '${this.uri}' closed during the handshake`, this.uri);
      return rpc;
    } catch (err) {
      rpc.destroy();
      throw err instanceof LibvirtError
        ? new LibvirtError(`cannot open '${this.uri}': ${err.message}`, err.code, err.domain, err.level)
        : err;
    }
  }

  /** Makes `rpc`, just established, the connection calls go to, and asks it for keepalive. */
  private adopt(rpc: RpcConnection): void {
    this.rpc = rpc;
    this.state = 'connected';
    this.lastError = null;
    this.probeKeepalive(rpc);
  }

  /**
   * Asks libvirtd whether it speaks keepalive, and starts ours if so (unless switched off). Asked even
   * then: the question is also what makes libvirtd ping this client, and drop it once it stops answering.
   * The connection serves calls while the answer is on its way, one round trip sooner than after it:
   * about 1.5 ms of a daemon's start to its first answer here (bench/results/hot-path.md, tenth round).
   * A probe that fails (no answer within the connect timeout, which bounded it as part of the handshake,
   * an error, a malformed reply) ends the connection, which then reconnects, as a failed handshake did
   * before: a libvirtd that cannot answer it is not one to send a fencing action to.
   */
  private probeKeepalive(rpc: RpcConnection): void {
    const { keepaliveIntervalMs: intervalMs, keepaliveCount: count, connectTimeoutMs } = this.opts;
    rpc
      .call(
        Proc.ConnectSupportsFeature,
        args((w) => w.int(FEATURE_PROGRAM_KEEPALIVE)),
        readInt,
        connectTimeoutMs,
      )
      .then(
        (supported) => {
          if (supported === 1 && intervalMs > 0 && !rpc.closed) rpc.startKeepalive({ intervalMs, count });
        },
        (err: Error) => {
          // A connection already closed failed the probe itself; its close was handled.
          if (!rpc.closed)
            rpc.destroy(new LibvirtConnectionError(`libvirt '${this.uri}' failed the keepalive probe: ${err.message}`, this.uri));
        },
      );
  }

  private async authenticate(rpc: RpcConnection, left: () => number): Promise<void> {
    const types = await rpc.call(Proc.AuthList, undefined, (r) => r.array(REMOTE_AUTH_TYPE_LIST_MAX, (x) => x.int()), left());
    this.log.debug(`daemon offers authentication types [${types.join(', ')}]`);
    if (types.length === 0 || types.includes(AuthType.None)) return;
    if (types.includes(AuthType.Polkit)) {
      const complete = await rpc.call(Proc.AuthPolkit, undefined, readInt, left()).catch((err: unknown) => {
        if (!(err instanceof LibvirtError)) throw err;
        throw new LibvirtError(`polkit authentication failed: ${err.message}`, err.code, err.domain, err.level);
      });
      if (complete === 1) return;
      throw new LibvirtConnectionError(`polkit authentication for '${this.uri}' did not complete`, this.uri);
    }
    throw new LibvirtConnectionError(
      `libvirt '${this.uri}' requires authentication types [${types.join(', ')}]; only none and polkit are supported`,
      this.uri,
    );
  }

  private onClose(rpc: RpcConnection, reason: Error): void {
    if (rpc !== this.rpc || this.state !== 'connected') return; // a handshake that failed, or close()
    this.rpc = null;
    this.state = 'disconnected';
    this.lastError = reason;
    this.lifecycleCallbackId = null;
    this.log.warn(`connection lost: ${reason.message}; reconnecting`);
    this.emit('disconnected', reason);
    this.scheduleReconnect(this.opts.reconnectMinDelayMs);
  }

  private scheduleReconnect(delay: number): void {
    this.reconnectDelay = delay;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect(); // catches every failure and schedules the next attempt
    }, delay).unref();
  }

  private reconnect(): Promise<boolean> {
    const attempt = (async (): Promise<boolean> => {
      try {
        const rpc = await this.establish();
        if (this.state === 'closed') {
          rpc.destroy();
          return false;
        }
        this.adopt(rpc);
        this.log.notice(`reconnected via ${this.socketPath}`);
        this.emit('connected');
        return true;
      } catch (err) {
        this.lastError = err as Error;
        this.log.debug(`reconnect failed: ${this.lastError.message}`);
        if (this.state !== 'closed') this.scheduleReconnect(Math.min(this.reconnectDelay * 2, this.opts.reconnectMaxDelayMs));
        return false;
      } finally {
        this.attempt = null;
      }
    })();
    this.attempt = attempt;
    return attempt;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
