import type { RequestExecutor } from '../core/executor.js';
import type { RequestCore } from '../core/request-core.js';
import type { LibvirtConnectionPool } from '../libvirt/connection-pool.js';
import type { Logger } from '../util/log.js';

/**
 * What the daemon runtime sees of a transport. Every listener decodes with the shared codec,
 * authenticates with the shared auth core, passes the shared request gate and executes through the
 * daemon's one RequestExecutor; a transport's folder under src/listeners implements this (registry.ts).
 */
export interface Listener {
  /** Instance name from the configuration (e.g. "multicast", "vmchannel"). */
  readonly name: string;
  start(): Promise<void>;
  /** Stops accepting; requests already being executed finish. */
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
