/**
 * Every backend module this fence_virtd knows, one line each. Reading the configuration, starting the
 * daemon, `--check`, `-c` and the configuration reference all go through this list.
 */
import type { LibvirtConnectionPool } from '../libvirt/connection-pool.js';
import type { Logger } from '../util/log.js';
import type { FenceBackend } from './backend.js';
import { cpg } from './cpg/index.js';
import { LibvirtBackend } from './libvirt/backend.js';
import { libvirt } from './libvirt/index.js';
import type { BackendModule } from './module.js';

export const BACKENDS = [libvirt, cpg] as const;

export type BackendConfig = ReturnType<(typeof BACKENDS)[number]['read']>;
export type BackendModuleName = BackendConfig['module'];
export const BACKEND_MODULES: readonly BackendModuleName[] = BACKENDS.map((m) => m.name);
/** Backend modules this build can run. */
export const AVAILABLE_BACKENDS: readonly BackendModuleName[] = BACKENDS.filter((m) => m.available).map((m) => m.name);

/** The module called `name` (exactly), if there is one. */
export function findBackendModule(name: string): BackendModule<BackendConfig> | undefined {
  return BACKENDS.find((m) => m.name === name);
}

/** The module of a configured backend. */
export function backendModule(config: BackendConfig): BackendModule<BackendConfig> {
  return findBackendModule(config.module) as BackendModule<BackendConfig>;
}

export async function createBackend(config: BackendConfig, log: Logger, pool: LibvirtConnectionPool): Promise<FenceBackend> {
  const openLocal = async (uris: readonly string[]) => {
    const backend = await LibvirtBackend.open(uris, log, { connect: (uri) => pool.get(uri) });
    return { backend, clients: backend.clients };
  };
  return backendModule(config).create(config, log, { pool, openLocal });
}
