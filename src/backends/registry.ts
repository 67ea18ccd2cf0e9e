import type { FenceBackend } from './backend.js';
import { LibvirtBackend } from './libvirt/backend.js';
import type { BackendConfig, BackendModule } from '../daemon-config/backends.js';
import type { LibvirtConnectionPool } from '../libvirt/connection-pool.js';
import type { Logger } from '../util/log.js';

/** Backend modules this build can run; the configuration also knows cpg, which is still to come. */
export const AVAILABLE_BACKENDS: readonly BackendModule[] = ['libvirt'];

/** One place that knows every backend module. */
export async function createBackend(config: BackendConfig, log: Logger, pool: LibvirtConnectionPool): Promise<FenceBackend> {
  switch (config.module) {
    case 'libvirt':
      return LibvirtBackend.open(config.uris, log, { connect: (uri) => pool.get(uri) });
    case 'cpg':
      throw new Error('backend module cpg is not available in this build yet');
  }
}
