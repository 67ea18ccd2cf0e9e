import { BackendStartError, type FenceBackend } from '../backends/backend.js';
import { createBackend } from '../backends/registry.js';
import { createRequestCore } from '../core/request-core.js';
import { applyCommandLineOverrides, loadDaemonConfig, type DaemonConfig } from '../daemon-config/index.js';
import { LibvirtConnectionPool } from '../libvirt/connection-pool.js';
import type { Listener } from '../listeners/listener.js';
import { keyFilesOf, loadListener, type ListenerConfig } from '../listeners/registry.js';
import type { Logger } from '../util/log.js';
import { sleep } from '../util/sleep.js';
import { INIT_RETRY_MS } from './cli-options.js';
import { Dispatcher } from './dispatcher.js';
import { FenceHistory } from './fence-history.js';
import { KeyRing, type KeyFiles } from './key-ring.js';
import { LoopDelay } from './loop-delay.js';
import { RecordingExecutor } from './recording-executor.js';
import { ReplayJournal } from './replay-journal.js';
import { StaticMap } from './static-map.js';

/** On stop, how long sessions may take to write the answers of the last actions. */
const ANSWER_FLUSH_MS = 200;

/**
 * The running daemon: one backend, any number of listeners side by side, all executing through one
 * Dispatcher. SIGHUP-style reloads swap keys and the permission map without touching requests in flight.
 */
export class FenceDaemon {
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private markServing!: () => void;
  /** Resolves once every configured listener serves (with wait_for_init, after the last retry that succeeded). */
  readonly serving = new Promise<void>((resolve) => (this.markServing = resolve));

  private constructor(
    private config: DaemonConfig,
    private readonly backend: Promise<FenceBackend>,
    private readonly keys: KeyRing,
    private readonly dispatcher: Dispatcher,
    private readonly recorder: RecordingExecutor,
    private readonly listeners: Listener[],
    private readonly permissions: { map: StaticMap },
    private readonly pool: LibvirtConnectionPool,
    private readonly replays: ReplayJournal | undefined,
    private readonly loopDelay: LoopDelay,
    private readonly log: Logger,
  ) {}

  /** `replayJournal`: the file that keeps the replay memory across restarts (none: memory only). */
  static async start(config: DaemonConfig, log: Logger, options: { replayJournal?: string } = {}): Promise<FenceDaemon> {
    const keys = new KeyRing(log);
    keys.load(keyFilesOf(config.listeners));
    const pool = new LibvirtConnectionPool(log);
    // Begun first and awaited last: the backend's connection and handshake overlap loading and binding
    // the listeners. A request that comes in before it is ready waits for it (Dispatcher).
    const backend = retrying(config.waitForInit, log, `backend ${config.backend.module}`, () => createBackend(config.backend, log, pool));
    backend.catch(() => undefined);
    // Only the code of the listeners configured here is loaded.
    const makers = await Promise.all(config.listeners.map((l) => loadListener(l)));
    const permissions = { map: new StaticMap(config.groups) };
    const dispatcher = new Dispatcher(backend, () => permissions.map, log);
    const history = config.history.entries > 0 ? new FenceHistory(config.history.file, config.history.entries, log) : undefined;
    const recorder = new RecordingExecutor(dispatcher, history);
    // One core for all listeners: no protection may depend on which listener a peer picks.
    const { replayWindowMs, maxReplayEntries } = config.limits;
    const journal = options.replayJournal;
    const replays = journal === undefined ? undefined : ReplayJournal.open(journal, replayWindowMs, maxReplayEntries, log);
    const core = createRequestCore((req, who) => dispatcher.permits(req, who), log, config.limits, replays);
    const loopDelay = new LoopDelay();
    const executor = loopDelay.watching(replays ? replays.beforeExecuting(recorder) : recorder);
    const listeners = config.listeners.map((l, i) =>
      makers[i]!({
        // By listener, not by path: a reload may point this listener at another key file.
        keys: { source: () => keys.source(l.name) },
        backendUris: config.backend.uris,
        // `tcp: ...` for a block named after its module, `tcp:guests: ...` for a named one.
        context: (name) => ({
          dispatcher: executor,
          core,
          libvirt: pool,
          log: log.child(name === l.module ? name : `${l.module}:${name}`),
        }),
      }),
    );
    const daemon = new FenceDaemon(config, backend, keys, dispatcher, recorder, listeners, permissions, pool, replays, loopDelay, log);
    await daemon.startListeners();
    try {
      await backend;
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    log.notice(
      `serving with backend ${config.backend.module} and ${listeners.length} listener(s): ${listeners.map((l) => l.name).join(', ')}`,
    );
    return daemon;
  }

  private async startListeners(): Promise<void> {
    const failed: Listener[] = [];
    for (const listener of this.listeners) {
      try {
        await listener.start();
      } catch (err) {
        const msg = `listener ${listener.name} failed to start: ${(err as Error).message}`;
        if (!this.config.waitForInit) {
          await this.stop();
          throw new Error(msg);
        }
        this.log.error(`${msg}; retrying every ${INIT_RETRY_MS / 1000} s`);
        failed.push(listener);
      }
    }
    if (failed.length) this.retryLater(failed);
    else this.markServing();
  }

  /** For the service manager: the listeners and the requests served so far. */
  statusLine(): string {
    const { served, fenced } = this.recorder.counts;
    return `listeners ${this.listeners.map((l) => l.name).join(', ')}; ${served} request(s) served, ${fenced} fencing action(s)`;
  }

  private retryLater(failed: Listener[]): void {
    // retryStart catches each listener's failure itself, so the promise never rejects.
    this.retryTimer = setTimeout(() => void this.retryStart(failed), INIT_RETRY_MS);
  }

  private async retryStart(failed: Listener[]): Promise<void> {
    const still: Listener[] = [];
    for (const listener of failed) {
      if (this.stopped) return;
      try {
        await listener.start();
      } catch (err) {
        this.log.warn(`listener ${listener.name} still cannot start: ${(err as Error).message}`);
        still.push(listener);
        continue;
      }
      // stop() ran while this start was under way: it did not see this listener running, so stop it here.
      if (this.stopped) await listener.stop();
    }
    if (still.length && !this.stopped) this.retryLater(still);
    else if (!this.stopped) this.markServing();
  }

  /**
   * Re-reads the file and the key files it names: keys (also a listener's changed `key_file`) and groups
   * apply at once, all or nothing; other changes need a restart. A broken file or a key that cannot be
   * read keeps every running key and group.
   */
  async reload(): Promise<void> {
    const log = this.log;
    let next: DaemonConfig;
    try {
      // The running values of -d, -F and -w may come from the command line; the file alone would differ.
      const { debug, foreground, waitForInit } = this.config;
      next = applyCommandLineOverrides(loadDaemonConfig(this.config.file, log).config, { debug, foreground, waitForInit });
    } catch (err) {
      log.error(`reload failed, keeping the running keys and groups: ${(err as Error).message}`);
      return;
    }
    // Listeners run as started; only the key files of those still configured under the same name change.
    const running = keyFilesOf(this.config.listeners);
    const wanted = keyFilesOf(next.listeners);
    const files = new Map([...running].map(([name, path]) => [name, wanted.get(name) ?? path]));
    try {
      this.keys.load(files);
    } catch (err) {
      log.error(`reload failed, keeping the running keys and groups: ${(err as Error).message}`);
      return;
    }
    this.permissions.map = new StaticMap(next.groups);
    const structural = (c: DaemonConfig) =>
      JSON.stringify([withoutKeyFiles(c.listeners), c.backend, c.limits, c.debug, c.foreground, c.waitForInit, c.history]);
    if (structural(next) !== structural(this.config)) {
      log.warn(
        'listener, backend, bound (max_*, replay_window), history (history_*) or start-up settings changed; they take effect after a restart',
      );
    }
    this.config = { ...this.config, groups: next.groups, listeners: withKeyFiles(this.config.listeners, files) };
    const inUse = [...files].map(([name, path]) => `${name}=${path}`).join(', ') || 'none';
    log.notice(`reloaded keys (key files: ${inUse}) and ${next.groups.length} permission group(s)`);
  }

  /** Fencing actions being executed (stop waits for them). */
  get actionsInProgress(): number {
    return this.dispatcher.actionsInProgress;
  }

  /**
   * Stops accepting, lets fencing actions in progress finish (new ones are answered failure), and
   * closes the connections; a peer that stalls is not waited for.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.dispatcher.close();
    const closed = Promise.allSettled(this.listeners.map((l) => l.stop()));
    await this.dispatcher.idle();
    await this.recorder.flushed();
    // Sessions that got their answers write them now; a peer that stalls its exchange is not waited for.
    await Promise.race([closed, sleep(ANSWER_FLUSH_MS, { ref: false })]);
    // A backend that failed to start holds nothing.
    await this.backend.then(
      (b) => b.close(),
      () => undefined,
    );
    await this.pool.closeAll();
    this.replays?.close();
    this.log.notice(this.loopDelay.finish());
  }
}

/** With `wait` (-w), retries what may get better; a failure waiting cannot cure ends the start at once. */
async function retrying<T>(wait: boolean, log: Logger, what: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (wait && err instanceof BackendStartError && err.permanent) {
        throw new Error(`${what} failed to start: ${err.message} (not retried: waiting cannot fix this)`);
      }
      if (!wait) throw new Error(`${what} failed to start: ${(err as Error).message}`);
      log.error(`${what} failed to start: ${(err as Error).message}; retrying in ${INIT_RETRY_MS / 1000} s`);
      await sleep(INIT_RETRY_MS);
    }
  }
}

/** The listeners' settings without their key files, which a reload applies. */
function withoutKeyFiles(listeners: readonly ListenerConfig[]): unknown[] {
  return listeners.map((l) => ('keyFile' in l ? { ...l, keyFile: undefined } : l));
}

/** The listeners' settings with the key files now in use. */
function withKeyFiles(listeners: readonly ListenerConfig[], files: KeyFiles): ListenerConfig[] {
  return listeners.map((l) => {
    const file = files.get(l.name);
    return 'keyFile' in l && file !== undefined ? { ...l, keyFile: file } : l;
  });
}
