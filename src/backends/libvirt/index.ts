/** The libvirt backend module: fences the domains of this host. */
import type { BackendModule } from '../module.js';
import { LibvirtBackend } from './backend.js';
import { libvirtReference, readLibvirtBackend, type LibvirtBackendConfig } from './config.js';

export const libvirt: BackendModule<LibvirtBackendConfig> = {
  name: 'libvirt',
  available: true,
  read: readLibvirtBackend,
  reference: libvirtReference,
  // Loaded when `-c` asks, not with the registry.
  ask: async (p, block) => (await import('./questions.js')).askLibvirt(p, block),
  create: (config, log, { pool }) => LibvirtBackend.open(config.uris, log, { connect: (uri) => pool.get(uri) }),
};
