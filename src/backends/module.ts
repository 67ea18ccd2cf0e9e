import type { BlockReader } from '../config/block-reader.js';
import type { LibvirtConnectionPool } from '../libvirt/connection-pool.js';
import type { LibvirtClient } from '../libvirt/index.js';
import type { BlockEdit } from '../module-kit/block-edit.js';
import type { CheckReport } from '../module-kit/check-report.js';
import type { LinePrompter } from '../module-kit/prompter.js';
import type { ModuleReference } from '../module-kit/reference.js';
import type { Logger } from '../util/log.js';
import type { FenceBackend } from './backend.js';

/**
 * What a backend gets to open itself: the daemon's shared libvirt connections, and this host's own
 * libvirt backend for backends that act on the local host and coordinate beyond it (cpg). The registry
 * provides the latter, so backend folders never import one another.
 */
export interface BackendDeps {
  pool: LibvirtConnectionPool;
  /** Opens the libvirt backend on `uris`; `clients` are its open connections. */
  openLocal(uris: readonly string[]): Promise<{ backend: FenceBackend; clients: readonly LibvirtClient[] }>;
}

/** What every backend's configuration holds. */
export interface BackendSettingsBase {
  /** Its module's name. */
  module: string;
  /** The libvirt connections it uses, which `--check` opens. */
  uris: string[];
}

/**
 * Everything fence_virtd knows about one backend, in the backend's own folder: how `backends/<name>`
 * is read and described, what `-c` asks about it, and how the daemon opens it. The registry lists
 * every module.
 */
export interface BackendModule<C extends BackendSettingsBase> {
  readonly name: C['module'];
  /** Whether this build can run it; one that cannot is still read and checked, and refused at start. */
  readonly available: boolean;
  /** Reads `backends/<name>`; `daemon` is the `fence_virtd` block, for keys that used to live there. */
  read(reader: BlockReader, daemon: BlockReader): C;
  readonly reference: ModuleReference;
  /** The `-c` questions about its block. */
  ask(p: LinePrompter, block: BlockEdit): Promise<void>;
  /** Opens the backend; its libvirt connections come from the daemon's shared pool. */
  create(config: C, log: Logger, deps: BackendDeps): Promise<FenceBackend>;
  /** `--check` lines beyond the libvirt URIs (which every backend's are checked for). */
  check?(config: C, report: CheckReport): Promise<void>;
}
