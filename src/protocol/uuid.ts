/**
 * A canonical 36-character UUID string (any case). The daemon decides "lookup by UUID" by this syntax
 * alone, never by the request's flag bit (docs/protocol.md#request-packet-fence_req and
 * #libvirt-backend).
 */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuidString(text: string): boolean {
  return UUID_RE.test(text);
}
