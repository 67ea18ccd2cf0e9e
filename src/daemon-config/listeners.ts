import { isIPv4, isIPv6 } from 'node:net';
import { DEFAULT_IPV4_GROUP, DEFAULT_IPV6_GROUP, DEFAULT_KEY_FILE, DEFAULT_PORT, Hash, type HashType } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { BlockReader } from '../config/block-reader.js';
import { ConfigError } from '../config/config-error.js';
import { childBlocks, findBlock } from '../config/lookup.js';
import type { ConfigAssignment, ConfigDocument } from '../config/tree.js';

export type IpFamily = 'ipv4' | 'ipv6';

/** Settings shared by the listeners that verify signed requests and run challenge-response. */
export interface KeyedListenerSettings {
  /** Instance name: the entry of `fence_virtd/listener` (a block under `listeners`). */
  name: string;
  keyFile: string;
  /** Weakest hash accepted on requests. */
  hash: HashType;
  /** Challenge-response algorithm. C's tcp/vsock plugins store this into `hash` (W6); we do not. */
  auth: HashType;
  port: number;
}

export interface MulticastListenerConfig extends KeyedListenerSettings {
  module: 'multicast';
  family: IpFamily;
  /** Multicast group to join. */
  address: string;
  /** Interface name to join on; absent = all interfaces. */
  interface?: string;
}

export interface TcpListenerConfig extends KeyedListenerSettings {
  module: 'tcp';
  family: IpFamily;
  /** Address to listen on. */
  address: string;
}

export interface VsockListenerConfig extends KeyedListenerSettings {
  module: 'vsock';
}

export interface SerialListenerConfig {
  module: 'serial';
  name: string;
  /** libvirt URI for the listener's own connection; absent = libvirt's default URI. */
  uri?: string;
  /** Only sockets in this directory count; absent = any directory. */
  path?: string;
  mode: 'serial' | 'vmchannel';
}

export type ListenerConfig = MulticastListenerConfig | TcpListenerConfig | VsockListenerConfig | SerialListenerConfig;
export type ListenerModule = ListenerConfig['module'];
export const LISTENER_MODULES: readonly ListenerModule[] = ['multicast', 'tcp', 'serial', 'vsock'];

const DEFAULT_TCP_ADDRESS: Record<IpFamily, string> = { ipv4: '127.0.0.1', ipv6: '::1' };
const DEFAULT_GROUP: Record<IpFamily, string> = { ipv4: DEFAULT_IPV4_GROUP, ipv6: DEFAULT_IPV6_GROUP };

function isMulticast(address: string, family: IpFamily): boolean {
  if (family === 'ipv6') return /^ff/i.test(address);
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** family + address, the address checked to be a literal of that family (and a group for multicast). */
function readAddress(reader: BlockReader, defaults: Record<IpFamily, string>, multicast: boolean): { family: IpFamily; address: string } {
  const family = reader.choice<IpFamily>('family', ['ipv4', 'ipv6'], 'ipv4');
  const found = reader.assignment('address');
  const address = found?.value ?? defaults[family];
  const fits = family === 'ipv4' ? isIPv4(address) : isIPv6(address);
  if (!fits) {
    throw reader.error(`${reader.path}/address: '${address}' is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address (family is ${family})`, found);
  }
  if (multicast && !isMulticast(address, family)) {
    throw reader.error(`${reader.path}/address: '${address}' is not a multicast group address`, found);
  }
  return { family, address };
}

function readKeyed(reader: BlockReader, name: string): KeyedListenerSettings {
  return {
    name,
    keyFile: reader.text('key_file') ?? DEFAULT_KEY_FILE,
    hash: reader.hash('hash', Hash.SHA256),
    auth: reader.hash('auth', Hash.SHA256),
    port: reader.port('port', DEFAULT_PORT),
  };
}

function readListener(module: ListenerModule, name: string, reader: BlockReader): ListenerConfig {
  switch (module) {
    case 'multicast': {
      const config: MulticastListenerConfig = { module, ...readKeyed(reader, name), ...readAddress(reader, DEFAULT_GROUP, true) };
      const iface = reader.text('interface');
      if (iface !== undefined) config.interface = iface;
      return config;
    }
    case 'tcp':
      return { module, ...readKeyed(reader, name), ...readAddress(reader, DEFAULT_TCP_ADDRESS, false) };
    case 'vsock':
      return { module, ...readKeyed(reader, name) };
    case 'serial': {
      // C checks that key_file exists even for serial (PROTOCOL.md W48), so it is a known key here.
      reader.tolerate('key_file');
      const config: SerialListenerConfig = { module, name, mode: reader.choice('mode', ['serial', 'vmchannel'], 'serial') };
      const uri = reader.text('uri');
      const path = reader.text('path');
      if (uri !== undefined) config.uri = uri;
      if (path !== undefined) config.path = path;
      return config;
    }
  }
}

/** What two listeners must not share: the same socket, or (serial) the same guest sockets. */
function endpoint(listener: ListenerConfig): string {
  switch (listener.module) {
    case 'multicast':
    case 'tcp':
      return `${listener.module} ${listener.address} port ${listener.port}`;
    case 'vsock':
      return `vsock port ${listener.port}`;
    case 'serial':
      return `${listener.mode} sockets in ${listener.path ?? 'any directory'}`;
  }
}

function overlaps(a: ListenerConfig, b: ListenerConfig): boolean {
  if (a.module === 'serial' && b.module === 'serial') {
    return a.mode === b.mode && (a.path === undefined || b.path === undefined || a.path === b.path);
  }
  return endpoint(a) === endpoint(b);
}

/**
 * The listeners `fence_virtd/listener` names. Besides C's single name it takes a list separated by
 * spaces and/or commas, all run by one process. Each entry names a block under `listeners`; the
 * block's module is its `module` key if present, else the block name. So `listener = "serial
 * vmchannel";` with `listeners { serial { mode = "serial"; } vmchannel { module = "serial"; mode =
 * "vmchannel"; } }` runs two serial listeners. An entry without a block is allowed when it is a
 * module name (all defaults), as in C.
 */
export function readListeners(document: ConfigDocument, setting: ConfigAssignment, log: Logger): ListenerConfig[] {
  const { file } = document;
  const error = (reason: string, at: ConfigAssignment = setting): ConfigError =>
    new ConfigError(file, reason, at.valuePosition ?? at.position);
  const known = LISTENER_MODULES.join(', ');
  const entries = setting.value.split(/[\s,]+/).filter((entry) => entry !== '');
  if (entries.length === 0) throw error(`fence_virtd/listener names no listener (expected ${known})`);
  const listenersBlock = findBlock(document, 'listeners');
  const seen = new Set<string>();
  const listeners: ListenerConfig[] = [];
  for (const entry of entries) {
    if (seen.has(entry.toLowerCase())) throw error(`fence_virtd/listener names '${entry}' twice`);
    seen.add(entry.toLowerCase());
    const block = listenersBlock && childBlocks(listenersBlock, entry).at(-1);
    const reader = new BlockReader(file, `listeners/${entry}`, block);
    const moduleKey = reader.assignment('module');
    const moduleName = (moduleKey?.value ?? entry).toLowerCase();
    const module = LISTENER_MODULES.find((m) => m === moduleName);
    if (!module) {
      if (moduleKey) throw error(`listeners/${entry}/module: unknown listener module '${moduleKey.value}' (expected ${known})`, moduleKey);
      throw error(block
        ? `unknown listener module '${entry}': set listeners/${entry}/module to one of ${known}`
        : `unknown listener '${entry}': no block listeners/${entry} and not a listener module (${known})`);
    }
    const listener = readListener(module, entry, reader);
    reader.warnUnknown(log);
    const clash = listeners.find((other) => overlaps(other, listener));
    if (clash) throw error(`listeners '${clash.name}' and '${entry}' would both use ${endpoint(listener)}`);
    listeners.push(listener);
  }
  return listeners;
}
