/**
 * The daemon's record of the fencing actions it carried out (off, on, reboot), so an administrator can
 * ask what was fenced recently (`fence_virtd --history`) without searching logs. One JSON object per
 * line, appended and synced a batch at a time: a crash can cut only the last line being written, which the
 * reader skips, never an older one. Bounded: the history is the newest `maxEntries` entries. The file
 * may hold up to twice as many lines; when a write would pass that, the newest `maxEntries` are written
 * into a temporary file that replaces it by rename, so a crash leaves the old or the new file, never a
 * mix. Rewriting only every `maxEntries` entries keeps a steady stream of fencing actions to appends
 * (a rewrite per write fell behind the soak's 80 a second, and its large buffers kept the daemon's
 * memory from settling). The file is 0600 (requesters' addresses and VM names), its directory 0700 when
 * created here.
 */
import { dirname } from 'node:path';
import { fsPromises } from '../util/lazy-builtins.js';
import type { Logger } from '../util/log.js';
import { countOf } from '../util/plural.js';

export interface FenceRecord {
  /** When the action finished, ISO 8601 in UTC. */
  time: string;
  op: 'off' | 'on' | 'reboot';
  /** The domain as the requester named it (a name or a UUID). */
  target: string;
  /** The VM's UUID as the backend resolved it before acting; absent when it found none. */
  uuid?: string;
  listener: string;
  requester: string;
  seqno: number;
  /** success, failed or permission-denied. */
  result: string;
  /** The response code sent back (0 success, 1 failure, 3 permission denied). */
  code: number;
  /** Why it failed, when the daemon knows. */
  reason?: string;
  durationMs: number;
}

const OPS = new Set(['off', 'on', 'reboot']);

export class FenceHistory {
  /** Entries in the file; read on the first write. */
  private count: number | undefined;
  /** The file ends in a cut line (a crash while appending): the next line must start on a line of its own. */
  private cutLine = false;
  /** Entries recorded and not yet being written. */
  private waiting: FenceRecord[] = [];
  /** The writer, while it runs: it takes what waits, in batches, until nothing does. */
  private writer: Promise<void> | undefined;

  constructor(
    readonly file: string,
    private readonly maxEntries: number,
    private readonly log: Logger,
  ) {}

  /** Queues one entry; writes happen one after another, in order. Never throws: a failed write is logged. */
  record(entry: FenceRecord): void {
    this.waiting.push(entry);
    this.writer ??= this.writeWaiting();
  }

  /** Resolves once every queued entry is written (or failed), e.g. before the daemon exits. */
  flushed(): Promise<void> {
    return this.writer ?? Promise.resolve();
  }

  /** Entries recorded while a write runs go into the next write together: one append for many. */
  private async writeWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0);
      try {
        await this.write(batch);
      } catch (err) {
        this.log.warn(`fence history ${this.file}: cannot record ${countOf(batch.length, 'entry', 'entries')}: ${(err as Error).message}`);
      }
    }
    this.writer = undefined;
  }

  private async write(entries: FenceRecord[]): Promise<void> {
    if (this.count === undefined) {
      await fsPromises().mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
      const text = await readText(this.file);
      this.count = parseHistory(text).length;
      this.cutLine = text.length > 0 && !text.endsWith('\n');
    }
    if (this.count + entries.length > 2 * this.maxEntries) {
      const kept = [...parseHistory(await readText(this.file)), ...entries].slice(-this.maxEntries);
      await replaceFile(this.file, kept.map(toLine).join(''));
      this.count = kept.length;
      this.cutLine = false;
      return;
    }
    await appendSynced(this.file, (this.cutLine ? '\n' : '') + entries.map(toLine).join(''));
    this.count += entries.length;
    this.cutLine = false;
  }
}

/**
 * The newest `maxEntries` recorded actions, oldest first (the file may hold older ones until its next
 * rewrite); a missing file is an empty history, unreadable lines are skipped.
 */
export async function readFenceHistory(file: string, maxEntries: number): Promise<FenceRecord[]> {
  return parseHistory(await readText(file)).slice(-maxEntries);
}

function parseHistory(text: string): FenceRecord[] {
  const entries: FenceRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line) as Partial<FenceRecord> | null;
      if (value && typeof value.time === 'string' && OPS.has(value.op as string) && typeof value.target === 'string') {
        entries.push(value as FenceRecord);
      }
    } catch {
      // A line cut by a crash; the entries around it are whole.
    }
  }
  return entries;
}

function toLine(entry: FenceRecord): string {
  return `${JSON.stringify(entry)}\n`;
}

async function readText(file: string): Promise<string> {
  try {
    return await fsPromises().readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

async function appendSynced(file: string, text: string): Promise<void> {
  const handle = await fsPromises().open(file, 'a', 0o600);
  try {
    await handle.write(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function replaceFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  const { open, rename } = fsPromises();
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.write(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}
