/** The tcp listener module: guests (fence_virt -T) connect to a TCP address of this host. */
import type { ListenerModule } from '../module.js';
import { readTcpListener, tcpReference, type TcpListenerConfig } from './config.js';

// Only reading and describing the block is loaded with the registry; the rest is loaded when used.
export const tcp: ListenerModule<TcpListenerConfig> = {
  name: 'tcp',
  read: readTcpListener,
  endpoint: (l) => `${l.module} ${l.address} port ${l.port}`,
  keyFile: (l) => l.keyFile,
  reference: tcpReference,
  ask: async (p, block) => (await import('./questions.js')).askTcp(p, block),
  check: async (l, report) => (await import('./check.js')).checkTcpListener(l, report),
  load: async () => {
    const { createTcpListener } = await import('./listener.js');
    return (config, deps) => createTcpListener(config, deps.keys.source(config.keyFile), deps.context(config.name));
  },
};
