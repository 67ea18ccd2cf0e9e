/** The vsock listener module: guests (fence_virt -S) connect over AF_VSOCK; the requester is its CID and VM. */
import type { ListenerModule } from '../module.js';
import { readVsockListener, vsockReference, type VsockListenerConfig } from './config.js';

// Only reading and describing the block is loaded with the registry; the rest is loaded when used.
export const vsock: ListenerModule<VsockListenerConfig> = {
  name: 'vsock',
  read: readVsockListener,
  endpoint: (l) => `vsock port ${l.port}`,
  keyFile: (l) => l.keyFile,
  reference: vsockReference,
  ask: async (p, block) => (await import('./questions.js')).askVsock(p, block),
  check: async (l, report) => (await import('./check.js')).checkVsockListener(l, report),
  load: async () => {
    const [{ VsockAcceptor }, { VsockDomainDirectory }, { VsockListener }] = await Promise.all([
      import('./acceptor.js'),
      import('./domains.js'),
      import('./listener.js'),
    ]);
    return (config, deps) => {
      const ctx = deps.context(config.name);
      return new VsockListener(
        new VsockAcceptor(config.port),
        {
          name: config.name,
          key: deps.keys.source(config.keyFile),
          minimumHash: config.hash,
          auth: config.auth,
          protocol: config.protocol,
          freshnessWindowMs: config.freshnessWindowMs,
          sourceOf: (peer) => `cid ${peer.cid}`,
        },
        new VsockDomainDirectory(() => deps.backendUris.map((uri) => ctx.libvirt.get(uri)), ctx.log),
        ctx,
      );
    };
  },
};
