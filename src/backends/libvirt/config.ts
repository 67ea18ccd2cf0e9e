import type { BlockReader } from '../../config/block-reader.js';
import type { ModuleReference } from '../../module-kit/reference.js';
import { readUris, uriKey } from '../uris.js';

export interface LibvirtBackendConfig {
  module: 'libvirt';
  /** `uri`, then `uri1`, `uri2`, … as long as they are consecutive (at least one). */
  uris: string[];
}

export function readLibvirtBackend(reader: BlockReader): LibvirtBackendConfig {
  return { module: 'libvirt', uris: readUris(reader) };
}

export const libvirtReference: ModuleReference = {
  summary: 'Fences the domains of this host through libvirt.',
  keys: [uriKey],
};
