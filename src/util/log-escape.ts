/**
 * Peer-supplied text (domain names, paths from libvirt, error messages) reaches log lines and, through
 * them, syslog and the journal. A control or formatting character there could start a forged line or
 * hide text, so every line is passed through this one function on its way out.
 */
// C0 and C1 controls, DEL, and format characters (bidi overrides, zero-width), plus the Unicode line breaks.
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
/** Anything but printable ASCII: most lines have none, and this needs no Unicode tables to compile. */
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;

export function escapeForLog(text: string): string {
  if (!NOT_PRINTABLE_ASCII.test(text)) return text;
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (ch) => {
    const code = ch.codePointAt(0) as number;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
