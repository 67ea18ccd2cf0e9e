import type { BlockReader } from '../../config/block-reader.js';
import type { ModuleReference } from '../../module-kit/reference.js';
import { familyKey, keyedListenerKeys, portKey, readAddress, readKeyed, type IpFamily, type KeyedListenerSettings } from '../settings.js';

export interface TcpListenerConfig extends KeyedListenerSettings {
  module: 'tcp';
  family: IpFamily;
  /** Address to listen on. */
  address: string;
}

export const DEFAULT_TCP_ADDRESS: Record<IpFamily, string> = { ipv4: '127.0.0.1', ipv6: '::1' };

export function readTcpListener(reader: BlockReader, name: string): TcpListenerConfig {
  return { module: 'tcp', ...readKeyed(reader, name), ...readAddress(reader, DEFAULT_TCP_ADDRESS, false) };
}

export const tcpReference: ModuleReference = {
  summary: 'Guests (fence_virt -T) connect to a TCP address of this host; challenge-response, then the signed request.',
  keys: [
    ...keyedListenerKeys,
    familyKey,
    { key: 'address', default: '127.0.0.1 (ipv4), ::1 (ipv6)', fileDefault: '127.0.0.1', description: 'The address to listen on.' },
    portKey('The TCP port to listen on'),
  ],
};
