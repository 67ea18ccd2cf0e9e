/** One run of a real agent for the protocol version 2 tests: fence_virt -T for TCP, fence_xvm for multicast. */
import type { ToolResult } from '../support/processes.js';
import { runC, runOurs } from '../agent/agents.js';

export type Transport = 'tcp' | 'multicast';
export type Side = 'C' | 'ours';

export interface AgentCall {
  side: Side;
  transport: Transport;
  port: number;
  keyFile: string;
  op: string;
  domain?: string;
  /** More arguments, e.g. ['--protocol=2'] (ours only). */
  extra?: readonly string[];
}

/** A 5-second timeout keeps refusals quick. */
export function runAgent(call: AgentCall): Promise<ToolResult> {
  const { transport, domain } = call;
  const target = domain === undefined ? [] : transport === 'tcp' ? ['-n', domain] : ['-H', domain];
  const where = transport === 'tcp' ? ['-T', '127.0.0.1'] : ['-a', '225.0.0.12'];
  const args = [...where, '-p', String(call.port), '-k', call.keyFile, '-t', '5', '-o', call.op, ...target, ...(call.extra ?? [])];
  const name = transport === 'tcp' ? 'fence_virt' : 'fence_xvm';
  return call.side === 'C' ? runC(name, args) : runOurs(name, args);
}

export const show = (r: ToolResult): string => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
