/** The libvirt remote-protocol client: what the rest of the daemon imports. */
export { LibvirtClient, type CallOptions, type DomainStateReason, type LibvirtClientEvents, type LibvirtClientOptions } from './client.js';
export {
  isNoSuchDomain,
  LibvirtConnectionError,
  LibvirtError,
  LibvirtProtocolError,
  LibvirtTimeoutError,
  UnsupportedUriError,
} from './errors.js';
export { ErrorCode, LifecycleEventType, ListDomainsFlag } from './protocol.js';
export type { Domain, DomainInfo, LifecycleEvent } from './remote-types.js';
export { resolveUri, type ResolvedUri } from './uri.js';
export { defaultLibvirtUri, LibvirtConnectionPool } from './connection-pool.js';
export { listDomainStates, statesOneByOne, type DomainWithState } from './domain-states.js';
