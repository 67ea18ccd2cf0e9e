/**
 * The test side of a process inside a cluster host: cpg-peer-process.ts (the addon alone) or
 * cpg-backend-process.ts (a whole cpg backend), driven over Node's IPC channel (it passes through
 * `ip netns exec`, which execs node in place). Every call and every wait for an event has a deadline.
 */
import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { CorosyncHost } from './corosync-cluster.js';
import { waitUntil } from './processes.js';

export const ADDON_PEER = fileURLToPath(new URL('./cpg-peer-process.ts', import.meta.url));
export const BACKEND_PEER = fileURLToPath(new URL('./cpg-backend-process.ts', import.meta.url));

export interface PeerAddress {
  nodeId: number;
  pid: number;
  reason: number;
}

export type PeerEvent =
  | { event: 'deliver'; nodeId: number; pid: number; group: string; data: string }
  | { event: 'confchg'; members: PeerAddress[]; left: PeerAddress[]; joined: PeerAddress[]; group: string }
  | { event: 'quorum'; quorate: boolean; nodes: { nodeId: number; state: number }[] }
  | { event: 'error'; source: string; code: string; message: string }
  | { event: 'log'; line: string };

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { code?: string; message: string };
}

/** An error the addon threw in the peer, with its code (the cs_error_t name for corosync failures). */
export class PeerCallError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export class CpgPeer {
  /** Every event the peer reported, in order. */
  readonly events: PeerEvent[] = [];
  /** The process's own PID as it reported it. */
  pid = 0;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: Reply) => void>();
  private exited = false;
  private stderr = '';

  private constructor(
    readonly host: CorosyncHost,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('message', (message: Reply | PeerEvent | { event: 'ready'; pid: number }) => {
      if ('id' in message) {
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      } else if (message.event === 'ready') {
        this.pid = message.pid;
      } else {
        this.events.push(message);
      }
    });
    child.once('exit', () => {
      this.exited = true;
      const gone: Reply = { id: 0, ok: false, error: { message: `peer on host ${host.nodeId} exited: ${this.stderr.trim()}` } };
      for (const resolve of this.pending.values()) resolve(gone);
      this.pending.clear();
    });
  }

  static async start(host: CorosyncHost, script = ADDON_PEER): Promise<CpgPeer> {
    const child = host.spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    const peer = new CpgPeer(host, child);
    await waitUntil(() => {
      if (peer.exited) throw new Error(`peer on host ${host.nodeId} exited during start-up: ${peer.stderr.trim()}`);
      return peer.pid !== 0;
    }, `peer on host ${host.nodeId} starting`);
    return peer;
  }

  /** Runs one operation in the peer; rejects with PeerCallError when it threw there. */
  call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`peer on host ${this.host.nodeId} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`peer on host ${this.host.nodeId}: ${op} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.ok) resolve(reply.result as T);
        else reject(new PeerCallError(reply.error?.code, reply.error?.message ?? 'unknown error'));
      });
      this.child.send({ id, op, args });
    });
  }

  /** How many events arrived so far: pass it to waitFor to look only at later ones. */
  mark(): number {
    return this.events.length;
  }

  /** The first event from index `since` on that satisfies `match`, waiting for it up to timeoutMs. */
  async waitFor<E extends PeerEvent['event']>(
    kind: E,
    match: (event: Extract<PeerEvent, { event: E }>) => boolean,
    what: string,
    since = 0,
    timeoutMs = 20_000,
  ): Promise<Extract<PeerEvent, { event: E }>> {
    let found: Extract<PeerEvent, { event: E }> | undefined;
    await waitUntil(
      () => {
        found = this.events
          .slice(since)
          .find((e): e is Extract<PeerEvent, { event: E }> => e.event === kind && match(e as Extract<PeerEvent, { event: E }>));
        return found !== undefined;
      },
      `host ${this.host.nodeId}: ${what}`,
      timeoutMs,
    );
    return found as Extract<PeerEvent, { event: E }>;
  }

  /** Events of one kind from index `since` on. */
  eventsOf<E extends PeerEvent['event']>(kind: E, since = 0): Extract<PeerEvent, { event: E }>[] {
    return this.events.slice(since).filter((e): e is Extract<PeerEvent, { event: E }> => e.event === kind);
  }

  /** Sends a signal to the peer by its PID (SIGSTOP/SIGCONT hang and resume it). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills the peer by its PID at once (a crash: no leave, no finalize) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.exited) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  /** Ends the peer: it finalizes its handles when the channel closes; SIGKILL by PID after 5 s. */
  async close(): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGCONT'); // a stopped peer would not see the channel close
    const exited = once(this.child, 'exit');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    this.child.disconnect();
    await exited;
    clearTimeout(timer);
  }
}
