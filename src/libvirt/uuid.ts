/** libvirt UUIDs travel as 16 raw bytes; everything above the wire uses the canonical lowercase text. */

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for the 36-character 8-4-4-4-12 hex form, any letter case (what libuuid's parser accepts). */
export function isCanonicalUuid(s: string): boolean {
  return CANONICAL.test(s);
}

export function uuidToBytes(s: string): Buffer {
  if (!isCanonicalUuid(s)) throw new TypeError(`not a canonical UUID: '${s}'`);
  return Buffer.from(s.replaceAll('-', ''), 'hex');
}

export function uuidFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new TypeError(`a UUID has 16 bytes, got ${bytes.length}`);
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
