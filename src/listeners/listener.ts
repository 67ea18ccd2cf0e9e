import type { RequestExecutor } from '../core/executor.js';
import type { RequestCore } from '../core/request-core.js';
import type { LibvirtConnectionPool } from '../libvirt/connection-pool.js';
import type { Logger } from '../util/log.js';

/**
 * What the daemon runtime sees of a transport. Every listener decodes with the shared codec,
 * authenticates with the shared auth core, passes the shared request gate and executes through the
 * daemon's one RequestExecutor; a transport's folder under src/listeners implements this (registry.ts).
 * Once started, a listener handles its own peers' failures (it logs them and keeps serving): nothing a
 * peer does may reject a promise of this interface or throw out of an event handler.
 */
export interface Listener {
  /** Instance name from the configuration (e.g. "multicast", "vmchannel"), for logs and the audit line. */
  readonly name: string;
  /**
   * Binds, joins or subscribes, and starts serving. Resolves once requests can arrive (the port is bound,
   * the guest sockets of running domains are open). Rejects with a message naming what could not be set
   * up (the address in use, an unknown interface, libvirt not answering); with wait_for_init the daemon
   * calls start again every 5 s, otherwise it stops.
   */
  start(): Promise<void>;
  /**
   * Stops accepting and closes what it listens on; requests already being executed finish (the daemon
   * waits for them). Safe to call on a listener that never started or whose start failed; does not
   * reject.
   */
  stop(): Promise<void>;
}

export interface ListenerContext {
  /** Executes admitted requests: the daemon's Dispatcher. */
  dispatcher: RequestExecutor;
  /** The daemon-wide gate, challenge registry and bounds. */
  core: RequestCore;
  log: Logger;
  /** The daemon's shared libvirt connections, for listeners that watch domains (serial, vsock). */
  libvirt: LibvirtConnectionPool;
}

/** Per-step deadlines of the daemon side. */
export const Timeouts = {
  /** TCP and vsock: the 176-byte request must arrive within 1 s of accept, as in C. */
  requestRead: 1_000,
  /** Multicast connect-back. */
  connectBack: 5_000,
  /** Each read or write of the challenge-response exchange, and the final answer. */
  authStep: 10_000,
} as const;
