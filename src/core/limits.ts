/**
 * Bounds on what peers that have not proven the key can make the daemon hold, and on the memory kept
 * against duplicates and replays. Read from the `fence_virtd` block (the names below are the file's
 * keys); the defaults suit a host with hundreds of guests and leave most of a 1024-descriptor limit to
 * libvirt and guest sockets.
 */
export interface SecurityLimits {
  /** TCP and vsock connections being served at once, all listeners together. */
  maxConnections: number;
  /** ... of them from one peer address (TCP) or CID (vsock). */
  maxConnectionsPerSource: number;
  /** Multicast connect-backs under way at once. */
  maxConnectBacks: number;
  /** ... of them to one address. */
  maxConnectBacksPerAddress: number;
  /** Unread bytes kept per guest serial socket; a guest sending more is disconnected. */
  maxSerialBuffer: number;
  /** Duplicate-window entries one requester may hold; more evicts its own oldest. */
  maxHistoryPerRequester: number;
  /** How long the exact bytes of an executed signed request are refused (ms). */
  replayWindowMs: number;
  /** How many executed signed requests are remembered for that. */
  maxReplayEntries: number;
}

export const defaultLimits: Readonly<SecurityLimits> = {
  maxConnections: 256,
  maxConnectionsPerSource: 16,
  maxConnectBacks: 32,
  maxConnectBacksPerAddress: 4,
  maxSerialBuffer: 64 * 1024,
  maxHistoryPerRequester: 1024,
  replayWindowMs: 24 * 3600 * 1000,
  maxReplayEntries: 100_000,
};
