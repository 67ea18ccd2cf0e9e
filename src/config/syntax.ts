/**
 * The lexical rules both the parser and the writer obey (docs/protocol.md#configuration-file-syntax), so
 * that whatever the writer emits is read back identically by our parser and by the C fence_virtd.
 */

/** Characters that end a name; '\r' is included because we reject CRLF files instead of reading it as C does. */
const NAME_TERMINATORS = new Set([' ', '\t', '\n', '\r', '{', '}', ';', '=', '"']);

export function isNameChar(ch: string): boolean {
  return !NAME_TERMINATORS.has(ch);
}

/** Why `name` cannot be written as a block or key name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name === '') return 'a name cannot be empty';
  if (name.startsWith('#')) return `name '${name}' would start a comment`;
  for (const ch of name) {
    if (!isNameChar(ch)) return `name ${JSON.stringify(name)} contains ${JSON.stringify(ch)}, which ends a name`;
  }
  return undefined;
}

/** Why `value` cannot be written between double quotes, or undefined when it can (there are no escapes). */
export function valueProblem(value: string): string | undefined {
  if (value === '') return 'an empty value cannot be written (fence_virtd rejects "")';
  if (value.includes('"')) return `value ${JSON.stringify(value)} contains '"', which cannot be written (no escapes exist)`;
  return undefined;
}
