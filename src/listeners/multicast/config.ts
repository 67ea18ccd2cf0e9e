import type { BlockReader } from '../../config/block-reader.js';
import type { ModuleReference } from '../../module-kit/reference.js';
import { DEFAULT_IPV4_GROUP, DEFAULT_IPV6_GROUP } from '../../protocol/index.js';
import { familyKey, keyedListenerKeys, portKey, readAddress, readKeyed, type IpFamily, type KeyedListenerSettings } from '../settings.js';

export interface MulticastListenerConfig extends KeyedListenerSettings {
  module: 'multicast';
  family: IpFamily;
  /** Multicast group to join. */
  address: string;
  /** Interface name to join on; absent = all interfaces. */
  interface?: string;
}

export const DEFAULT_GROUP: Record<IpFamily, string> = { ipv4: DEFAULT_IPV4_GROUP, ipv6: DEFAULT_IPV6_GROUP };

export function readMulticastListener(reader: BlockReader, name: string): MulticastListenerConfig {
  const config: MulticastListenerConfig = { module: 'multicast', ...readKeyed(reader, name), ...readAddress(reader, DEFAULT_GROUP, true) };
  const iface = reader.text('interface');
  if (iface !== undefined) config.interface = iface;
  return config;
}

export const multicastReference: ModuleReference = {
  summary:
    'Guests send a signed UDP datagram to a multicast group; the daemon connects back to the sender over TCP, runs the challenge-response and answers.',
  keys: [
    ...keyedListenerKeys,
    familyKey,
    {
      key: 'address',
      default: `${DEFAULT_IPV4_GROUP} (ipv4), ${DEFAULT_IPV6_GROUP} (ipv6)`,
      fileDefault: DEFAULT_IPV4_GROUP,
      description: 'The multicast group the daemon joins and guests send to (fence_xvm -a).',
    },
    portKey('The UDP port of the group; fence_xvm also listens on this TCP port for the connect-back'),
    {
      key: 'interface',
      default: 'the interface the routing table picks for the group',
      description:
        'The interface to join the group on, e.g. virbr0 when the guests use this host as their gateway. An interface that does not exist is an error.',
    },
  ],
};
