import { basename } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { applyCommandLineOverrides, loadDaemonConfig } from '../daemon-config/index.js';
import { startBuiltinsOf } from '../listeners/registry.js';
import { createLogger, type LogSink } from '../util/log.js';
import { stderrSink } from '../util/stderr-sink.js';
import { COMPATIBLE_WITH, VERSION } from '../version.js';
import { daemonUsage, parseDaemonOptions, UsageError } from './cli-options.js';
import { FenceDaemon } from './fence-daemon.js';
import { PidFile, replayJournalBeside } from './pid-file.js';
import { SystemdNotifier } from './systemd-notify.js';
import { CHILD_ENV } from './background-child.js';
import { setRuntimeV8Flags } from './v8-runtime-flags.js';

/** fence_virtd's main: resolves with the exit status (and keeps serving until a stop signal). */
export async function runDaemon(argv: readonly string[], argv0: string): Promise<number> {
  const program = basename(argv0).replace(/\.[cm]?[jt]s$/, '');
  let verbosity = 0;
  // Swapped for syslog once a background child no longer has its parent's stderr.
  const sink: LogSink = stderrSink();
  // Created for the daemon run only (other actions must not speak for the service).
  let notifier: SystemdNotifier | undefined = undefined;
  const log = createLogger(() => verbosity, {
    write: (line, level) => {
      sink.write(line, level);
      if (level === 'error' || level === 'warn') notifier?.startupProblem(line);
    },
  });
  let opts;
  try {
    opts = parseDaemonOptions(argv, program);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n${daemonUsage(program)}`);
    return 1;
  }
  if (opts.action === 'help') {
    process.stdout.write(daemonUsage(program));
    return 0;
  }
  if (opts.action === 'version') {
    process.stdout.write(`${program} ${VERSION} (compatible with ${COMPATIBLE_WITH})\n`);
    return 0;
  }
  // The other actions are loaded when asked for: the serving daemon starts without their code and the
  // Node built-ins only they use (readline, child_process).
  if (opts.action === 'configure') {
    const { applySettings, runConfigureDialog } = await import('../configure/index.js');
    if (opts.settings.length) return applySettings(opts.configFile, opts.settings, process.stdout);
    return runConfigureDialog(opts.configFile, { input: process.stdin, output: process.stdout });
  }
  if (opts.action === 'check') return (await import('../check/index.js')).runCheck(opts.configFile, process.stdout);
  if (opts.action === 'history') {
    const { printFenceHistory } = await import('./history-report.js');
    return printFenceHistory(opts.configFile, opts.json, process.stdout, process.stderr);
  }
  verbosity = opts.debug;

  let config;
  try {
    config = applyCommandLineOverrides(loadDaemonConfig(opts.configFile, log).config, {
      debug: opts.debug,
      foreground: opts.foreground,
      waitForInit: opts.waitForInit,
    });
  } catch (err) {
    log.error(err instanceof ConfigError ? err.message : `cannot read ${opts.configFile}: ${(err as Error).message}`);
    return 1;
  }
  verbosity = config.debug;

  const isChild = process.env[CHILD_ENV] === '1';
  if (!config.foreground && !isChild) return (await import('./background-parent.js')).backgroundParent(argv);

  // Before the listeners start: a serial listener's scan of many guests would grow it at once.
  setRuntimeV8Flags(startBuiltinsOf(config.listeners));
  notifier = SystemdNotifier.fromEnvironment(process.env, log);
  const pidFile = new PidFile(opts.pidFile, program);
  try {
    pidFile.claim();
  } catch (err) {
    log.error((err as Error).message);
    return 1;
  }
  let daemon: FenceDaemon;
  try {
    daemon = await FenceDaemon.start(config, log, { replayJournal: replayJournalBeside(opts.pidFile) });
  } catch (err) {
    log.error((err as Error).message);
    pidFile.release();
    return 1;
  }
  if (isChild) {
    sink.write = (await import('../util/syslog-sink.js')).syslogSink(program).write;
    process.send?.('ready');
    process.disconnect?.();
  }
  notifier?.startWatchdog(process.env);
  void daemon.serving.then(() => notifier?.ready(() => daemon.statusLine()));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // Never cut a fencing action short, nor ignore the signal without a word.
        log.notice(`${signal} received again; still finishing ${daemon.actionsInProgress} fencing action(s) in progress`);
        return;
      }
      stopping = true;
      log.notice(`${signal} received; stopping`);
      notifier?.stopping();
      // Exits either way; a failure while stopping reaches the unhandledRejection handler below, which logs it.
      void daemon.stop().finally(() => {
        pidFile.release();
        resolve(0);
      });
    };
    for (const s of ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const) process.on(s, () => stop(s));
    process.on('SIGHUP', () => {
      log.notice('SIGHUP received; reloading keys and groups');
      notifier?.reloading();
      // reload() logs its own failures and keeps the running configuration.
      void daemon.reload().finally(() => notifier?.reloaded());
    });
    // A closed terminal must not kill a daemon that merely logs to it.
    process.on('SIGPIPE', () => undefined);
    // One request's unexpected failure must not end fencing for everyone; it is a bug worth a loud line.
    process.on('unhandledRejection', (reason) => {
      log.error(`internal error (please report): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
    });
  });
}
