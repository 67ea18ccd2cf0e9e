/**
 * Fills AgentArgs from the command line or, when there are no arguments, from stdin key=value lines,
 * through the shared option table. Messages go where the C agents put them: value errors on stdout,
 * unknown stdin keys and getopt complaints on stderr.
 */
import { defaultArgs, type AgentArgs } from './args.js';
import { getopt } from './getopt.js';
import { optionByLetter, optionByStdinName, PROTOCOL_LONG_OPTION } from './option-table.js';
import type { AgentOutput } from './output.js';
import type { AgentProgram } from './program.js';
import { parseStdinEntries } from './stdin-lines.js';

function context(args: AgentArgs, out: AgentOutput) {
  return { args, say: (line: string) => out.stdout(`${line}\n`) };
}

export function parseCommandLine(program: AgentProgram, argv0: string, argv: readonly string[], out: AgentOutput): AgentArgs {
  const args = defaultArgs(program.mode);
  const ctx = context(args, out);
  const { items, complaints } = getopt(argv0, withoutProtocolOption(argv, ctx), program.optstring);
  for (const line of complaints) out.stderr(`${line}\n`);
  for (const { letter, value } of items) {
    const spec = optionByLetter(letter);
    // A letter in the getopt string without an entry (-M) is an error without a message.
    if (!spec) args.error = true;
    else spec.assign?.(ctx, value);
  }
  return args;
}

/**
 * Takes `--protocol=X` or `--protocol X` (before a `--`) out of the words getopt sees, assigning it
 * through the table's `protocol` entry.
 */
function withoutProtocolOption(argv: readonly string[], ctx: ReturnType<typeof context>): string[] {
  const rest: string[] = [];
  const spec = optionByStdinName('protocol');
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (word === PROTOCOL_LONG_OPTION || word.startsWith(`${PROTOCOL_LONG_OPTION}=`)) {
      const value = word === PROTOCOL_LONG_OPTION ? argv[++i] : word.slice(PROTOCOL_LONG_OPTION.length + 1);
      if (value === undefined) {
        ctx.say(`Missing value for ${PROTOCOL_LONG_OPTION}`);
        ctx.args.error = true;
      } else {
        spec?.assign?.(ctx, value);
      }
      continue;
    }
    rest.push(word);
  }
  return rest;
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
