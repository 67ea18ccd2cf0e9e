/** The cpg backend module: fencing across the hosts of a corosync cluster, each acting on its own VMs. */
import type { BackendModule } from '../module.js';
import { cpgReference, readCpgBackend, type CpgBackendConfig } from './config.js';

// Only reading and describing the block is loaded with the registry; the rest is loaded when used.
export const cpg: BackendModule<CpgBackendConfig> = {
  name: 'cpg',
  available: true,
  read: readCpgBackend,
  reference: cpgReference,
  ask: async (p, block) => (await import('./questions.js')).askCpg(p, block),
  create: async (config, log, { openLocal }) => {
    const [{ loadCorosync }, { CpgBackend }] = await Promise.all([import('./corosync.js'), import('./backend.js')]);
    // Without corosync the start-up error says what to install, before any libvirt connection is made.
    loadCorosync();
    const local = await openLocal(config.uris);
    try {
      return await CpgBackend.open(local.backend, local.clients, log, { nameMode: config.nameMode });
    } catch (err) {
      const e = err as { code?: unknown; message: string };
      if (e.code === 'CS_ERR_LIBRARY')
        throw new Error(`corosync is not running on this host (${e.message}); start corosync first`, { cause: err });
      throw err;
    }
  },
  check: async (config, report) => (await import('./check.js')).checkCpg(config, report),
};
