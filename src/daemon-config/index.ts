/**
 * What fence_virtd takes from fence_virt.conf: the typed configuration, validated and with defaults
 * applied, from the blocks of the daemon, of every listener and backend module, and of the groups.
 */
export { BACKEND_MODULES, type BackendConfig, type BackendModuleName } from '../backends/registry.js';
export type { CpgBackendConfig } from '../backends/cpg/config.js';
export type { LibvirtBackendConfig } from '../backends/libvirt/config.js';
export { LISTENER_MODULES, type ListenerConfig, type ListenerModuleName } from '../listeners/registry.js';
export type { MulticastListenerConfig } from '../listeners/multicast/config.js';
export type { SerialListenerConfig } from '../listeners/serial/config.js';
export type { IpFamily, KeyedListenerSettings } from '../listeners/settings.js';
export type { TcpListenerConfig } from '../listeners/tcp/config.js';
export type { VsockListenerConfig } from '../listeners/vsock/config.js';
export type * from './groups.js';
export { DEFAULT_HISTORY_ENTRIES, DEFAULT_HISTORY_FILE, loadDaemonConfig, toDaemonConfig, type DaemonConfig } from './daemon-config.js';
export * from './overrides.js';
