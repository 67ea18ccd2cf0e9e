/** The libvirt backend module: fences the domains of this host. */
import type { BackendModule } from '../module.js';
import { LibvirtBackend } from './backend.js';
import { libvirtReference, readLibvirtBackend, type LibvirtBackendConfig } from './config.js';
import { askLibvirt } from './questions.js';

export const libvirt: BackendModule<LibvirtBackendConfig> = {
  name: 'libvirt',
  available: true,
  read: readLibvirtBackend,
  reference: libvirtReference,
  ask: askLibvirt,
  create: (config, log, { pool }) => LibvirtBackend.open(config.uris, log, { connect: (uri) => pool.get(uri) }),
};
