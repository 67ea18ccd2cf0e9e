/** The multicast listener module: guests send signed datagrams to a group; the daemon connects back. */
import type { ListenerModule } from '../module.js';
import { checkMulticastListener } from './check.js';
import { multicastReference, readMulticastListener, type MulticastListenerConfig } from './config.js';
import { MulticastListener } from './listener.js';
import { askMulticast } from './questions.js';

export const multicast: ListenerModule<MulticastListenerConfig> = {
  name: 'multicast',
  read: readMulticastListener,
  endpoint: (l) => `${l.module} ${l.address} port ${l.port}`,
  keyFile: (l) => l.keyFile,
  reference: multicastReference,
  ask: askMulticast,
  check: (l, report) => checkMulticastListener(l, report),
  create: (config, deps) =>
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
    ),
};
