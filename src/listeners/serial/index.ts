/** The serial listener module: requests over the guests' serial ports or virtio-serial channels. */
import { defaultLibvirtUri } from '../../libvirt/connection-pool.js';
import type { ListenerModule } from '../module.js';
import { readSerialListener, serialReference, type SerialListenerConfig } from './config.js';

// Only reading and describing the block is loaded with the registry; the rest is loaded when used.
export const serial: ListenerModule<SerialListenerConfig> = {
  name: 'serial',
  read: readSerialListener,
  endpoint: (l) => `${l.mode} sockets in ${l.path ?? 'any directory'}`,
  // Listeners of one mode share guest sockets when their directories are equal or either takes any.
  overlaps: (a, b) => a.mode === b.mode && (a.path === undefined || b.path === undefined || a.path === b.path),
  libvirtUri: (l) => l.uri ?? defaultLibvirtUri(),
  reference: serialReference,
  ask: async (p, block) => (await import('./questions.js')).askSerial(p, block),
  check: async (l, report, libvirt) => (await import('./check.js')).checkSerialListener(l, libvirt, report),
  load: async () => {
    const { SerialListener } = await import('./listener.js');
    return (config, deps) =>
      new SerialListener(
        { name: config.name, uri: config.uri ?? defaultLibvirtUri(), mode: config.mode, directory: config.path },
        deps.context(config.name),
      );
  },
};
