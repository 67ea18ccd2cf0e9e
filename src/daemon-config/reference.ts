/**
 * Every fence_virt.conf key we read, with its default and meaning: the one description that the
 * `-c` dialog's explanations, fence_virt.conf(5) and the README's configuration table are made from.
 * The daemon's own blocks are described here; each listener and backend module describes its block in
 * its folder. Defaults come from the same constants the readers use; test/configure checks that leaving
 * a key out means the same to toDaemonConfig as writing its `fileDefault`.
 */
import { BACKENDS } from '../backends/registry.js';
import { defaultLimits } from '../core/limits.js';
import { LISTENERS, LISTENER_MODULES } from '../listeners/registry.js';
import type { BlockReference, KeyReference } from '../module-kit/reference.js';
import { DEFAULT_HISTORY_ENTRIES, DEFAULT_HISTORY_FILE } from './daemon-config.js';
import { LISTENER_CHOICES } from './listeners.js';

export type { BlockReference, KeyReference } from '../module-kit/reference.js';

const moduleKey: KeyReference = {
  key: 'module',
  default: 'the block name',
  description:
    `Which listener module this block configures (${LISTENER_CHOICES}). Only needed when the block is not named after its module, ` +
    'e.g. a second serial listener in a block called vmchannel. The C daemon does not know this key.',
};
/** A bound of the daemon: the default is the same in prose and in the file. */
const bound = (key: string, value: number, description: string): KeyReference => ({
  key,
  default: String(value),
  fileDefault: String(value),
  description,
});
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
  bound(
    'max_connect_backs_per_address',
    defaultLimits.maxConnectBacksPerAddress,
    'Multicast connect-backs under way at once to one address.',
  ),
  bound(
    'max_serial_buffer',
    defaultLimits.maxSerialBuffer,
    'Bytes of unread input kept per guest serial or vmchannel socket (1024 or more). A guest that sends more while its request runs is disconnected; its socket is opened again.',
  ),
  bound(
    'max_history_per_requester',
    defaultLimits.maxHistoryPerRequester,
    "Entries one requester may hold in the 10-second duplicate window; beyond it the requester's own oldest entries are forgotten, never another requester's.",
  ),
  bound(
    'replay_window',
    defaultLimits.replayWindowMs / 1000,
    'Seconds during which the exact bytes of a signed request the daemon executed are refused (a replayed capture). 0 turns this memory off. Unsigned requests (hash none) cannot be told apart and are not remembered.',
  ),
  bound(
    'max_replay_entries',
    defaultLimits.maxReplayEntries,
    'How many executed signed requests are remembered for replay_window. When full, the oldest request that is not a fencing action is forgotten first, a fencing action only when no other request is left.',
  ),
];
/** Listeners that verify requests with the shared key first (they share most keys), then the others. */
const listenersInReferenceOrder = [...LISTENERS].sort((a, b) => Number(a.keyFile === undefined) - Number(b.keyFile === undefined));

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
          `The listener(s) that accept fencing requests. One name, as in the C daemon (${LISTENER_MODULES.join(', ')}), or several separated ` +
          'by spaces or commas; each names a block under listeners.',
      },
      {
        key: 'backend',
        default: 'none: required',
        description:
          'What carries out the fencing: libvirt (this host only) or cpg (VMs that migrate between hosts of a corosync cluster).',
      },
      {
        key: 'module_path',
        default: 'not set',
        description:
          "The C daemon's plugin directory. All modules are built into this fence_virtd, so it only keeps the value for the C daemon.",
      },
      {
        key: 'debug',
        default: '0',
        fileDefault: '0',
        description: 'Debug level of the log (a number; -d on the command line wins when not 0).',
      },
      { key: 'foreground', default: '0', fileDefault: '0', description: 'A number; not 0 keeps the daemon in the foreground (-F).' },
      {
        key: 'wait_for_init',
        default: '0',
        fileDefault: '0',
        description: 'A number; not 0 retries a backend or listener that fails to start every 5 seconds instead of exiting (-w).',
      },
      {
        key: 'wait_for_backend',
        default: '0',
        fileDefault: '0',
        description: 'Older name of wait_for_init, read only when wait_for_init is absent or 0.',
      },
      { key: 'name_mode', default: 'name', description: 'Older place of backends/cpg/name_mode (the backends block wins).' },
      ...limitKeys,
      {
        key: 'history_file',
        default: DEFAULT_HISTORY_FILE,
        fileDefault: DEFAULT_HISTORY_FILE,
        description:
          'Where the daemon records each fencing action (off, on, reboot: time, target, requester, result) for fence_virtd --history; one JSON ' +
          'object per line, mode 0600.',
      },
      bound(
        'history_entries',
        DEFAULT_HISTORY_ENTRIES,
        'How many fencing actions history_file keeps; the oldest are dropped first (the file itself is rewritten once it holds twice as many). 0 keeps no record.',
      ),
    ],
  },
  ...listenersInReferenceOrder.map((m) => ({
    path: 'listeners/<name>',
    usedBy: m.name,
    summary: m.reference.summary,
    keys: [moduleKey, ...m.reference.keys],
  })),
  ...BACKENDS.map((m) => ({
    path: `backends/${m.name}`,
    usedBy: `backend ${m.name}`,
    summary: m.reference.summary,
    keys: m.reference.keys,
  })),
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
          "Repeatable. A domain name or UUID that the group's requesters may fence; for serial and vsock listeners also a requester: the VM owning " +
          'the socket or the CID, matched by its UUID only (a name here never makes a VM a requester).',
      },
    ],
  },
];
