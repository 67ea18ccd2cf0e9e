/**
 * Every fence_virt.conf key we read, with its default and meaning: the one description that the
 * `-c` dialog's explanations, fence_virt.conf(5) and the README's configuration table are made from.
 * Defaults come from the same constants src/config uses; test/configure checks that leaving a key
 * out means the same to toDaemonConfig as writing its `fileDefault`.
 */
import { defaultLimits } from '../core/limits.js';
import { DEFAULT_IPV4_GROUP, DEFAULT_IPV6_GROUP, DEFAULT_KEY_FILE, DEFAULT_PORT } from '../protocol/constants.js';

export interface KeyReference {
  key: string;
  /** The default as prose (what the daemon does when the key is absent). */
  default: string;
  /** The value that, written into the file, means exactly the same as leaving the key out. */
  fileDefault?: string;
  description: string;
}

export interface BlockReference {
  /** The block path as written in the file, with `<name>` for a listener instance. */
  path: string;
  /** Which listener modules (or what else) read this block. */
  usedBy: string;
  summary: string;
  keys: KeyReference[];
}

const keyFile: KeyReference = {
  key: 'key_file',
  default: DEFAULT_KEY_FILE,
  fileDefault: DEFAULT_KEY_FILE,
  description:
    'The shared secret that signs requests and answers the challenge-response. Every host and every guest ' +
    'of the cluster needs the same file; up to 4096 bytes are used. A missing, unreadable or empty file stops the daemon.',
};
const hash: KeyReference = {
  key: 'hash',
  default: 'sha256',
  fileDefault: 'sha256',
  description: 'The weakest request signature accepted: none, sha1, sha256 or sha512. Requests signed more weakly are dropped.',
};
const auth: KeyReference = {
  key: 'auth',
  default: 'sha256',
  fileDefault: 'sha256',
  description:
    'The challenge-response algorithm after a request is accepted: none, sha1, sha256 or sha512; clients must use ' +
    'the same (fence_xvm/fence_virt -C). In the tcp and vsock blocks the C daemon stored this as the minimum hash; here it is the challenge-response algorithm.',
};
const port = (what: string): KeyReference => ({
  key: 'port',
  default: String(DEFAULT_PORT),
  fileDefault: String(DEFAULT_PORT),
  description: `${what} (1 to 65535).`,
});
const moduleKey: KeyReference = {
  key: 'module',
  default: 'the block name',
  description:
    'Which listener module this block configures (multicast, tcp, serial or vsock). Only needed when the block is not named after its module, ' +
    'e.g. a second serial listener in a block called vmchannel. The C daemon does not know this key.',
};
const family: KeyReference = { key: 'family', default: 'ipv4', fileDefault: 'ipv4', description: 'ipv4 or ipv6: the family of address.' };
/** What every listener that signs and authenticates requests reads. */
const keyedListenerKeys = [moduleKey, keyFile, hash, auth];
/** A bound of the daemon: the default is the same in prose and in the file. */
const bound = (key: string, value: number, description: string): KeyReference => ({ key, default: String(value), fileDefault: String(value), description });
const limitKeys: KeyReference[] = [
  bound(
    'max_connections',
    defaultLimits.maxConnections,
    'TCP and vsock connections served at once, all listeners together. Connections beyond it are closed at once, with a warning (at most one line per 10 s).',
  ),
  bound(
    'max_connections_per_source',
    defaultLimits.maxConnectionsPerSource,
    'TCP and vsock connections served at once from one peer address or vsock CID; more from that peer are closed at once, others are still served.',
  ),
  bound(
    'max_connect_backs',
    defaultLimits.maxConnectBacks,
    'Multicast connect-backs under way at once. A datagram names the address to call back, so this bounds what forged datagrams can make the daemon do.',
  ),
  bound('max_connect_backs_per_address', defaultLimits.maxConnectBacksPerAddress, 'Multicast connect-backs under way at once to one address.'),
  bound(
    'max_serial_buffer',
    defaultLimits.maxSerialBuffer,
    'Bytes of unread input kept per guest serial or vmchannel socket (1024 or more). A guest that sends more while its request runs is disconnected; its socket is opened again.',
  ),
  bound(
    'max_history_per_requester',
    defaultLimits.maxHistoryPerRequester,
    'Entries one requester may hold in the 10-second duplicate window; beyond it the requester\'s own oldest entries are forgotten, never another requester\'s.',
  ),
  bound(
    'replay_window',
    defaultLimits.replayWindowMs / 1000,
    'Seconds during which the exact bytes of a signed request the daemon executed are refused (a replayed capture). 0 turns this memory off. Unsigned requests (hash none) cannot be told apart and are not remembered.',
  ),
  bound('max_replay_entries', defaultLimits.maxReplayEntries, 'How many executed signed requests are remembered for replay_window; the oldest are forgotten first.'),
];
const uri: KeyReference = {
  key: 'uri',
  default: 'none: required',
  description: 'The libvirt connection, e.g. qemu:///system. Further hypervisors on the same host: uri1, uri2, ... (consecutive numbers).',
};

export const CONFIG_REFERENCE: readonly BlockReference[] = [
  {
    path: 'fence_virtd',
    usedBy: 'the daemon',
    summary: 'Which listeners and which backend run, and how the daemon starts.',
    keys: [
      {
        key: 'listener',
        default: 'none: required',
        description:
          'The listener(s) that accept fencing requests. One name, as in the C daemon (multicast, tcp, serial, vsock), or several separated ' +
          'by spaces or commas; each names a block under listeners.',
      },
      { key: 'backend', default: 'none: required', description: 'What carries out the fencing: libvirt (this host only) or cpg (VMs that migrate between hosts of a corosync cluster).' },
      {
        key: 'module_path',
        default: 'not set',
        description: 'The C daemon\'s plugin directory. All modules are built into this fence_virtd, so it only keeps the value for the C daemon.',
      },
      { key: 'debug', default: '0', fileDefault: '0', description: 'Debug level of the log (a number; -d on the command line wins when not 0).' },
      { key: 'foreground', default: '0', fileDefault: '0', description: 'A number; not 0 keeps the daemon in the foreground (-F).' },
      {
        key: 'wait_for_init',
        default: '0',
        fileDefault: '0',
        description: 'A number; not 0 retries a backend or listener that fails to start every 5 seconds instead of exiting (-w).',
      },
      { key: 'wait_for_backend', default: '0', fileDefault: '0', description: 'Older name of wait_for_init, read only when wait_for_init is absent or 0.' },
      { key: 'name_mode', default: 'name', description: 'Older place of backends/cpg/name_mode (the backends block wins).' },
      ...limitKeys,
    ],
  },
  {
    path: 'listeners/<name>',
    usedBy: 'multicast',
    summary:
      'Guests send a signed UDP datagram to a multicast group; the daemon connects back to the sender over TCP, runs the challenge-response and answers.',
    keys: [
      ...keyedListenerKeys,
      family,
      {
        key: 'address',
        default: `${DEFAULT_IPV4_GROUP} (ipv4), ${DEFAULT_IPV6_GROUP} (ipv6)`,
        fileDefault: DEFAULT_IPV4_GROUP,
        description: 'The multicast group the daemon joins and guests send to (fence_xvm -a).',
      },
      port('The UDP port of the group; fence_xvm also listens on this TCP port for the connect-back'),
      {
        key: 'interface',
        default: 'the interface the routing table picks for the group',
        description:
          'The interface to join the group on, e.g. virbr0 when the guests use this host as their gateway. An interface that does not exist is an error.',
      },
    ],
  },
  {
    path: 'listeners/<name>',
    usedBy: 'tcp',
    summary: 'Guests (fence_virt -T) connect to a TCP address of this host; challenge-response, then the signed request.',
    keys: [
      ...keyedListenerKeys,
      family,
      { key: 'address', default: '127.0.0.1 (ipv4), ::1 (ipv6)', fileDefault: '127.0.0.1', description: 'The address to listen on.' },
      port('The TCP port to listen on'),
    ],
  },
  {
    path: 'listeners/<name>',
    usedBy: 'vsock',
    summary: 'Guests (fence_virt -S) connect over AF_VSOCK; the requester is identified by its CID.',
    keys: [...keyedListenerKeys, port('The vsock port to listen on')],
  },
  {
    path: 'listeners/<name>',
    usedBy: 'serial',
    summary:
      'Guests write requests to a serial port or virtio-serial channel whose host end is a unix socket that QEMU creates; the requester is the VM owning the socket. No key.',
    keys: [
      moduleKey,
      { key: 'uri', default: 'libvirt\'s default (LIBVIRT_DEFAULT_URI, else qemu:///system)', description: 'The libvirt connection whose domains are watched for sockets.' },
      {
        key: 'path',
        default: 'any directory',
        description: 'Only sockets directly in this directory are used, e.g. /var/run/cluster/fence (create it; QEMU puts the sockets there).',
      },
      {
        key: 'mode',
        default: 'serial',
        fileDefault: 'serial',
        description: 'serial: <serial type="unix"> devices (guest: fence_virt -D /dev/ttySn); vmchannel: <channel type="unix"> devices.',
      },
      { key: 'key_file', default: 'not used', description: 'Ignored by this listener (the C daemon still required the file to exist).' },
    ],
  },
  {
    path: 'backends/libvirt',
    usedBy: 'backend libvirt',
    summary: 'Fences the domains of this host through libvirt.',
    keys: [uri],
  },
  {
    path: 'backends/cpg',
    usedBy: 'backend cpg',
    summary: 'Fences domains anywhere in a corosync cluster of hosts: the host that runs the domain carries out the request. Not available in this build yet: the configuration is read and checked, but the daemon refuses to start with it.',
    keys: [
      uri,
      { key: 'name_mode', default: 'name', fileDefault: 'name', description: 'How domains are tracked across hosts: name or uuid.' },
    ],
  },
  {
    path: 'groups/group',
    usedBy: 'permissions (all listeners)',
    summary:
      'Who may fence what. Without any group everyone may fence every domain. With groups, a requester may fence the domains of the groups it appears in.',
    keys: [
      { key: 'name', default: 'unnamed-N', description: 'A name for logs.' },
      {
        key: 'ip',
        default: 'none',
        description: 'Repeatable. A requester: an IP address (multicast: the address inside the request; tcp: the peer) or a vsock CID.',
      },
      {
        key: 'uuid',
        default: 'none',
        description:
          'Repeatable. A domain name or UUID that the group\'s requesters may fence; for serial and vsock listeners also a requester: the VM owning ' +
          'the socket or the CID, matched by its UUID only (a name here never makes a VM a requester).',
      },
    ],
  },
];

/** The description of a key of a listener module (`tcp`) or block (`backends/libvirt`), for the dialog. */
export function describeKey(blockOrModule: string, key: string): string {
  const found = CONFIG_REFERENCE.find((b) => b.usedBy === blockOrModule || b.path === blockOrModule)?.keys.find((k) => k.key === key);
  if (!found) throw new Error(`no reference entry for ${blockOrModule} ${key}`);
  return found.description;
}

/** The one-paragraph summary of a listener module or block. */
export function describeBlock(blockOrModule: string): string {
  const found = CONFIG_REFERENCE.find((b) => b.usedBy === blockOrModule || b.path === blockOrModule);
  if (!found) throw new Error(`no reference entry for ${blockOrModule}`);
  return found.summary;
}
