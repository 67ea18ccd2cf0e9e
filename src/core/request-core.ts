import { HISTORY_WINDOW_MS } from '../protocol/constants.js';
import type { Logger } from '../util/log.js';
import { RateLimitedLog } from '../util/rate-limited-log.js';
import { ChallengeRegistry } from '../auth/challenge-registry.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import { defaultLimits, type SecurityLimits } from './limits.js';
import { ReplayMemory } from './replay-memory.js';
import type { Requester } from './requester.js';
import { RequestGate, type RequestToExecute } from './request-gate.js';
import { RequestHistory } from './request-history.js';

/** All requesters together may hold this many duplicate-window entries. */
const MAX_HISTORY_ENTRIES = 200_000;

/**
 * The state every listener of one daemon shares, so that no protection depends on which listener or
 * interface a peer chooses: the gate (history, replay memory), the challenges in flight, and the bounds
 * on connections and connect-backs.
 */
export interface RequestCore {
  readonly gate: RequestGate;
  readonly challenges: ChallengeRegistry;
  /** TCP and vsock connections being served, keyed by peer address or CID. */
  readonly connections: ConcurrencyLimiter;
  /** Multicast connect-backs under way, keyed by the address called. */
  readonly connectBacks: ConcurrencyLimiter;
  readonly limits: Readonly<SecurityLimits>;
  /** Warnings about shed work: one line per kind per interval. */
  readonly shed: RateLimitedLog;
}

export function createRequestCore(
  permits: (request: RequestToExecute, who: Requester) => boolean,
  log: Logger,
  limits: Readonly<SecurityLimits> = defaultLimits,
  /** The replay memory; the daemon passes one that a journal file keeps across restarts. */
  replays: ReplayMemory = new ReplayMemory(limits.replayWindowMs, limits.maxReplayEntries),
): RequestCore {
  const shed = new RateLimitedLog((line) => log.warn(line));
  const history = new RequestHistory({
    windowMs: HISTORY_WINDOW_MS,
    maxPerRequester: limits.maxHistoryPerRequester,
    maxEntries: MAX_HISTORY_ENTRIES,
  });
  return {
    gate: new RequestGate(history, replays, permits, shed),
    challenges: new ChallengeRegistry(),
    connections: new ConcurrencyLimiter(limits.maxConnections, limits.maxConnectionsPerSource),
    connectBacks: new ConcurrencyLimiter(limits.maxConnectBacks, limits.maxConnectBacksPerAddress),
    limits,
    shed,
  };
}
