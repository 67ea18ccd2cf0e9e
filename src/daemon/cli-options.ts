import { DEFAULT_CONFIG_FILE } from '../protocol/constants.js';

export interface DaemonOptions {
  configFile: string;
  foreground: boolean;
  debug: number;
  waitForInit: boolean;
  pidFile: string;
  action: 'run' | 'help' | 'version' | 'configure' | 'check' | 'history';
  /** --json: --history prints JSON instead of a table. */
  json: boolean;
  /** `--set PATH=VALUE` arguments: change the file without questions (they imply -c). */
  settings: string[];
}

/** How often -w retries a backend or listener that failed to start. */
export const INIT_RETRY_MS = 5_000;

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * fence_virtd's command line (docs/protocol.md#fence_virtd-command-line): getopt "Ff:d:cwlhp:" plus -V
 * and --check, --history and --json. Unlike C, an unknown option or a missing argument is an error (exit 1), not help with
 * exit 0: a typo in a unit file should fail loudly.
 */
export function parseDaemonOptions(argv: readonly string[], programName = 'fence_virtd'): DaemonOptions {
  const opts: DaemonOptions = {
    configFile: DEFAULT_CONFIG_FILE,
    foreground: false,
    debug: 0,
    waitForInit: false,
    pidFile: `/var/run/${programName}.pid`,
    action: 'run',
    json: false,
    settings: [],
  };
  const withArg = new Set(['f', 'd', 'p']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--check') {
      opts.action = 'check';
      continue;
    }
    if (arg === '--history') {
      opts.action = 'history';
      continue;
    }
    if (arg === '--json') {
      opts.json = true;
      continue;
    }
    if (arg === '--help') {
      opts.action = 'help';
      continue;
    }
    if (arg === '--version') {
      opts.action = 'version';
      continue;
    }
    if (arg === '--set' || arg.startsWith('--set=')) {
      const setting = arg === '--set' ? argv[++i] : arg.slice('--set='.length);
      if (setting === undefined) throw new UsageError('option --set requires an argument (PATH=VALUE)');
      opts.settings.push(setting);
      opts.action = 'configure';
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') throw new UsageError(`unexpected argument '${arg}'`);
    if (arg.startsWith('--'))
      throw new UsageError(`invalid option '${arg}' (long options: --check, --history, --json, --set, --help, --version)`);
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j] as string;
      let value: string | undefined;
      if (withArg.has(letter)) {
        value = j + 1 < arg.length ? arg.slice(j + 1) : argv[++i];
        if (value === undefined) throw new UsageError(`option -${letter} requires an argument`);
        j = arg.length;
      }
      switch (letter) {
        case 'F':
          opts.foreground = true;
          break;
        case 'f':
          opts.configFile = value as string;
          break;
        case 'd': {
          if (!/^\d+$/.test(value as string)) throw new UsageError(`invalid debug level '${value}'`);
          opts.debug = Number(value);
          break;
        }
        case 'w':
          opts.waitForInit = true;
          break;
        case 'p':
          opts.pidFile = value as string;
          break;
        case 'c':
          opts.action = 'configure';
          break;
        case 'h':
        case '?':
          opts.action = 'help';
          break;
        case 'V':
          opts.action = 'version';
          break;
        case 'l':
          // C's -l lists plugins; everything is built in here, so there is nothing to list.
          break;
        default:
          throw new UsageError(`invalid option -${letter}`);
      }
    }
  }
  return opts;
}

export function daemonUsage(programName: string): string {
  return [
    `Usage: ${programName} [options]`,
    '  -F              Do not daemonize.',
    '  -f <file>       Use <file> as configuration file.',
    '  -d <level>      Set debugging level to <level>.',
    '  -c              Configuration mode.',
    '  --set <setting>  Configuration without questions (implies -c): PATH=VALUE, e.g. listeners/multicast/interface=virbr0; none removes the key; repeatable.',
    `  -w              Wait for initialization: retry a backend or listener that fails to start every ${INIT_RETRY_MS / 1000} s.`,
    '  -p <file>       Use <file> to record the active process id.',
    '  -l              List plugins (all are built in; prints nothing).',
    '  --check         Check the configuration and the environment, then exit.',
    '  --history       Print the recorded fencing actions (newest last) and exit.',
    '  --json          With --history: print them as JSON.',
    '  -V              Print the version and exit.',
    '  -h              This help.',
    '',
  ].join('\n');
}
