import { spawn } from 'node:child_process';
import type { LogSink } from './log.js';

/**
 * A sink that hands lines to syslog through util-linux `logger` (facility daemon, like the C daemon),
 * for the background mode where stderr is gone. Node has no unix datagram sockets to talk to /dev/log
 * itself. Without `logger` the lines are dropped rather than blocking or crashing the daemon.
 */
export function syslogSink(tag: string): LogSink {
  const child = spawn('logger', ['-t', tag, '-p', 'daemon.notice'], { stdio: ['pipe', 'ignore', 'ignore'] });
  let alive = true;
  child.on('error', () => (alive = false));
  child.on('exit', () => (alive = false));
  child.stdin.on('error', () => (alive = false));
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return {
    write: (line) => {
      if (alive) child.stdin.write(line);
    },
  };
}
