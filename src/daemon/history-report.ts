/**
 * `fence_virtd --history [--json]`: prints the fence history the daemon keeps (fence-history.ts), oldest
 * first so the newest is nearest the prompt. It reads the file only, so it works whether or not a daemon
 * runs. Recorded text came partly from requesters (domain names), so the table escapes it like a log line.
 */
import type { Writable } from 'node:stream';
import { DEFAULT_HISTORY_ENTRIES, DEFAULT_HISTORY_FILE, loadDaemonConfig } from '../daemon-config/index.js';
import { escapeForLog } from '../util/log-escape.js';
import { readFenceHistory, type FenceRecord } from './fence-history.js';

export async function printFenceHistory(configFile: string, json: boolean, out: Writable, err: Writable): Promise<number> {
  let history = { file: DEFAULT_HISTORY_FILE, entries: DEFAULT_HISTORY_ENTRIES };
  try {
    history = loadDaemonConfig(configFile).config.history;
  } catch (e) {
    // The record is still worth reading while the configuration is broken.
    err.write(`warning: cannot read ${configFile} (${(e as Error).message}); reading ${history.file}\n`);
  }
  if (history.entries === 0) {
    err.write(`no fence history is kept: history_entries is 0 in ${configFile}\n`);
    return 1;
  }
  const { file } = history;
  let entries: FenceRecord[];
  try {
    entries = await readFenceHistory(file, history.entries);
  } catch (e) {
    err.write(`cannot read the fence history ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  if (json) out.write(`${JSON.stringify(entries, null, 2)}\n`);
  else if (entries.length === 0) out.write(`no fencing actions recorded in ${file}\n`);
  else out.write(historyTable(entries));
  return 0;
}

const COLUMNS: Array<[heading: string, cell: (e: FenceRecord) => string]> = [
  ['TIME (UTC)', (e) => e.time.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')],
  ['OP', (e) => e.op],
  ['TARGET', (e) => e.target],
  ['UUID', (e) => e.uuid ?? '-'],
  ['REQUESTER', (e) => e.requester],
  ['LISTENER', (e) => e.listener],
  ['RESULT', (e) => e.result],
  ['MS', (e) => String(Math.round(e.durationMs))],
  ['REASON', (e) => e.reason ?? ''],
];

/** Aligned columns, one line per action; the last column (the reason) is not padded. */
export function historyTable(entries: readonly FenceRecord[]): string {
  const rows = [COLUMNS.map(([heading]) => heading), ...entries.map((e) => COLUMNS.map(([, cell]) => escapeForLog(cell(e))))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  return rows
    .map((row) => `${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ')}`.trimEnd() + '\n')
    .join('');
}
