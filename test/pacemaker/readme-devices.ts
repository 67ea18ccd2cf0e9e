/**
 * The stonith devices of the README's "With Pacemaker" section: each `pcs stonith create ID AGENT
 * NAME=VALUE ...` line as the device Pacemaker would register, so the test fences with exactly what
 * the README tells administrators to configure.
 */
import { readFile } from 'node:fs/promises';
import { REPO } from '../support/processes.js';

export interface StonithDevice {
  id: string;
  agent: string;
  options: Record<string, string>;
}

const SECTION = '## With Pacemaker';

/** Words as a shell splits them: blanks separate, double quotes group and are removed. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/(?:"[^"]*"|[^\s"])+/g)].map((m) => m[0].replace(/"/g, ''));
}

export async function readmeDevices(): Promise<StonithDevice[]> {
  const readme = await readFile(`${REPO}README.md`, 'utf8');
  const start = readme.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`README.md has no "${SECTION}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return section
    .split('\n')
    .filter((line) => line.startsWith('pcs stonith create '))
    .map((line) => {
      const [, , , id, agent, ...rest] = shellWords(line);
      if (id === undefined || agent === undefined) throw new Error(`README.md: incomplete line: ${line}`);
      const options = Object.fromEntries(
        rest.map((word) => {
          const eq = word.indexOf('=');
          if (eq <= 0) throw new Error(`README.md: "${word}" is not NAME=VALUE in: ${line}`);
          return [word.slice(0, eq), word.slice(eq + 1)];
        }),
      );
      return { id, agent, options };
    });
}

/** pcmk_host_map ("node:vm;node:vm", also separated by spaces or commas) as node → VM. */
export function hostMap(device: StonithDevice): Map<string, string> {
  const map = device.options.pcmk_host_map ?? '';
  return new Map(
    map
      .split(/[;\s,]+/)
      .filter(Boolean)
      .map((pair) => {
        const colon = pair.indexOf(':');
        return [pair.slice(0, colon), pair.slice(colon + 1)] as [string, string];
      }),
  );
}
