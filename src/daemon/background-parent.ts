import { spawn } from 'node:child_process';
import { CHILD_ENV } from './background-child.js';

/**
 * Starts the detached child and exits once it serves (0) or failed to start (its status). The child's
 * start-up messages reach our stderr through a pipe; after that it logs to syslog, so no terminal or
 * caller's pipe is held open by the daemon.
 */
export async function backgroundParent(argv: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  child.stderr?.pipe(process.stderr, { end: false });
  return new Promise((resolve) => {
    child.once('message', () => {
      child.stderr?.unpipe().destroy();
      child.unref();
      child.channel?.unref();
      resolve(0);
    });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}
