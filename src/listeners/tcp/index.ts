/** The tcp listener module: guests (fence_virt -T) connect to a TCP address of this host. */
import type { ListenerModule } from '../module.js';
import { checkTcpListener } from './check.js';
import { readTcpListener, tcpReference, type TcpListenerConfig } from './config.js';
import { createTcpListener } from './listener.js';
import { askTcp } from './questions.js';

export const tcp: ListenerModule<TcpListenerConfig> = {
  name: 'tcp',
  read: readTcpListener,
  endpoint: (l) => `${l.module} ${l.address} port ${l.port}`,
  keyFile: (l) => l.keyFile,
  reference: tcpReference,
  ask: askTcp,
  check: (l, report) => checkTcpListener(l, report),
  create: (config, deps) => createTcpListener(config, deps.keys.source(config.keyFile), deps.context(config.name)),
};
