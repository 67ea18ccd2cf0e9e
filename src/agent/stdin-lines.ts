/**
 * Splits what Pacemaker writes on stdin into `name[=value]` entries exactly as the C agents read it
 * (docs/protocol.md#agent-stdin): 255-byte fgets() chunks, `#` in the first column skips the chunk,
 * leading blanks are dropped, blank chunks skipped, the entry ends at the first blank, CR or LF (so
 * values cannot contain spaces), and the name ends at the first '='.
 */

export interface StdinEntry {
  name: string;
  /** undefined when the entry has no '='. */
  value: string | undefined;
}

/** fgets() with a 256-byte buffer returns at most 255 bytes, up to and including a newline. */
const CHUNK = 255;

function* fgetsChunks(input: Buffer): Generator<Buffer> {
  let start = 0;
  while (start < input.length) {
    const newline = input.indexOf(0x0a, start);
    const lineEnd = newline === -1 ? input.length : newline + 1;
    const end = Math.min(lineEnd, start + CHUNK);
    yield input.subarray(start, end);
    start = end;
  }
}

export function parseStdinEntries(input: Buffer): StdinEntry[] {
  const entries: StdinEntry[] = [];
  for (const raw of fgetsChunks(input)) {
    // A C string ends at the first NUL byte.
    const nul = raw.indexOf(0);
    const chunk = (nul === -1 ? raw : raw.subarray(0, nul)).toString('utf8');
    if (chunk.startsWith('#')) continue;
    const body = chunk.replace(/^[ \t]*/, '');
    // Only blanks before the line break: nothing to parse.
    if (body.startsWith('\n') || body.startsWith('\r')) continue;
    const word = body.split(/[ \t\r\n]/, 1)[0] as string;
    const eq = word.indexOf('=');
    entries.push(eq === -1 ? { name: word, value: undefined } : { name: word.slice(0, eq), value: word.slice(eq + 1) });
  }
  return entries;
}
