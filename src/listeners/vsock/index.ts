/** The vsock listener module: guests (fence_virt -S) connect over AF_VSOCK; the requester is its CID and VM. */
import type { ListenerModule } from '../module.js';
import { VsockAcceptor } from './acceptor.js';
import { checkVsockListener } from './check.js';
import { readVsockListener, vsockReference, type VsockListenerConfig } from './config.js';
import { VsockDomainDirectory } from './domains.js';
import { VsockListener } from './listener.js';
import { askVsock } from './questions.js';

export const vsock: ListenerModule<VsockListenerConfig> = {
  name: 'vsock',
  read: readVsockListener,
  endpoint: (l) => `vsock port ${l.port}`,
  keyFile: (l) => l.keyFile,
  reference: vsockReference,
  ask: askVsock,
  check: (l, report) => checkVsockListener(l, report),
  create: (config, deps) => {
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
  },
};
