import { fstatSync } from 'node:fs';
import { SYSLOG_PRIORITY, type LogSink } from './log.js';

/**
 * The foreground log sink: standard error. When that is the journal (systemd sets $JOURNAL_STREAM to the
 * device and inode of the stream it connected), each line starts with its syslog priority, `<3>` to
 * `<7>`, which journald takes as the line's priority, so `journalctl -p warning` shows warnings and
 * errors only. Anywhere else (a terminal, a file, a pipe) the lines stay as they are.
 */
export function stderrSink(env: NodeJS.ProcessEnv = process.env): LogSink {
  if (isJournalStream(env.JOURNAL_STREAM, 2)) {
    return { write: (line, level) => void process.stderr.write(`<${SYSLOG_PRIORITY[level]}>${line}`) };
  }
  return { write: (line) => void process.stderr.write(line) };
}

/** Whether `fd` is the stream $JOURNAL_STREAM ("device:inode") names; a stream inherited by a child run elsewhere is not. */
export function isJournalStream(journalStream: string | undefined, fd: number): boolean {
  const match = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (!match) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1] as string) && stat.ino === BigInt(match[2] as string);
  } catch {
    return false;
  }
}
