/**
 * Reading a guest's console log: the marker lines written by test/guests/image/init and the command
 * results between them.
 */
import { readFile } from 'node:fs/promises';

export type MarkerKind = 'READY' | 'BEGIN' | 'END' | 'ERROR' | 'IDLE' | 'POWEROFF';

export interface Marker {
  readonly kind: MarkerKind;
  /** Text after the tag, e.g. "3 rc=0" for END. */
  readonly arg: string;
  /** Offsets of the marker line in the normalised console text. */
  readonly start: number;
  readonly end: number;
}

export interface CommandResult {
  readonly exitCode: number;
  /** stdout and stderr of the command, interleaved as the guest printed them. */
  readonly output: string;
}

/** The console as the guest meant it: the tty turns every newline into CR LF. */
export async function readConsole(path: string): Promise<string> {
  try {
    return (await readFile(path, 'latin1')).replace(/\r\n/g, '\n');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function readMarkers(text: string, tag: string): Marker[] {
  // Not anchored to a line start: a kernel message may precede a marker on the same line.
  const re = new RegExp(`FVT-(READY|BEGIN|END|ERROR|IDLE|POWEROFF) ${escapeRegExp(tag)}(?: ([^\\n]*))?\\n`, 'g');
  return [...text.matchAll(re)].map((m) => ({
    kind: m[1] as MarkerKind,
    arg: m[2] ?? '',
    start: m.index,
    end: m.index + m[0].length,
  }));
}

/** The result of command number `n`, once its END marker is there. */
export function commandResult(markers: readonly Marker[], text: string, n: number): CommandResult | undefined {
  const begin = markers.find((m) => m.kind === 'BEGIN' && m.arg === String(n));
  const endRe = new RegExp(`^${n} rc=(\\d+)$`);
  const end = markers.find((m) => m.kind === 'END' && endRe.test(m.arg));
  if (begin === undefined || end === undefined) return undefined;
  const exitCode = Number(endRe.exec(end.arg)?.[1]);
  // init prints one newline before END so the marker starts a line; it is not the command's.
  const output = text.slice(begin.end, end.start).replace(/\n$/, '');
  return { exitCode, output };
}
