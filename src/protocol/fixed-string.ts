import { ProtocolError } from './errors.js';

/**
 * NUL-padded fixed-size string fields. We always write a terminating NUL and zero the rest, where the C
 * daemon leaves stale memory (docs/compatibility.md, row 'host-list records'). Reading requires a NUL,
 * so an unterminated field is an error instead of a read past the field as in C (row 'domain field').
 */
export function writeFixedString(out: Buffer, offset: number, size: number, value: string, field: string): void {
  const length = Buffer.byteLength(value, 'utf8');
  if (length > size - 1) {
    throw new ProtocolError('DOMAIN_TOO_LONG', `${field} is ${length} bytes; at most ${size - 1} fit`);
  }
  if (value.includes('\0')) throw new ProtocolError('BAD_FIELD', `${field} contains a NUL byte`);
  out.write(value, offset, length, 'utf8');
  out.fill(0, offset + length, offset + size);
}

/**
 * `value` cut to at most `maxBytes` of UTF-8 without splitting a character. Host records must carry
 * names that do not fit (libvirt allows long names); the C daemon cuts them the same way, by bytes.
 */
export function truncateUtf8(value: string, maxBytes: number): string {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= maxBytes) return value;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) so the cut falls before a character's first byte.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}

export interface ReadStringOptions {
  /**
   * Host-list records from the C daemon carry stack garbage in the last byte of each string field: that
   * byte is ignored, and a string may fill the other 63 bytes without a NUL.
   */
  garbageLastByte?: boolean;
}

/**
 * Reads a NUL-terminated field strictly: bytes after the NUL must be zero, as every writer we know
 * leaves them. Besides rejecting sloppy data, this stops a serial frame glued together from a garbage
 * prefix and the start of the next real request from decoding as a request.
 */
export function readFixedString(buf: Uint8Array, offset: number, size: number, field: string, options: ReadStringOptions = {}): string {
  const end = offset + (options.garbageLastByte ? size - 1 : size);
  let nul = buf.indexOf(0, offset);
  if (nul === -1 || nul >= end) {
    if (!options.garbageLastByte) {
      throw new ProtocolError('UNTERMINATED_STRING', `${field} has no NUL terminator in its ${size} bytes`);
    }
    nul = end;
  }
  for (let i = nul + 1; i < end; i++) {
    if (buf[i] !== 0) throw new ProtocolError('BAD_FIELD', `${field} has non-zero bytes after its NUL terminator`);
  }
  return Buffer.from(buf.buffer, buf.byteOffset + offset, nul - offset).toString('utf8');
}
