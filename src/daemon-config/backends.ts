import type { Logger } from '../util/log.js';
import { BlockReader } from '../config/block-reader.js';
import { ConfigError } from '../config/config-error.js';
import { findBlock } from '../config/lookup.js';
import type { ConfigAssignment, ConfigDocument } from '../config/tree.js';

export interface LibvirtBackendConfig {
  module: 'libvirt';
  /** `uri`, then `uri1`, `uri2`, … as long as they are consecutive (at least one). */
  uris: string[];
}

export interface CpgBackendConfig {
  module: 'cpg';
  uris: string[];
  /** How VMs are tracked across hosts: by name (the default) or by UUID. */
  nameMode: 'name' | 'uuid';
}

export type BackendConfig = LibvirtBackendConfig | CpgBackendConfig;
export type BackendModule = BackendConfig['module'];
export const BACKEND_MODULES: readonly BackendModule[] = ['libvirt', 'cpg'];

/** `uri`, `uri1`, … like C, which stops at the first missing number; a later uriN would be silently unused, so it is an error. */
function readUris(reader: BlockReader): string[] {
  const uris = [reader.required('uri', 'the libvirt URI to connect to, e.g. qemu:///system')];
  for (let n = 1; ; n++) {
    const uri = reader.text(`uri${n}`);
    if (uri === undefined) break;
    uris.push(uri);
  }
  const stray = reader.block?.items.find(
    (item) => item.kind === 'assignment' && /^uri[1-9][0-9]*$/i.test(item.key) && Number(item.key.slice(3)) > uris.length,
  ) as ConfigAssignment | undefined;
  if (stray) {
    throw reader.error(`${reader.path}/${stray.key}: uri${uris.length} is not set, so this URI would never be used`, stray);
  }
  return uris;
}

/**
 * The backend `fence_virtd/backend` names, configured from `backends/<name>`. For cpg, name_mode may
 * also be given in the legacy place `fence_virtd/name_mode`; the backends block wins.
 */
export function readBackend(document: ConfigDocument, setting: ConfigAssignment, daemon: BlockReader, log: Logger): BackendConfig {
  const module = BACKEND_MODULES.find((m) => m === setting.value.toLowerCase());
  if (!module) {
    throw new ConfigError(
      document.file,
      `unknown backend module '${setting.value}' (expected ${BACKEND_MODULES.join(' or ')})`,
      setting.valuePosition ?? setting.position,
    );
  }
  const reader = new BlockReader(document.file, `backends/${module}`, findBlock(document, `backends/${module}`));
  const uris = readUris(reader);
  let backend: BackendConfig;
  if (module === 'cpg') {
    const legacy = daemon.choice('name_mode', ['name', 'uuid'], 'name');
    backend = { module, uris, nameMode: reader.choice('name_mode', ['name', 'uuid'], legacy) };
  } else {
    backend = { module, uris };
  }
  reader.warnUnknown(log);
  return backend;
}
