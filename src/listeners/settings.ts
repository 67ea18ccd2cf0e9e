/** The keys several listener modules share: how they are read, and how the reference describes them. */
import { isIPv4, isIPv6 } from 'node:net';
import type { BlockReader } from '../config/block-reader.js';
import type { KeyReference } from '../module-kit/reference.js';
import { DEFAULT_KEY_FILE, DEFAULT_PORT, Hash, PROTOCOL_POLICIES, type HashType } from '../protocol/index.js';
import { defaultProtocolSettings, type ProtocolSettings } from './protocol-policy.js';

export type IpFamily = 'ipv4' | 'ipv6';

/** Settings shared by the listeners that verify signed requests and run challenge-response. */
export interface KeyedListenerSettings extends ProtocolSettings {
  /** Instance name: the entry of `fence_virtd/listener` (a block under `listeners`). */
  name: string;
  keyFile: string;
  /** Weakest hash accepted on requests. */
  hash: HashType;
  /**
   * Challenge-response algorithm. C's tcp/vsock plugins store this into `hash`
   * (docs/compatibility.md, row '`auth` in `tcp` and `vsock` blocks'); we do not.
   */
  auth: HashType;
  port: number;
}

function isMulticast(address: string, family: IpFamily): boolean {
  if (family === 'ipv6') return /^ff/i.test(address);
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** family + address, the address checked to be a literal of that family (and a group for multicast). */
export function readAddress(
  reader: BlockReader,
  defaults: Record<IpFamily, string>,
  multicast: boolean,
): { family: IpFamily; address: string } {
  const family = reader.choice<IpFamily>('family', ['ipv4', 'ipv6'], 'ipv4');
  const found = reader.assignment('address');
  const address = found?.value ?? defaults[family];
  const fits = family === 'ipv4' ? isIPv4(address) : isIPv6(address);
  if (!fits) {
    throw reader.error(
      `${reader.path}/address: '${address}' is not an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address (family is ${family})`,
      found,
    );
  }
  if (multicast && !isMulticast(address, family)) {
    throw reader.error(`${reader.path}/address: '${address}' is not a multicast group address`, found);
  }
  return { family, address };
}

export function readKeyed(reader: BlockReader, name: string): KeyedListenerSettings {
  return {
    name,
    keyFile: reader.text('key_file') ?? DEFAULT_KEY_FILE,
    hash: reader.hash('hash', Hash.SHA256),
    auth: reader.hash('auth', Hash.SHA256),
    port: reader.port('port', DEFAULT_PORT),
    protocol: reader.choice('protocol', PROTOCOL_POLICIES, defaultProtocolSettings.protocol),
    freshnessWindowMs: reader.integer('freshness_window', DEFAULT_FRESHNESS_WINDOW_S, 1, 3600) * 1000,
  };
}

const DEFAULT_FRESHNESS_WINDOW_S = defaultProtocolSettings.freshnessWindowMs / 1000;

export const keyFileKey: KeyReference = {
  key: 'key_file',
  default: DEFAULT_KEY_FILE,
  fileDefault: DEFAULT_KEY_FILE,
  description:
    'The shared secret that signs requests and answers the challenge-response. Every host and every guest ' +
    'of the cluster needs the same file; up to 4096 bytes are used. A missing, unreadable or empty file stops the daemon.',
};
const hashKey: KeyReference = {
  key: 'hash',
  default: 'sha256',
  fileDefault: 'sha256',
  description: 'The weakest request signature accepted: none, sha1, sha256 or sha512. Requests signed more weakly are dropped.',
};
const authKey: KeyReference = {
  key: 'auth',
  default: 'sha256',
  fileDefault: 'sha256',
  description:
    'The challenge-response algorithm after a request is accepted: none, sha1, sha256 or sha512; clients must use ' +
    'the same (fence_xvm/fence_virt -C). In the tcp and vsock blocks the C daemon stored this as the minimum hash; here it is the challenge-response algorithm.',
};
export const portKey = (what: string): KeyReference => ({
  key: 'port',
  default: String(DEFAULT_PORT),
  fileDefault: String(DEFAULT_PORT),
  description: `${what} (1 to 65535).`,
});
export const familyKey: KeyReference = {
  key: 'family',
  default: 'ipv4',
  fileDefault: 'ipv4',
  description: 'ipv4 or ipv6: the family of address.',
};
const protocolKey: KeyReference = {
  key: 'protocol',
  default: 'auto',
  fileDefault: 'auto',
  description:
    'The wire protocol: auto, 1 or 2. auto speaks version 2 with agents that offer it (ours) and version 1 with the others (the C agents); ' +
    '1 always speaks version 1; 2 drops every request that does not offer version 2. Version 2 authenticates the answer, binds the ' +
    'challenge-response to the request and the peer, and refuses requests older than freshness_window. The C daemon does not know this key.',
};
const freshnessKey: KeyReference = {
  key: 'freshness_window',
  default: String(DEFAULT_FRESHNESS_WINDOW_S),
  fileDefault: String(DEFAULT_FRESHNESS_WINDOW_S),
  description:
    "Seconds (1 to 3600) a version 2 request's timestamp may differ from this host's clock; older or newer requests are dropped, so a " +
    'captured request is useless after that long. Guests and hosts need synchronised clocks. The C daemon does not know this key.',
};
/** What every listener that signs and authenticates requests reads (after `module`). */
export const keyedListenerKeys: readonly KeyReference[] = [keyFileKey, hashKey, authKey, protocolKey, freshnessKey];
