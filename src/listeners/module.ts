import type { BlockReader } from '../config/block-reader.js';
import type { KeySource } from '../core/request-gate.js';
import type { BlockEdit } from '../module-kit/block-edit.js';
import type { CheckReport, LibvirtView } from '../module-kit/check-report.js';
import type { LinePrompter } from '../module-kit/prompter.js';
import type { ModuleReference } from '../module-kit/reference.js';
import type { Listener, ListenerContext } from './listener.js';

/** What every listener's configuration holds. */
export interface ListenerSettingsBase {
  /** Its module's name. */
  module: string;
  /** Instance name: the entry of `fence_virtd/listener` (a block under `listeners`). */
  name: string;
}

/** What the daemon gives a listener it creates. */
export interface ListenerDeps {
  /** The daemon's loaded key files; a source follows reloads. */
  keys: { source(path: string): KeySource };
  context: (name: string) => ListenerContext;
  /** The backend's libvirt URIs: vsock peers are resolved to their domains there. */
  backendUris: readonly string[];
}

/**
 * Everything fence_virtd knows about one transport, in the transport's own folder: how its block is
 * read and described, what `-c` asks about it, what `--check` checks, and how the daemon runs it. The
 * registry lists every module; configuration reading, the daemon, `--check`, `-c` and the
 * configuration reference go through it.
 */
export interface ListenerModule<C extends ListenerSettingsBase> {
  readonly name: C['module'];
  /** Reads `listeners/<name>` (the reader may have no block: then every default applies). */
  read(reader: BlockReader, name: string): C;
  /** What the listener occupies, for the message when two listeners would share it. */
  endpoint(config: C): string;
  /** Whether two listeners of this module would serve the same requests; without it, the same endpoint. */
  overlaps?(a: C, b: C): boolean;
  /** The key file it verifies requests with; absent for a module that uses no key. */
  keyFile?(config: C): string;
  /** A libvirt connection of its own (not the backend's), which `--check` opens. */
  libvirtUri?(config: C): string;
  /** Its block in the configuration reference, without the `module` key every listener block has. */
  readonly reference: ModuleReference;
  /** The `-c` questions about its block. */
  ask(p: LinePrompter, block: BlockEdit): Promise<void>;
  /** Its `--check` lines; `libvirt` is the view of its own libvirt connection, when that answered. */
  check(config: C, report: CheckReport, libvirt: LibvirtView | undefined): Promise<void>;
  /**
   * The Node built-ins its listener loads when it starts that the rest of the daemon does not (none if
   * absent). The daemon loads them before it sets its run-time V8 flags (src/daemon/v8-runtime-flags.ts):
   * a built-in loaded after that is compiled from source instead of from Node's code cache.
   */
  readonly startBuiltins?: readonly string[];
  /**
   * Loads the code that runs this listener and answers its maker. Kept apart from reading the
   * configuration so that a daemon loads, at start, only the listeners it is configured with.
   */
  load(): Promise<ListenerMaker<C>>;
}

/** Makes a configured listener (not started yet). */
export type ListenerMaker<C extends ListenerSettingsBase> = (config: C, deps: ListenerDeps) => Listener;
