/** Our fence_virtd (run from source) for a guest bed, with the configuration the C daemon gets. */
import { join } from 'node:path';
import { OUR_DAEMON } from '../support/processes.js';
import { startRegistered, writeSerialConfig, type SerialMode } from './c-daemon.js';
import type { DaemonProcess } from '../support/daemon-process.js';
import type { Guest, GuestBed } from './harness.js';

/** Pattern of our log line for the nth registration of a socket of `guest` (-d 1 shows it). */
export function registeredLine(guest: Guest, nth = 1): RegExp {
  return new RegExp(`(registered \\S+ of domain ${guest.name} \\(${guest.uuid}\\)[\\s\\S]*){${nth}}`);
}

export async function startOurSerialDaemon(bed: GuestBed, mode: SerialMode, guests: readonly Guest[]): Promise<DaemonProcess> {
  const configFile = await writeSerialConfig(bed, mode);
  const args = [...OUR_DAEMON.args, '-F', '-f', configFile, '-p', join(bed.dir, 'fence_virtd.pid'), '-d', '1'];
  return startRegistered(OUR_DAEMON.command, args, guests, (guest) => registeredLine(guest));
}
