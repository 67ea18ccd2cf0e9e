/**
 * Turns a mode's result into the agents' stdout and exit code
 * (docs/protocol.md#agent-output-and-exit-codes): status prints "Status: ON/OFF", failures print their
 * word, anything else "Unknown response (N)"; the exit code is the result's low byte (so -1 exits 255).
 */
import { Request, Response } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import type { AgentArgs } from './args.js';
import type { AgentOutput } from './output.js';

export function reportResult(result: number, args: AgentArgs, out: AgentOutput, log: Logger): number {
  const isStatus = args.op === Request.STATUS;
  switch (result) {
    case Response.SUCCESS:
      if (isStatus) out.stdout('Status: ON\n');
      break;
    case Response.OFF:
      if (isStatus) out.stdout('Status: OFF\n');
      break;
    case Response.FAIL:
      out.stdout('Operation failed\n');
      break;
    case Response.PERM:
      out.stdout('Permission denied\n');
      log.error(`fence_virtd refused: the groups of its configuration do not allow this guest to act on "${args.domain ?? ''}"`);
      break;
    default:
      out.stdout(`Unknown response (${result})\n`);
  }
  return result & 0xff;
}
