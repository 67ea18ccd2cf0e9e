import type { HostInfo } from '../protocol/host-list.js';
import type { RequestToExecute } from './request-gate.js';
import type { Requester } from './requester.js';

/**
 * What executing a request produced: a response code, or a host list and the code that ends it. A code
 * may carry, for the fence history (listeners send only the code), the UUID of the VM the request was
 * resolved to before it ran and the reason the backend gave for a failure.
 */
export type Answer = { kind: 'code'; code: number; uuid?: string; reason?: string } | { kind: 'hostlist'; hosts: HostInfo[]; code: number };

/**
 * What listeners hand an admitted request to. The daemon's Dispatcher is the one implementation: it
 * checks permissions, runs the request on the backend and writes the audit line.
 */
export interface RequestExecutor {
  execute(req: RequestToExecute, who: Requester): Promise<Answer>;
}
