/**
 * Peer-supplied text (domain names, paths from libvirt, error messages) reaches log lines and, through
 * them, syslog and the journal. A control or formatting character there could start a forged line or
 * hide text, so every line is passed through this one function on its way out.
 */
/**
 * C0 and C1 controls, DEL, and format characters (bidi overrides, zero-width), plus the Unicode line
 * breaks. Made at the first line that is not printable ASCII: V8 parses a regular expression when it
 * makes it, and these Unicode classes take about 0.5 ms of every start otherwise.
 */
let unsafe: RegExp | undefined;
/** Anything but printable ASCII: most lines have none, and this needs no Unicode tables to compile. */
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;

export function escapeForLog(text: string): string {
  if (!NOT_PRINTABLE_ASCII.test(text)) return text;
  unsafe ??= /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
  unsafe.lastIndex = 0;
  if (!unsafe.test(text)) return text;
  return text.replace(unsafe, (ch) => {
    const code = ch.codePointAt(0) as number;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
