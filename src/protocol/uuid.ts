/**
 * A canonical 36-character UUID string (any case). Daemons decide "lookup by UUID" and permission
 * source kind by this syntax alone, never by the request's flag bit (PROTOCOL.md §5.1, §6).
 */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuidString(text: string): boolean {
  return UUID_RE.test(text);
}
