import { escapeForLog } from './log-escape.js';

/**
 * Leveled logging to a sink (stderr in the foreground, syslog once detached). Level 0 prints errors,
 * warnings and notices (audit lines are notices); each -d raises verbosity. Every line is escaped
 * (escapeForLog): what a peer sent can never start a line of its own.
 */
export type LogLevel = 'error' | 'warn' | 'notice' | 'info' | 'debug' | 'trace';

const rank: Record<LogLevel, number> = { error: 0, warn: 0, notice: 0, info: 1, debug: 2, trace: 3 };

/** The syslog priority of each level (err, warning, notice, info, debug), for sinks that pass it on. */
export const SYSLOG_PRIORITY: Record<LogLevel, number> = { error: 3, warn: 4, notice: 5, info: 6, debug: 7, trace: 7 };

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  notice(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  trace(msg: string): void;
  /** Whether lines of `level` are written now: a caller skips building a costly line nobody will see. */
  enabled(level: LogLevel): boolean;
  /** A logger whose lines carry an extra prefix, e.g. the listener name. */
  child(prefix: string): Logger;
}

export interface LogSink {
  /** One whole line, newline included; `level` for sinks that keep priorities (journal, syslog). */
  write(line: string, level: LogLevel): void;
}

export function createLogger(
  verbosity: () => number,
  sink: LogSink = { write: (line) => process.stderr.write(line) },
  prefix = '',
): Logger {
  const emit = (level: LogLevel, msg: string): void => {
    if (rank[level] > verbosity()) return;
    sink.write(`${level}: ${escapeForLog(prefix + msg)}\n`, level);
  };
  return {
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    notice: (m) => emit('notice', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
    trace: (m) => emit('trace', m),
    enabled: (level) => rank[level] <= verbosity(),
    child: (p) => createLogger(verbosity, sink, `${prefix}${p}: `),
  };
}

/** For library code and tests that want no output. */
export const silentLogger: Logger = createLogger(() => -1, { write: () => undefined });

/** A logger that keeps only the warnings, as text: for tools that report a reader's warnings themselves. */
export function collectWarnings(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = createLogger(() => 0, { write: (line) => void (line.startsWith('warn: ') && warnings.push(line.slice(6).trimEnd())) });
  return { logger, warnings };
}
