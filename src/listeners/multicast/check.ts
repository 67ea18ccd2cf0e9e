/**
 * Can the multicast listener take its socket? Binds and joins exactly what the daemon would, then lets
 * go at once; explains a busy port, a missing or down interface and no route for the group.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import type { CheckReport } from '../../module-kit/check-report.js';
import { listInterfaces, routeFor } from '../../util/network-info.js';
import { describeOwners, isFenceVirtd, otherHolders } from '../../util/port-owner.js';
import { reportBusy } from '../port-check.js';
import type { MulticastListenerConfig } from './config.js';

type Errno = NodeJS.ErrnoException;

/** A configured interface must exist, be up and (IPv4) have an address to join on; returns that address. */
function checkInterface(
  l: MulticastListenerConfig & { interface: string },
  report: CheckReport,
  subject: string,
): { joinOn: string } | undefined {
  const where = `listeners/${l.name}/interface`;
  let interfaces;
  try {
    interfaces = listInterfaces();
  } catch (err) {
    report.fail(subject, `cannot list the interfaces with ip -j addr: ${(err as Error).message}`, 'install iproute2');
    return undefined;
  }
  const info = interfaces.find((i) => i.name === l.interface);
  if (!info) {
    report.fail(
      subject,
      `interface ${l.interface} does not exist`,
      `set ${where} to one of ${interfaces.map((i) => i.name).join(', ')} (or remove it)`,
    );
    return undefined;
  }
  if (!info.up) {
    report.fail(subject, `interface ${l.interface} is down`, `ip link set ${l.interface} up (for virbr0: virsh net-start default)`);
    return undefined;
  }
  if (l.family === 'ipv6') return { joinOn: `::%${l.interface}` };
  const [address] = info.ipv4;
  if (address === undefined) {
    report.fail(
      subject,
      `interface ${l.interface} has no IPv4 address to join the group on`,
      `give it an address, or choose another interface in ${where}`,
    );
    return undefined;
  }
  return { joinOn: address };
}

/** Without an interface the kernel joins where the route for the group points: say where that is. */
function reportJoinedByRoute(l: MulticastListenerConfig, report: CheckReport, subject: string): void {
  const route = routeFor(l.address, l.family);
  const setInterface = `set listeners/${l.name}/interface to the guests' network (e.g. virbr0)`;
  if (!route) {
    report.ok(
      subject,
      `UDP port ${l.port} bound and group ${l.address} joined (no route covers the group; the kernel chose the interface)`,
    );
  } else if (route.prefixLength === 0) {
    report.warn(
      subject,
      `group ${l.address} is joined on ${route.interface} only because the default route points there`,
      `${setInterface} unless the guests reach this host through ${route.interface}`,
    );
  } else {
    report.ok(subject, `UDP port ${l.port} bound and group ${l.address} joined on ${route.interface} (route ${route.prefix})`);
  }
}

/**
 * The port binds even when taken (SO_REUSEADDR), so look at who holds it: one fence_virtd is most likely
 * this configuration's own daemon; anything more would race it (and fence_virtd refuses to start beside it).
 * Whether the caller may go on to the bind check.
 */
function checkPortHolders(l: MulticastListenerConfig, report: CheckReport, subject: string): boolean {
  const { owners, unseen } = otherHolders('udp', l.port);
  if (owners.length === 0 && !unseen) return true;
  const changePort = `give listeners/${l.name}/port another port (guests: fence_xvm -p)`;
  const [only] = owners;
  if (only && owners.length === 1 && !unseen && isFenceVirtd(only)) {
    report.warn(
      subject,
      `fence_virtd already serves UDP port ${l.port} (${describeOwners(owners)}); a second daemon on it would race that one to answer, so fence_virtd refuses to start beside it`,
      `fine if that is this configuration's daemon (systemctl restart fence_virtd applies changes); otherwise stop pid ${only.pid} or ${changePort}`,
    );
    return true;
  }
  const holders = owners.length ? describeOwners(owners) : 'a process this user cannot see';
  report.fail(
    subject,
    `UDP port ${l.port} is already bound by ${holders}: every one of them receives the requests, daemons race to answer, and fence_virtd refuses to start here`,
    `stop all but one daemon (systemctl stop fence_virtd; kill the others by pid), or ${changePort}`,
  );
  return false;
}

export async function checkMulticastListener(l: MulticastListenerConfig, report: CheckReport): Promise<void> {
  const subject = `listener ${l.name} (multicast ${l.address} port ${l.port})`;
  if (!checkPortHolders(l, report, subject)) return;
  const named = l.interface === undefined ? undefined : checkInterface({ ...l, interface: l.interface }, report, subject);
  if (l.interface !== undefined && !named) return;
  const socket = createSocket({ type: l.family === 'ipv4' ? 'udp4' : 'udp6', reuseAddr: true });
  socket.bind(l.port);
  const err = await once(socket, 'listening').then(
    () => undefined,
    (e: unknown) => e as Errno,
  );
  if (err) {
    socket.close();
    if (err.code === 'EADDRINUSE') return reportBusy(report, subject, 'udp', l.port, l.name);
    return report.fail(subject, err.message, err.code === 'EACCES' ? 'run fence_virtd as root' : 'see the error');
  }
  try {
    if (named) socket.addMembership(l.address, named.joinOn);
    else socket.addMembership(l.address);
    if (named) report.ok(subject, `UDP port ${l.port} bound and group ${l.address} joined on ${l.interface}`);
    else reportJoinedByRoute(l, report, subject);
  } catch (joinErr) {
    const noRoute = !named && !routeFor(l.address, l.family);
    report.fail(
      subject,
      `cannot join ${l.address}: ${(joinErr as Error).message}${noRoute ? ' (no route covers the group, so guests time out)' : ''}`,
      `set listeners/${l.name}/interface to the guests' network (e.g. virbr0)${noRoute ? `, or add a route: ip ${l.family === 'ipv6' ? '-6 route add ff00::/8 dev virbr0 table local' : 'route add 224.0.0.0/4 dev virbr0'}` : ''}`,
    );
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
