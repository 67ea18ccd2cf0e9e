import type { RequesterIdentity } from '../core/requester.js';
import type { HostInfo } from '../protocol/host-list.js';

/** One `group { }` of the `groups` section. */
export interface GroupRule {
  name: string;
  /** Requester identities: IP addresses as text, or vsock CIDs in decimal. */
  ips: readonly string[];
  /** Targets (VM names and UUIDs), and requester identities: the VM's UUID for serial and vsock peers. */
  uuids: readonly string[];
}

/**
 * The static permission map. Without any group holding an `ip` or `uuid` entry everything is allowed,
 * as in C. Comparisons are case-insensitive exact text, as in C (libvirt names are case-sensitive,
 * so a wrong-case name passes the map and then is not found).
 */
export class StaticMap {
  private readonly groups: { name: string; ips: Set<string>; uuids: Set<string> }[];

  constructor(rules: readonly GroupRule[]) {
    this.groups = rules
      .filter((g) => g.ips.length > 0 || g.uuids.length > 0)
      .map((g) => ({
        name: g.name,
        ips: new Set(g.ips.map((s) => s.toLowerCase())),
        uuids: new Set(g.uuids.map((s) => s.toLowerCase())),
      }));
  }

  get active(): boolean {
    return this.groups.length > 0;
  }

  private groupsOf(who: RequesterIdentity) {
    const addresses = who.addresses.map((a) => a.toLowerCase());
    const domains = who.domains.map((d) => d.toLowerCase());
    return this.groups.filter((g) => addresses.some((a) => g.ips.has(a)) || domains.some((d) => g.uuids.has(d)));
  }

  /** Whether `who` may act on `target`, the request's domain string exactly as sent. */
  allows(who: RequesterIdentity, target: string): boolean {
    if (!this.active) return true;
    const t = target.toLowerCase();
    return this.groupsOf(who).some((g) => g.uuids.has(t));
  }

  /** Host-list filter: a VM is visible if the requester's groups name its UUID or its name. */
  visibleTo(who: RequesterIdentity): (host: HostInfo) => boolean {
    if (!this.active) return () => true;
    const groups = this.groupsOf(who);
    return (host) => groups.some((g) => g.uuids.has(host.uuid.toLowerCase()) || g.uuids.has(host.name.toLowerCase()));
  }
}
