/**
 * This daemon's membership in the corosync process group: the CPG handle (join, decoded messages,
 * membership) and votequorum (quorate or not), both driven from Node's loop by the addon.
 *
 * When corosync goes away the group reports itself disconnected (no members, not quorate) and tries to
 * connect again every `reconnectMs`. Sends that corosync's flow control holds back wait in order in an
 * outbox, retried every few milliseconds.
 *
 * The library calls that wait for corosync (connect, join, quorum info, finalize) run on the addon's
 * threads; each gets `callTimeoutMs` here. A corosync that does not answer in time (stopped, hung) is
 * treated as gone: the connection is dropped and tried again once the library has let go of the old one
 * (so a corosync stopped for hours holds one call, not one per attempt). The same holds across groups:
 * open() connects only once every earlier group's handles are let go, and fails after callTimeoutMs
 * while they are not (a daemon retrying its start-up opens a new group each time).
 */
import { EventEmitter } from 'node:events';
import { ProtocolError } from '../../protocol/errors.js';
import type { Logger } from '../../util/log.js';
import { sleep } from '../../util/sleep.js';
import { isCorosyncError, loadCorosync, type Cpg, type CpgAddress, type Votequorum } from './corosync.js';
import { decodeCpgMessage, encodeCpgMessage, type CpgMessage } from './messages.js';

export interface CpgGroupOptions {
  group: string;
  /** How long joining may take while corosync answers "try again" (a membership change under way). */
  joinTimeoutMs?: number;
  /** Pause between attempts to connect again after corosync went away. */
  reconnectMs?: number;
  /** How long one call into corosync may take before corosync counts as gone. */
  callTimeoutMs?: number;
}

/** Whether this partition is quorate, as corosync answered just now; `why` when it is not. */
export interface QuorumProof {
  quorate: boolean;
  why?: string;
}

export interface CpgGroupEvents {
  message: [from: number, message: CpgMessage];
  /** The group's nodes now, the nodes that left and those that joined (this node included when it joins). */
  membership: [members: ReadonlySet<number>, left: number[], joined: number[]];
  quorum: [quorate: boolean];
  /** Connected to corosync and joined, or disconnected. */
  connection: [up: boolean];
}

const RETRY_MS = 20;
const OUTBOX_LIMIT = 10_000;
/** How long close() lets the libraries say goodbye to corosync (a stopped corosync gets no more). */
const CLOSE_GRACE_MS = 1_000;

/** A call into corosync that did not come back within its deadline (corosync stopped or hung). */
export class CorosyncTimeoutError extends Error {
  readonly code = 'CS_ERR_TIMEOUT';
  constructor(
    readonly call: string,
    ms: number,
  ) {
    super(`corosync did not answer ${call} within ${ms} ms (stopped or hung?)`);
  }
}

/** `call`, or a CorosyncTimeoutError after `ms`; the call itself is left to finish on its thread. */
export async function withDeadline<T>(call: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CorosyncTimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([call, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/** Settles once every group of this process has had its finalized handles let go by the libraries. */
let lingering: Promise<unknown> = Promise.resolve();

export class CpgGroup extends EventEmitter<CpgGroupEvents> {
  private cpg: Cpg | null = null;
  private votequorum: Votequorum | null = null;
  private nodes = new Set<number>();
  private outbox: Buffer[] = [];
  private outboxTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Settles once the libraries have let go of the last connection (see release). */
  private letGo: Promise<unknown> = Promise.resolve();
  private localNode = 0;
  private isQuorate = false;
  private joined = false;

  private constructor(
    private readonly options: Required<CpgGroupOptions>,
    private readonly log: Logger,
  ) {
    super();
  }

  /**
   * Connects and joins. Throws CorosyncUnavailableError when the addon or corosync's libraries are
   * missing, and the CorosyncError when corosync does not accept the connection or the join.
   */
  static async open(options: CpgGroupOptions, log: Logger): Promise<CpgGroup> {
    loadCorosync();
    const all = { joinTimeoutMs: 10_000, reconnectMs: 1_000, callTimeoutMs: 5_000, ...options };
    // An earlier attempt's call may still wait for a stopped corosync: no new handles (threads) until it is back.
    await withDeadline(lingering, "an earlier connection's finalize", all.callTimeoutMs);
    const group = new CpgGroup(all, log);
    await group.connect();
    return group;
  }

  /** This node's corosync node id. */
  get nodeId(): number {
    return this.localNode;
  }

  /** The group's nodes (this one included once its join is confirmed). */
  get members(): ReadonlySet<number> {
    return this.nodes;
  }

  get quorate(): boolean {
    return this.isQuorate;
  }

  /** Connected, and this node's join confirmed by a membership change. */
  get ready(): boolean {
    return this.joined;
  }

  /** Multicasts `message` to the group in agreed order; false when not joined (nothing is sent). */
  send(message: CpgMessage): boolean {
    if (!this.cpg || !this.joined) return false;
    this.outbox.push(encodeCpgMessage(message));
    if (this.outbox.length > OUTBOX_LIMIT) {
      this.log.error(`more than ${OUTBOX_LIMIT} messages wait for corosync; dropping the connection`);
      this.lost(new Error('outbox full'));
      return false;
    }
    this.flush();
    return true;
  }

  /**
   * Asks corosync now whether this partition is quorate: proof that the local corosync still answers,
   * which the tracked state cannot give (a stopped corosync sends no notifications). No answer within
   * callTimeoutMs drops the connection.
   */
  async confirmQuorum(): Promise<QuorumProof> {
    const votequorum = this.votequorum;
    if (!votequorum || !this.joined) return { quorate: false, why: 'not a member of the group (corosync unavailable)' };
    try {
      const info = await this.call(votequorum.getInfo(), 'votequorum_getinfo');
      if (info.quorate) return { quorate: true };
      return { quorate: false, why: 'this partition has no quorum' };
    } catch (err) {
      this.lost(err as Error, votequorum);
      return { quorate: false, why: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.release();
    // A clean leave takes a millisecond; a stopped corosync must not hold the daemon's exit.
    await withDeadline(this.letGo, 'finalize', CLOSE_GRACE_MS).catch(() => undefined);
  }

  private call<T>(call: Promise<T>, what: string): Promise<T> {
    return withDeadline(call, what, this.options.callTimeoutMs);
  }

  private async connect(): Promise<void> {
    const corosync = loadCorosync();
    const votequorum = new corosync.Votequorum({
      quorum: (quorate) => this.onQuorum(quorate),
      error: (err) => this.lost(err, votequorum),
    });
    const cpg: Cpg = new corosync.Cpg({
      deliver: (nodeId, _pid, message) => this.onDeliver(nodeId, message),
      confchg: (members, left, joined) => this.onConfchg(members, left, joined),
      error: (err) => this.lost(err, cpg),
    });
    this.votequorum = votequorum;
    this.cpg = cpg;
    try {
      await this.call(votequorum.connect(), 'votequorum_initialize');
      await this.call(votequorum.trackStart(), 'votequorum_trackstart');
      await this.call(cpg.connect(), 'cpg_initialize');
      this.localNode = await this.call(cpg.localGet(), 'cpg_local_get');
      await this.join(cpg);
    } catch (err) {
      if (this.cpg === cpg) this.release();
      throw err;
    }
    this.log.info(`node ${this.localNode} joining group ${this.options.group}`);
  }

  /** cpg_join, again while corosync says "try again" (during a membership change), within joinTimeoutMs. */
  private async join(cpg: Cpg): Promise<void> {
    const deadline = Date.now() + this.options.joinTimeoutMs;
    for (;;) {
      if (this.cpg !== cpg) throw new Error('the connection to corosync was lost while joining');
      try {
        await this.call(cpg.join(this.options.group), 'cpg_join');
        return;
      } catch (err) {
        if (!isCorosyncError(err) || err.code !== 'CS_ERR_TRY_AGAIN' || Date.now() > deadline) throw err;
      }
      await sleep(100);
    }
  }

  private onDeliver(from: number, bytes: Buffer): void {
    let message: CpgMessage;
    try {
      message = decodeCpgMessage(bytes);
    } catch (err) {
      const why = err instanceof ProtocolError ? err.message : String(err);
      this.log.warn(`ignoring a message of ${bytes.length} bytes from node ${from}: ${why}`);
      return;
    }
    this.emit('message', from, message);
  }

  private onConfchg(addresses: CpgAddress[], leftList: CpgAddress[], joinedList: CpgAddress[]): void {
    const before = this.nodes;
    this.nodes = new Set(addresses.map((a) => a.nodeId));
    const left = [...before].filter((n) => !this.nodes.has(n));
    const joined = [...this.nodes].filter((n) => !before.has(n));
    const describe = (list: CpgAddress[]): string => list.map((a) => `${a.nodeId}/${a.pid}`).join(' ') || '-';
    this.log.info(`group members: ${describe(addresses)} (left: ${describe(leftList)}; joined: ${describe(joinedList)})`);
    const wasJoined = this.joined;
    this.joined = this.nodes.has(this.localNode);
    this.emit('membership', this.nodes, left, joined);
    if (this.joined !== wasJoined) this.emit('connection', this.joined);
  }

  private onQuorum(quorate: boolean): void {
    if (quorate === this.isQuorate) return;
    this.isQuorate = quorate;
    this.log.notice(quorate ? 'this partition is quorate' : 'this partition lost quorum: fencing requests are refused');
    this.emit('quorum', quorate);
  }

  private flush(): void {
    while (this.cpg && this.outbox.length > 0) {
      try {
        if (!this.cpg.mcastJoined(this.outbox[0] as Buffer)) break; // flow control: try again shortly
      } catch (err) {
        this.lost(err as Error);
        return;
      }
      this.outbox.shift();
    }
    if (this.outbox.length > 0 && !this.outboxTimer) {
      this.outboxTimer = setTimeout(() => {
        this.outboxTimer = null;
        this.flush();
      }, RETRY_MS);
    }
  }

  /**
   * Lets go of both handles; the group looks empty and unquorate at once. Finalizing (which also leaves
   * the group) happens on the addon's threads, after any call still waiting for corosync.
   */
  private release(): void {
    if (this.outboxTimer) clearTimeout(this.outboxTimer);
    this.outboxTimer = null;
    this.outbox = [];
    const handles = [this.cpg, this.votequorum];
    this.cpg = null;
    this.votequorum = null;
    const finalized = handles.map((h) => h?.finalize());
    if (handles.some(Boolean)) {
      this.letGo = Promise.all([this.letGo, ...finalized]);
      lingering = Promise.all([lingering, ...finalized]);
    }
    const left = [...this.nodes];
    this.nodes = new Set();
    if (this.isQuorate) this.onQuorum(false);
    if (left.length > 0) this.emit('membership', this.nodes, left, []);
    if (this.joined) {
      this.joined = false;
      this.emit('connection', false);
    }
  }

  /** The connection to corosync failed (on `handle`, when given): release, then try to connect again until closed. */
  private lost(err: Error, handle?: Cpg | Votequorum): void {
    if (this.closed || (!this.cpg && !this.votequorum)) return;
    if (handle && handle !== this.cpg && handle !== this.votequorum) return; // an earlier connection's

    this.log.error(`lost the connection to corosync (${err.message}); fencing requests are refused until it is back`);
    this.release();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, this.options.reconnectMs);
  }

  /** A new connection once the libraries have let go of the old one (a stopped corosync holds that). */
  private async reconnect(): Promise<void> {
    let waiting = true;
    const note = setTimeout(() => {
      if (waiting) this.log.warn('corosync has not answered a call of the last connection yet; connecting again once it does');
    }, this.options.callTimeoutMs);
    await this.letGo;
    waiting = false;
    clearTimeout(note);
    if (this.closed || this.cpg) return;
    try {
      await this.connect();
    } catch (err) {
      this.log.debug(`connecting to corosync again failed: ${(err as Error).message}`);
      this.scheduleReconnect();
    }
  }
}
