/**
 * Fills AgentArgs from the command line or, when there are no arguments, from stdin key=value lines,
 * through the shared option table. Messages go where the C agents put them: value errors on stdout,
 * unknown stdin keys and getopt complaints on stderr.
 */
import { defaultArgs, type AgentArgs } from './args.js';
import { getopt } from './getopt.js';
import { optionByLetter, optionByStdinName } from './option-table.js';
import type { AgentOutput } from './output.js';
import type { AgentProgram } from './program.js';
import { parseStdinEntries } from './stdin-lines.js';

function context(args: AgentArgs, out: AgentOutput) {
  return { args, say: (line: string) => out.stdout(`${line}\n`) };
}

export function parseCommandLine(program: AgentProgram, argv0: string, argv: readonly string[], out: AgentOutput): AgentArgs {
  const args = defaultArgs(program.mode);
  const ctx = context(args, out);
  const { items, complaints } = getopt(argv0, argv, program.optstring);
  for (const line of complaints) out.stderr(`${line}\n`);
  for (const { letter, value } of items) {
    const spec = optionByLetter(letter);
    // A letter in the getopt string without an entry (-M) is an error without a message.
    if (!spec) args.error = true;
    else spec.assign?.(ctx, value);
  }
  return args;
}

export function parseStdin(program: AgentProgram, input: Buffer, out: AgentOutput): AgentArgs {
  const args = defaultArgs(program.mode);
  const ctx = context(args, out);
  for (const { name, value } of parseStdinEntries(input)) {
    const spec = optionByStdinName(name);
    // Keys of the other program (ipaddr for fence_xvm) are as unknown as misspelt ones.
    if (!spec || (spec.letter !== undefined && !program.optstring.includes(spec.letter))) {
      out.stderr(`Parse error: Ignoring unknown option '${name}'\n`);
      continue;
    }
    spec.assign?.(ctx, value);
  }
  return args;
}
