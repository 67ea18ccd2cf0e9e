import type { HostInfo } from '../protocol/host-list.js';
import type { RequestToExecute } from './request-gate.js';
import type { Requester } from './requester.js';

/** What executing a request produced: a response code, or a host list and the code that ends it. */
export type Answer = { kind: 'code'; code: number } | { kind: 'hostlist'; hosts: HostInfo[]; code: number };

/**
 * What listeners hand an admitted request to. The daemon's Dispatcher is the one implementation: it
 * checks permissions, runs the request on the backend and writes the audit line.
 */
export interface RequestExecutor {
  execute(req: RequestToExecute, who: Requester): Promise<Answer>;
}
