/** libvirt UUIDs travel as 16 raw bytes; everything above the wire uses the canonical lowercase text. */
import { isUuidString } from '../protocol/uuid.js';

/** Accepts the canonical 36-character form in any letter case. */
export function uuidToBytes(s: string): Buffer {
  if (!isUuidString(s)) throw new TypeError(`not a canonical UUID: '${s}'`);
  return Buffer.from(s.replaceAll('-', ''), 'hex');
}

export function uuidFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new TypeError(`a UUID has 16 bytes, got ${bytes.length}`);
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
