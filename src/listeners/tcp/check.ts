/**
 * Can the TCP listener take its socket? Binds exactly what the daemon would, then lets go at once;
 * explains a busy port and a foreign address.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { CheckReport } from '../../module-kit/check-report.js';
import { reportBusy } from '../port-check.js';
import type { TcpListenerConfig } from './config.js';

type Errno = NodeJS.ErrnoException;

export async function checkTcpListener(l: TcpListenerConfig, report: CheckReport): Promise<void> {
  const subject = `listener ${l.name} (tcp ${l.address} port ${l.port})`;
  const server = createServer();
  server.listen({ host: l.address, port: l.port, exclusive: true });
  const err = await once(server, 'listening').then(
    () => undefined,
    (e: unknown) => e as Errno,
  );
  if (!err) {
    await new Promise((resolve) => server.close(resolve));
    report.ok(subject, 'the port can be bound');
  } else if (err.code === 'EADDRINUSE') {
    reportBusy(report, subject, 'tcp', l.port, l.name);
  } else if (err.code === 'EADDRNOTAVAIL') {
    report.fail(
      subject,
      `${l.address} is not an address of this host`,
      `set listeners/${l.name}/address to 127.0.0.1 or to an address shown by: ip addr`,
    );
  } else {
    report.fail(subject, err.message, err.code === 'EACCES' ? 'run fence_virtd as root' : 'see the error');
  }
}
