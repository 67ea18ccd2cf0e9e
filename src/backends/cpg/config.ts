import type { BlockReader } from '../../config/block-reader.js';
import type { ModuleReference } from '../../module-kit/reference.js';
import { readUris, uriKey } from '../uris.js';

export interface CpgBackendConfig {
  module: 'cpg';
  uris: string[];
  /** How VMs are tracked across hosts: by name (the default) or by UUID. */
  nameMode: 'name' | 'uuid';
}

/** name_mode may also be given in the legacy place `fence_virtd/name_mode`; the backends block wins. */
export function readCpgBackend(reader: BlockReader, daemon: BlockReader): CpgBackendConfig {
  const uris = readUris(reader);
  const legacy = daemon.choice('name_mode', ['name', 'uuid'], 'name');
  return { module: 'cpg', uris, nameMode: reader.choice('name_mode', ['name', 'uuid'], legacy) };
}

export const cpgReference: ModuleReference = {
  summary:
    'Fences domains anywhere in a corosync cluster of hosts: the host that runs the domain carries out the request, and a request reaching any host is forwarded to it. Needs corosync (libcpg, votequorum) on every host; a partition without quorum refuses to fence, and a VM whose host is not a member, or that no member knows, is answered with failure.',
  keys: [
    uriKey,
    { key: 'name_mode', default: 'name', fileDefault: 'name', description: 'How domains are tracked across hosts: name or uuid.' },
  ],
};
