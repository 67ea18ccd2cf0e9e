import type { CheckReport } from '../module-kit/check-report.js';
import { describeOwners, isFenceVirtd, portOwners } from '../util/port-owner.js';

/** EADDRINUSE explained by who holds the port; a running fence_virtd is only worth a warning. */
export function reportBusy(report: CheckReport, subject: string, protocol: 'tcp' | 'udp', port: number, listener: string): void {
  const owners = portOwners(protocol, port);
  const detail = `${protocol.toUpperCase()} port ${port} is in use by ${describeOwners(owners)}`;
  if (owners.length > 0 && owners.every(isFenceVirtd)) {
    report.warn(
      subject,
      `${detail}: fence_virtd already runs here`,
      'fine if it runs this configuration; otherwise stop it (systemctl stop fence_virtd)',
    );
  } else {
    report.fail(subject, detail, `stop that process, or choose another port in listeners/${listener}/port (guests: -p)`);
  }
}
