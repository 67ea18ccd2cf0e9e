/** The cpg backend module: fencing across the hosts of a corosync cluster, each acting on its own VMs. */
import type { BackendModule } from '../module.js';
import { CpgBackend } from './backend.js';
import { checkCpg } from './check.js';
import { cpgReference, readCpgBackend, type CpgBackendConfig } from './config.js';
import { loadCorosync } from './corosync.js';
import { askCpg } from './questions.js';

export const cpg: BackendModule<CpgBackendConfig> = {
  name: 'cpg',
  available: true,
  read: readCpgBackend,
  reference: cpgReference,
  ask: askCpg,
  create: async (config, log, { openLocal }) => {
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
  check: checkCpg,
};
