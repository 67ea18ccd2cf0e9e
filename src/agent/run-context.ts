/** What every mode gets: the settings, the output, a logger and the run's deadline. */
import type { Logger } from '../util/log.js';
import type { AgentArgs } from './args.js';
import type { Deadline } from './deadline.js';
import type { AgentOutput } from './output.js';

export interface RunContext {
  args: AgentArgs;
  out: AgentOutput;
  log: Logger;
  deadline: Deadline;
}

/** The C agents' per-step limit: the `timeout` option. */
export const stepMs = (ctx: RunContext): number => ctx.args.timeout * 1000;
