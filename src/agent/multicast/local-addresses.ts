/**
 * The local addresses fence_xvm sends from, one request each (docs/protocol.md#multicast-flow, agent
 * step 4): every address of the family, IPv4 loopback included, IPv6 loopback and link-local (fe80::/10)
 * excluded since the daemon could not connect back to them without a scope. os.networkInterfaces() lists
 * addresses of interfaces that are up; the C agent's netlink dump also lists those of down interfaces,
 * which cannot send anyway.
 */
import { networkInterfaces } from 'node:os';
import { Family, ipv6FromText } from '../../protocol/index.js';

function isIpv6LinkLocal(address: string): boolean {
  const bytes = ipv6FromText(address);
  return bytes !== undefined && bytes[0] === 0xfe && ((bytes[1] as number) & 0xc0) === 0x80;
}

export function localAddresses(family: typeof Family.INET | typeof Family.INET6): string[] {
  const out: string[] = [];
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (family === Family.INET && entry.family === 'IPv4') out.push(entry.address);
      if (family === Family.INET6 && entry.family === 'IPv6' && entry.address !== '::1' && !isIpv6LinkLocal(entry.address)) {
        out.push(entry.address);
      }
    }
  }
  return out;
}
