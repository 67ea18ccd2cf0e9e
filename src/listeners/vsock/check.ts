/** Can the vsock listener take its port? The host must have the transport and the port must be free. */
import { existsSync } from 'node:fs';
import type { CheckReport } from '../../module-kit/check-report.js';
import { listenVsock } from '../../native/vsock.js';
import type { VsockListenerConfig } from './config.js';

type Errno = NodeJS.ErrnoException;

/** Binds and listens only: nothing here ever connects an AF_VSOCK socket. */
export function checkVsockListener(l: VsockListenerConfig, report: CheckReport): void {
  const subject = `listener ${l.name} (vsock port ${l.port})`;
  if (!existsSync('/dev/vsock')) {
    report.fail(
      subject,
      '/dev/vsock does not exist: this host has no vsock transport',
      'modprobe vhost_vsock (and give the guests <vsock model="virtio"> devices)',
    );
    return;
  }
  try {
    listenVsock({ port: l.port }).close();
    report.ok(subject, 'the port can be bound');
  } catch (err) {
    const e = err as Errno;
    const fix =
      e.code === 'EADDRINUSE'
        ? `stop the process using vsock port ${l.port}, or choose another port in listeners/${l.name}/port`
        : 'see the error';
    report.fail(subject, e.message, e.code === 'ERR_VSOCK_ADDON_MISSING' ? 'reinstall fence-virtd (the vsock addon is missing)' : fix);
  }
}
