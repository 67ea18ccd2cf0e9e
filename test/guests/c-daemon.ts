/**
 * The C fence_virtd (the oracle) configured for a guest bed: its serial listener in serial or vmchannel
 * mode on the bed's socket dir, the libvirt backend on the same libvirtd as the guests.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonProcess } from './daemon-process.js';
import type { Guest, GuestBed } from './harness.js';
import { LIBVIRT_URI } from './virsh.js';

export const C_DAEMON = '/usr/sbin/fence_virtd';

export function cDaemonMissingReason(): string | undefined {
  return existsSync(C_DAEMON) ? undefined : `${C_DAEMON} is not installed (run scripts/setup-test-env.sh)`;
}

/** Starts the daemon and waits until it has connected to the sockets of `guests` (running already). */
export async function startCSerialDaemon(
  bed: GuestBed,
  mode: 'serial' | 'vmchannel',
  guests: readonly Guest[],
): Promise<DaemonProcess> {
  const keyFile = join(bed.dir, 'key');
  const configFile = join(bed.dir, 'fence_virt.conf');
  // The serial listener never uses a key, but the C daemon refuses to start without the file.
  await writeFile(keyFile, 'unused by the serial listener\n', { mode: 0o600 });
  await writeFile(
    configFile,
    [
      'fence_virtd { listener = "serial"; backend = "libvirt"; }',
      `listeners { serial { uri = "${LIBVIRT_URI}"; path = "${bed.socketDir}"; mode = "${mode}"; key_file = "${keyFile}"; } }`,
      `backends { libvirt { uri = "${LIBVIRT_URI}"; } }`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // -d 5 makes it print "Registered <uuid> on <fd>" when it has connected to a guest's socket; stdbuf
  // (which execs the daemon, keeping the PID) line-buffers its stdout so the line arrives when printed.
  const args = ['-F', '-f', configFile, '-p', join(bed.dir, 'fence_virtd.pid'), '-d', '5'];
  const daemon = DaemonProcess.start('stdbuf', ['-oL', C_DAEMON, ...args]);
  try {
    for (const guest of guests) await daemon.waitForOutput(new RegExp(`Registered ${guest.uuid} on`));
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return daemon;
}
