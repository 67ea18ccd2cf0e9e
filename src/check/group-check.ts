import { isIP } from 'node:net';
import type { DaemonConfig } from '../daemon-config/index.js';
import type { CheckReport, LibvirtView } from '../module-kit/check-report.js';
import { countOf } from '../util/plural.js';

/**
 * Each group's domains exist on the backend's hypervisors (by name or UUID, as requests name them),
 * and each requester entry is something a listener can report (an IP address or a vsock CID).
 */
export function checkGroups(config: DaemonConfig, views: ReadonlyMap<string, LibvirtView>, report: CheckReport): void {
  if (config.groups.length === 0) return;
  const reachable = config.backend.uris.flatMap((uri) => views.get(uri)?.domains ?? []);
  const checked = config.backend.uris.every((uri) => views.has(uri));
  for (const group of config.groups) {
    const subject = `group ${group.name}`;
    const badIps = group.ips.filter((ip) => isIP(ip) === 0 && !/^\d+$/.test(ip));
    if (badIps.length) {
      report.warn(
        subject,
        `ip ${badIps.join(', ')}: neither an IP address nor a vsock CID, so it matches no requester`,
        'write numeric addresses (no host names, no CIDR) or CIDs',
      );
    }
    if (!checked) {
      report.warn(subject, "domains not checked: the backend's libvirt did not answer", 'fix the libvirt lines above, then check again');
      continue;
    }
    const missing: string[] = [];
    const caseOnly: string[] = [];
    for (const entry of group.uuids) {
      const lower = entry.toLowerCase();
      if (reachable.some((d) => d.name === entry || d.uuid === lower)) continue;
      const near = reachable.find((d) => d.name.toLowerCase() === lower);
      if (near) caseOnly.push(`${entry} (libvirt has ${near.name})`);
      else missing.push(entry);
    }
    if (missing.length) {
      report.warn(
        subject,
        `no domain named ${missing.join(', ')} on ${config.backend.uris.join(', ')}`,
        'correct the uuid entries (names are case-sensitive; virsh list --all --uuid shows both forms)',
      );
    }
    if (caseOnly.length) {
      report.warn(
        subject,
        `${caseOnly.join(', ')}: matches only when case is ignored; fencing by this spelling fails`,
        'write the names exactly as virsh list --all shows them',
      );
    }
    if (!missing.length && !caseOnly.length)
      report.ok(
        subject,
        `${countOf(group.uuids.length, 'domain')}, all known to libvirt; ${countOf(group.ips.length, 'requester address', 'requester addresses')}`,
      );
  }
}
