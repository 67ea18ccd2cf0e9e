/**
 * Help and usage text, byte for byte as the C agents print it
 * (docs/protocol.md#agent-metadata-and-help): a 20-column option column and a 55-column description
 * column, both padded, descriptions wrapped at the last space that fits. Only where the C text is
 * untrue (an option's `help`) do the words differ.
 */
import { lettersOf, optionByLetter } from './option-table.js';
import type { AgentProgram } from './program.js';

const OPTION_WIDTH = 20;
const DESCRIPTION_WIDTH = 55;
const REBOOT_NOTE = 'NOTE: reboot-action does not power on nodes that are powered off.';

/** One padded, truncated column, as printf("%-N.Ns") does. */
const column = (text: string, width: number): string => text.slice(0, width).padEnd(width);

function optionLines(left: string, description: string): string {
  let out = '';
  let label = left;
  let rest = description;
  for (;;) {
    let next: string | undefined;
    if (rest.length > DESCRIPTION_WIDTH) {
      // The C search looks at positions width..1 for a space; position 0 is never a break.
      const cut = rest.lastIndexOf(' ', DESCRIPTION_WIDTH);
      if (cut > 0) {
        next = rest.slice(cut + 1);
        rest = rest.slice(0, cut);
      }
    }
    out += `  ${column(label, OPTION_WIDTH)}  ${column(rest, DESCRIPTION_WIDTH)}\n`;
    if (next === undefined) return out;
    label = ' ';
    rest = next;
  }
}

/**
 * The option list; `stdinForm` lists stdin key names instead of letters and has no "usage:" header
 * (that form follows errors in stdin input).
 */
export function usageText(program: AgentProgram, argv0: string, stdinForm: boolean): string {
  let out = stdinForm ? '' : `usage: ${argv0} [args]\n\n${REBOOT_NOTE}\n\n`;
  for (const letter of lettersOf(program.optstring)) {
    const spec = optionByLetter(letter);
    if (!spec || spec.deprecated) continue;
    if (stdinForm) {
      if (spec.stdinName) out += optionLines(spec.stdinName, spec.help ?? spec.description);
    } else {
      out += optionLines(spec.usage ?? `-${letter}`, spec.help ?? spec.description);
    }
  }
  return `${out}\n`;
}

export function helpText(program: AgentProgram, argv0: string): string {
  return (
    usageText(program, argv0, false) +
    'With no command line argument, arguments are read from standard input.\n' +
    'Arguments read from standard input take the form of:\n\n' +
    '    arg1=value1\n' +
    '    arg2=value2\n\n' +
    usageText(program, argv0, true)
  );
}
