import { stat } from 'node:fs/promises';
import type { CheckReport, LibvirtView } from '../../module-kit/check-report.js';
import type { SerialListenerConfig } from './config.js';
import { boundSocketPaths, inSocketDirectory } from './domain-sockets.js';

const DEVICE_XML = {
  serial: (dir: string) =>
    `<serial type='unix'><source mode='bind' path='${dir}/GUEST'/><target port='1'/></serial> (guest: fence_virt -D /dev/ttyS1)`,
  vmchannel: (dir: string) =>
    `<channel type='unix'><source mode='bind' path='${dir}/GUEST'/><target type='virtio' name='fence'/></channel>`,
};

/**
 * The socket directory exists, and which running domains have sockets there that the listener will
 * use (the same XML rules as the listener). `view` is the listener's libvirt connection, if it answered.
 */
export async function checkSerialListener(l: SerialListenerConfig, view: LibvirtView | undefined, report: CheckReport): Promise<void> {
  const subject = `listener ${l.name} (${l.mode}${l.path ? ` sockets in ${l.path}` : ''})`;
  const dir = l.path ?? '/var/run/cluster/fence';
  if (l.path === undefined) {
    report.warn(
      subject,
      `no path: the listener takes every ${l.mode} unix socket of every domain`,
      `set listeners/${l.name}/path to a directory kept for fencing, e.g. ${dir}`,
    );
  } else {
    const info = await stat(l.path).catch(() => undefined);
    if (!info?.isDirectory()) {
      report.fail(
        subject,
        `${l.path} ${info ? 'is not a directory' : 'does not exist'}: QEMU cannot create the sockets there`,
        `mkdir -p ${l.path}`,
      );
    } else {
      report.ok(subject, `socket directory ${l.path} exists`);
    }
  }
  if (!view) return;
  const found: string[] = [];
  for (const domain of view.domains.filter((d) => d.id !== -1)) {
    try {
      const sockets = boundSocketPaths(await view.client.getXmlDesc(domain), l.mode).filter((p) => inSocketDirectory(p, l.path));
      if (sockets.length) found.push(`${domain.name} (${sockets.join(', ')})`);
    } catch (err) {
      report.warn(
        subject,
        `cannot read the XML of domain ${domain.name}: ${(err as Error).message}`,
        'check the domain with: virsh dumpxml',
      );
    }
  }
  if (found.length) {
    report.ok(subject, `running domains with sockets for it: ${found.join('; ')}`);
  } else {
    report.warn(
      subject,
      `no running domain on ${view.uri} has a ${l.mode} socket for it, so no guest can reach it`,
      `give each guest ${DEVICE_XML[l.mode](dir)}`,
    );
  }
}
