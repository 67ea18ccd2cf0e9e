/**
 * The C library's integer parsing as the C agents use it on option values
 * (docs/protocol.md#agent-options): strtol and strtoul with base 0 (so "0x10" and "010" are accepted),
 * then stored in an `int`. Emulating it keeps odd inputs (" 12", "+7", "0x4cd", out-of-range values)
 * accepted or refused exactly as before.
 */

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);
const ULONG_MAX = (1n << 64n) - 1n;

export interface CParse {
  value: bigint;
  /** True when the whole string was consumed (C: `*endptr == '\0'`). */
  complete: boolean;
}

const isCSpace = (c: string | undefined): boolean => c !== undefined && ' \t\n\v\f\r'.includes(c);

function digitValue(c: string | undefined): number {
  if (c === undefined) return 99;
  const code = c.toLowerCase().charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 122) return code - 87;
  return 99;
}

function parse(text: string, unsigned: boolean, base0: boolean): CParse {
  let i = 0;
  while (isCSpace(text[i])) i++;
  let negative = false;
  if (text[i] === '+' || text[i] === '-') negative = text[i++] === '-';
  let base = 10;
  if (base0) {
    if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X') && digitValue(text[i + 2]) < 16) {
      base = 16;
      i += 2;
    } else if (text[i] === '0') {
      base = 8;
    }
  }
  const start = i;
  let magnitude = 0n;
  while (digitValue(text[i]) < base) magnitude = magnitude * BigInt(base) + BigInt(digitValue(text[i++]));
  // No digits at all: the end pointer goes back to the very start of the string.
  if (i === start) return { value: 0n, complete: text.length === 0 };
  let value: bigint;
  if (unsigned) {
    value = magnitude > ULONG_MAX ? ULONG_MAX : negative ? (ULONG_MAX + 1n - magnitude) & ULONG_MAX : magnitude;
  } else {
    const signed = negative ? -magnitude : magnitude;
    value = signed > LONG_MAX ? LONG_MAX : signed < LONG_MIN ? LONG_MIN : signed;
  }
  return { value, complete: i === text.length };
}

/** strtol(text, &end, 0). */
export function strtol(text: string): CParse {
  return parse(text, false, true);
}

/** strtoul(text, &end, 0). */
export function strtoul(text: string): CParse {
  return parse(text, true, true);
}

/** What an `int` holds after `int x = <long>` on x86-64: the low 32 bits, two's complement. */
export function toCInt(value: bigint): number {
  return Number(BigInt.asIntN(32, value));
}

/** atoi(text): base 10, no error reporting. */
export function atoi(text: string): number {
  return toCInt(parse(text, false, false).value);
}
