/**
 * This daemon's membership in the corosync process group: the CPG handle (join, decoded messages,
 * membership) and votequorum (quorate or not), both driven from Node's loop by the addon.
 *
 * When corosync goes away the group reports itself disconnected (no members, not quorate) and tries to
 * connect again every `reconnectMs`. Sends that corosync's flow control holds back wait in order in an
 * outbox, retried every few milliseconds; nothing here waits for anything.
 */
import { EventEmitter } from 'node:events';
import { ProtocolError } from '../../protocol/errors.js';
import type { Logger } from '../../util/log.js';
import { isCorosyncError, loadCorosync, type Cpg, type CpgAddress, type Votequorum } from './corosync.js';
import { decodeCpgMessage, encodeCpgMessage, type CpgMessage } from './messages.js';

export interface CpgGroupOptions {
  group: string;
  /** How long joining may take while corosync answers "try again" (a membership change under way). */
  joinTimeoutMs?: number;
  /** Pause between attempts to connect again after corosync went away. */
  reconnectMs?: number;
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

export class CpgGroup extends EventEmitter<CpgGroupEvents> {
  private cpg: Cpg | null = null;
  private votequorum: Votequorum | null = null;
  private nodes = new Set<number>();
  private outbox: Buffer[] = [];
  private outboxTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;
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
    const group = new CpgGroup({ joinTimeoutMs: 10_000, reconnectMs: 1_000, ...options }, log);
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

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.release();
  }

  private async connect(): Promise<void> {
    const corosync = loadCorosync();
    try {
      this.votequorum = new corosync.Votequorum({
        quorum: (quorate) => this.onQuorum(quorate),
        error: (err) => this.lost(err),
      });
      this.votequorum.trackStart();
      const cpg = new corosync.Cpg({
        deliver: (nodeId, _pid, message) => this.onDeliver(nodeId, message),
        confchg: (members, left, joined) => this.onConfchg(members, left, joined),
        error: (err) => this.lost(err),
      });
      this.cpg = cpg;
      this.localNode = cpg.localGet();
      await this.join(cpg);
    } catch (err) {
      this.release();
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
        cpg.join(this.options.group);
        return;
      } catch (err) {
        if (!isCorosyncError(err) || err.code !== 'CS_ERR_TRY_AGAIN' || Date.now() > deadline) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
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

  /** Lets go of both handles; the group looks empty and unquorate. */
  private release(): void {
    if (this.outboxTimer) clearTimeout(this.outboxTimer);
    this.outboxTimer = null;
    this.outbox = [];
    const cpg = this.cpg;
    this.cpg = null;
    if (cpg) {
      try {
        if (this.joined) cpg.leave(this.options.group);
      } catch {
        // corosync is gone: finalize below is all that is left to do
      }
      cpg.finalize();
    }
    this.votequorum?.finalize();
    this.votequorum = null;
    const left = [...this.nodes];
    this.nodes = new Set();
    if (this.isQuorate) this.onQuorum(false);
    if (left.length > 0) this.emit('membership', this.nodes, left, []);
    if (this.joined) {
      this.joined = false;
      this.emit('connection', false);
    }
  }

  /** The connection to corosync failed: release, then try to connect again until closed. */
  private lost(err: Error): void {
    if (this.closed || (!this.cpg && !this.votequorum)) return;
    this.log.error(`lost the connection to corosync (${err.message}); fencing requests are refused until it is back`);
    this.release();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect().catch((err: Error) => {
        this.log.debug(`connecting to corosync again failed: ${err.message}`);
        this.scheduleReconnect();
      });
    }, this.options.reconnectMs);
  }
}
