import type { BlockReader } from '../../config/block-reader.js';
import type { ModuleReference } from '../../module-kit/reference.js';
import { keyedListenerKeys, portKey, readKeyed, type KeyedListenerSettings } from '../settings.js';

export interface VsockListenerConfig extends KeyedListenerSettings {
  module: 'vsock';
}

export function readVsockListener(reader: BlockReader, name: string): VsockListenerConfig {
  return { module: 'vsock', ...readKeyed(reader, name) };
}

export const vsockReference: ModuleReference = {
  summary: 'Guests (fence_virt -S) connect over AF_VSOCK; the requester is identified by its CID.',
  keys: [...keyedListenerKeys, portKey('The vsock port to listen on')],
};
