import { BACKEND_MODULES, type BackendConfig } from '../backends/registry.js';
import { BlockReader } from '../config/block-reader.js';
import { findBlock } from '../config/lookup.js';
import { readConfigFile } from '../config/parse.js';
import type { ConfigDocument } from '../config/tree.js';
import { defaultLimits, type SecurityLimits } from '../core/limits.js';
import type { ListenerConfig } from '../listeners/registry.js';
import { silentLogger, type Logger } from '../util/log.js';
import { readBackend } from './backends.js';
import { readGroups, type GroupConfig } from './groups.js';
import { LISTENER_CHOICES, readListeners } from './listeners.js';

/**
 * Everything fence_virtd takes from fence_virt.conf, validated and with defaults applied (the keys and
 * their defaults: README.md#configuration-reference; the rules: docs/protocol.md#configuration-lookup).
 */
export interface DaemonConfig {
  /** The file it came from, for messages. */
  file: string;
  /** At least one; see readListeners for the list syntax. */
  listeners: ListenerConfig[];
  backend: BackendConfig;
  /** `fence_virtd/module_path`: the C plugin directory; kept for the `-c` dialog and logs. */
  modulePath?: string;
  debug: number;
  foreground: boolean;
  /** Retry backend and listener start-up every 5 s instead of exiting. */
  waitForInit: boolean;
  /** The static permission map; empty when there is no `groups` block. */
  groups: GroupConfig[];
  /** Bounds on connections, connect-backs, buffers and the duplicate and replay memories. */
  limits: SecurityLimits;
  /** The record of fencing actions (`fence_virtd --history`); `entries` 0 keeps none. */
  history: { file: string; entries: number };
}

export const DEFAULT_HISTORY_FILE = '/var/lib/fence-virtd/history.jsonl';
export const DEFAULT_HISTORY_ENTRIES = 1000;

/**
 * Derives the typed configuration from a parsed file. Throws ConfigError for anything the daemon
 * could not run with; unknown keys in the blocks it reads are logged as warnings and ignored.
 */
export function toDaemonConfig(document: ConfigDocument, log: Logger = silentLogger): DaemonConfig {
  const { file } = document;
  const daemon = new BlockReader(file, 'fence_virtd', findBlock(document, 'fence_virtd'));
  const listenerSetting = daemon.assignment('listener');
  if (!listenerSetting) throw daemon.error(`fence_virtd: missing 'listener' (${LISTENER_CHOICES})`);
  const backendSetting = daemon.assignment('backend');
  if (!backendSetting) throw daemon.error(`fence_virtd: missing 'backend' (${BACKEND_MODULES.join(' or ')})`);

  const debug = daemon.integer('debug', 0, 0, Number.MAX_SAFE_INTEGER);
  const foreground = daemon.flag('foreground') ?? false;
  // Like C, the legacy wait_for_backend counts only when wait_for_init is absent or 0.
  const waitForInitSetting = daemon.flag('wait_for_init');
  const waitForBackend = daemon.flag('wait_for_backend');
  const waitForInit = waitForInitSetting || waitForBackend === true;
  const modulePath = daemon.text('module_path');
  daemon.tolerate('name_mode');

  const config: DaemonConfig = {
    file,
    listeners: readListeners(document, listenerSetting, log),
    backend: readBackend(document, backendSetting, daemon, log),
    debug,
    foreground,
    waitForInit,
    groups: readGroups(document, log),
    limits: readLimits(daemon),
    history: {
      file: daemon.text('history_file') ?? DEFAULT_HISTORY_FILE,
      entries: daemon.integer('history_entries', DEFAULT_HISTORY_ENTRIES, 0, 1_000_000),
    },
  };
  if (modulePath !== undefined) config.modulePath = modulePath;
  daemon.warnUnknown(log);
  return config;
}

/** The `fence_virtd` keys of SecurityLimits; each absent key keeps its default. */
function readLimits(daemon: BlockReader): SecurityLimits {
  const d = defaultLimits;
  const count = (key: string, fallback: number, max = 1_000_000) => daemon.integer(key, fallback, 1, max);
  return {
    maxConnections: count('max_connections', d.maxConnections),
    maxConnectionsPerSource: count('max_connections_per_source', d.maxConnectionsPerSource),
    maxConnectBacks: count('max_connect_backs', d.maxConnectBacks),
    maxConnectBacksPerAddress: count('max_connect_backs_per_address', d.maxConnectBacksPerAddress),
    // At least one whole request must fit.
    maxSerialBuffer: daemon.integer('max_serial_buffer', d.maxSerialBuffer, 1024, 64 * 1024 * 1024),
    maxHistoryPerRequester: count('max_history_per_requester', d.maxHistoryPerRequester),
    replayWindowMs: daemon.integer('replay_window', d.replayWindowMs / 1000, 0, 30 * 86_400) * 1000,
    maxReplayEntries: count('max_replay_entries', d.maxReplayEntries, 10_000_000),
  };
}

/** Reads, parses and interprets a configuration file; `document` is kept for edits and rewriting. */
export function loadDaemonConfig(path: string, log: Logger = silentLogger): { document: ConfigDocument; config: DaemonConfig } {
  const document = readConfigFile(path);
  return { document, config: toDaemonConfig(document, log) };
}
