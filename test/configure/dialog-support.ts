/** Running `fence_virtd -c` (ours from source, or the C one) with answers piped on stdin. */
import { readConfigFile } from '../../src/config/index.js';
import { toDaemonConfig, type DaemonConfig } from '../../src/daemon-config/index.js';
import { C_DAEMON, OUR_DAEMON, REPO, runTool, type ToolResult } from '../support/processes.js';

/** The configuration the packages install as /etc/fence_virt.conf. */
export const SHIPPED = `${REPO}packaging/fence_virt.conf`;

/** A file's comment lines, in order. */
export const commentLines = (text: string): string[] => text.split('\n').filter((l) => l.trimStart().startsWith('#'));

export function ourDialog(file: string, answers: readonly string[]): Promise<ToolResult> {
  return runTool(OUR_DAEMON.command, [...OUR_DAEMON.args, '-c', '-f', file], {
    input: answers.map((a) => `${a}\n`).join(''),
    timeoutMs: 30_000,
  });
}

export function cDialog(file: string, answers: readonly string[]): Promise<ToolResult> {
  return runTool(C_DAEMON.command, ['-c', '-f', file], { input: answers.map((a) => `${a}\n`).join(''), timeoutMs: 30_000 });
}

/** What our daemon makes of a file, without what only names the file or the C plugin directory. */
export async function typedConfig(file: string): Promise<Omit<DaemonConfig, 'file' | 'modulePath'>> {
  const { file: _file, modulePath: _modulePath, ...rest } = toDaemonConfig(readConfigFile(file));
  return rest;
}
