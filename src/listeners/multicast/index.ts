/** The multicast listener module: guests send signed datagrams to a group; the daemon connects back. */
import type { ListenerModule } from '../module.js';
import { multicastReference, readMulticastListener, type MulticastListenerConfig } from './config.js';

// Only reading and describing the block is loaded with the registry; the rest is loaded when used.
export const multicast: ListenerModule<MulticastListenerConfig> = {
  name: 'multicast',
  read: readMulticastListener,
  endpoint: (l) => `${l.module} ${l.address} port ${l.port}`,
  keyFile: (l) => l.keyFile,
  reference: multicastReference,
  // Its own (dgram, and os for the interfaces' addresses) and what a UDP socket's bind() loads: dns to
  // look the address up, cluster to ask whether this process is a cluster worker.
  startBuiltins: ['node:dgram', 'node:os', 'node:dns', 'node:cluster'],
  ask: async (p, block) => (await import('./questions.js')).askMulticast(p, block),
  check: async (l, report) => (await import('./check.js')).checkMulticastListener(l, report),
  load: async () => {
    const { MulticastListener } = await import('./listener.js');
    return (config, deps) =>
      new MulticastListener(
        {
          name: config.name,
          family: config.family,
          address: config.address,
          port: config.port,
          interface: config.interface,
          key: deps.keys.source(config.keyFile),
          minimumHash: config.hash,
          auth: config.auth,
          protocol: config.protocol,
          freshnessWindowMs: config.freshnessWindowMs,
        },
        deps.context(config.name),
      );
  },
};
