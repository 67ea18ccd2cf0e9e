/**
 * GNU getopt(3) as the C agents call it: option clusters ("-dd", "-ofoo"), arguments attached or in
 * the next word, optional arguments only attached ("-S3"), non-options skipped and scanning continued
 * after them (GNU permutation), "--" ends the options. An unknown letter or a missing argument comes
 * back as '?', which the agents treat as a request for help.
 */

export interface GetoptItem {
  letter: string;
  /** undefined: the option takes no argument, or its optional argument was not attached. */
  value: string | undefined;
}

export interface GetoptResult {
  items: GetoptItem[];
  /** glibc's diagnostics, for stderr. */
  complaints: string[];
}

type ArgumentKind = 'none' | 'required' | 'optional';

function parseOptstring(optstring: string): Map<string, ArgumentKind> {
  const kinds = new Map<string, ArgumentKind>();
  for (let i = 0; i < optstring.length; i++) {
    const letter = optstring[i] as string;
    if (letter === ':') continue;
    const colons = optstring[i + 1] === ':' ? (optstring[i + 2] === ':' ? 2 : 1) : 0;
    kinds.set(letter, colons === 2 ? 'optional' : colons === 1 ? 'required' : 'none');
  }
  return kinds;
}

export function getopt(progname: string, argv: readonly string[], optstring: string): GetoptResult {
  const kinds = parseOptstring(optstring);
  const items: GetoptItem[] = [];
  const complaints: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') break;
    if (word.length < 2 || !word.startsWith('-')) continue;
    for (let j = 1; j < word.length; j++) {
      const letter = word[j] as string;
      const kind = kinds.get(letter);
      if (kind === undefined) {
        complaints.push(`${progname}: invalid option -- '${letter}'`);
        items.push({ letter: '?', value: undefined });
        continue;
      }
      if (kind === 'none') {
        items.push({ letter, value: undefined });
        continue;
      }
      const rest = word.slice(j + 1);
      if (kind === 'optional') {
        items.push({ letter, value: rest === '' ? undefined : rest });
      } else if (rest !== '') {
        items.push({ letter, value: rest });
      } else if (i + 1 < argv.length) {
        items.push({ letter, value: argv[++i] as string });
      } else {
        complaints.push(`${progname}: option requires an argument -- '${letter}'`);
        items.push({ letter: '?', value: undefined });
      }
      break;
    }
  }
  return { items, complaints };
}
