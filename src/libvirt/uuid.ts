/** libvirt UUIDs travel as 16 raw bytes; everything above the wire uses the canonical lowercase text. */
import { isUuidString } from '../protocol/uuid.js';

/** Accepts the canonical 36-character form in any letter case. */
export function uuidToBytes(s: string): Buffer {
  if (!isUuidString(s)) throw new TypeError(`not a canonical UUID: '${s}'`);
  return Buffer.from(s.replaceAll('-', ''), 'hex');
}

const UUID_GROUPS = /^(.{8})(.{4})(.{4})(.{4})/;

export function uuidFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new TypeError(`a UUID has 16 bytes, got ${bytes.length}`);
  // One flat string: pieces joined by a template stay a tree of nine strings (about 250 bytes instead of
  // 56) for as long as the UUID is kept, e.g. by every guest socket of the serial listener.
  return Buffer.from(bytes).toString('hex').replace(UUID_GROUPS, '$1-$2-$3-$4-');
}
