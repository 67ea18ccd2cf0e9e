/**
 * A fence_virtd for a guest bed: its serial listener in serial or vmchannel mode on the bed's socket
 * dir, the libvirt backend on the same libvirtd as the guests. The same configuration file serves the
 * C daemon (the oracle) and ours.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { C_FENCE_VIRTD } from '../support/c-daemon.js';
import { DaemonProcess } from '../support/daemon-process.js';
import type { Guest, GuestBed } from './harness.js';
import { LIBVIRT_URI } from './virsh.js';

export type SerialMode = 'serial' | 'vmchannel';

/** Writes the bed's fence_virt.conf (and the key file the C daemon demands) and returns its path. */
export async function writeSerialConfig(bed: GuestBed, mode: SerialMode): Promise<string> {
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
  return configFile;
}

/**
 * Starts a daemon and waits until it says (`registered(guest)` matches its output) that it has
 * connected to the sockets of `guests` (running already); stops it if that does not happen.
 */
export async function startRegistered(
  command: string,
  args: readonly string[],
  guests: readonly Guest[],
  registered: (guest: Guest) => RegExp,
): Promise<DaemonProcess> {
  const daemon = DaemonProcess.start(command, args);
  try {
    for (const guest of guests) await daemon.waitForOutput(registered(guest));
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return daemon;
}

/** The C daemon: -d 5 makes it print "Registered <uuid> on <fd>" when it has connected to a guest's socket. */
export async function startCSerialDaemon(bed: GuestBed, mode: SerialMode, guests: readonly Guest[]): Promise<DaemonProcess> {
  const configFile = await writeSerialConfig(bed, mode);
  const args = ['-F', '-f', configFile, '-p', join(bed.dir, 'fence_virtd.pid'), '-d', '5'];
  // stdbuf (which execs the daemon, keeping the PID) line-buffers its stdout so lines arrive when printed.
  return startRegistered('stdbuf', ['-oL', C_FENCE_VIRTD, ...args], guests, (guest) => new RegExp(`Registered ${guest.uuid} on`));
}
