/** The serial listener module: requests over the guests' serial ports or virtio-serial channels. */
import { defaultLibvirtUri } from '../../libvirt/connection-pool.js';
import type { ListenerModule } from '../module.js';
import { checkSerialListener } from './check.js';
import { readSerialListener, serialReference, type SerialListenerConfig } from './config.js';
import { SerialListener } from './listener.js';
import { askSerial } from './questions.js';

export const serial: ListenerModule<SerialListenerConfig> = {
  name: 'serial',
  read: readSerialListener,
  endpoint: (l) => `${l.mode} sockets in ${l.path ?? 'any directory'}`,
  // Listeners of one mode share guest sockets when their directories are equal or either takes any.
  overlaps: (a, b) => a.mode === b.mode && (a.path === undefined || b.path === undefined || a.path === b.path),
  libvirtUri: (l) => l.uri ?? defaultLibvirtUri(),
  reference: serialReference,
  ask: askSerial,
  check: (l, report, libvirt) => checkSerialListener(l, libvirt, report),
  create: (config, deps) =>
    new SerialListener(
      { name: config.name, uri: config.uri ?? defaultLibvirtUri(), mode: config.mode, directory: config.path },
      deps.context(config.name),
    ),
};
