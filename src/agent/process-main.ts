/** Runs an agent as this process: real argv, stdin and stdout, and the exit code. */
import { buffer } from 'node:stream/consumers';
import { processOutput } from './output.js';
import type { AgentProgram } from './program.js';
import { runAgent } from './run-agent.js';

export async function agentProcessMain(program: AgentProgram): Promise<void> {
  let code: number;
  try {
    code = await runAgent({
      program,
      argv0: process.argv[1] ?? program.name,
      argv: process.argv.slice(2),
      readStdin: () => buffer(process.stdin),
      out: processOutput,
    });
  } catch (err) {
    // A bug, not an outcome: say so and fail like an unknown response.
    process.stderr.write(`${program.name}: internal error: ${(err as Error).stack ?? String(err)}\n`);
    code = 255;
  }
  // stdout may be a non-blocking pipe (a parent that spawned us): exit once everything written has
  // left, but do not wait for other handles (a closing serial port, a socket's lingering close).
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))));
  process.exit(code);
}
