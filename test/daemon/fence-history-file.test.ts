/**
 * The fence history file on its own (src/daemon/fence-history.ts), in a temp directory: entries written
 * in the order they were recorded, the bound kept (the file rewritten at twice it), foreign or cut lines skipped, a write that
 * cannot happen logged instead of thrown.
 */
import assert from 'node:assert/strict';
import type * as FsPromises from 'node:fs/promises';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { after, before, describe, it, mock } from 'node:test';
import { FenceHistory, readFenceHistory, type FenceRecord } from '../../src/daemon/fence-history.js';
import { historyTable } from '../../src/daemon/history-report.js';
import { CapturedLog } from '../support/captured-log.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-history-file-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const entry = (n: number, extra: Partial<FenceRecord> = {}): FenceRecord => ({
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  op: 'off',
  target: `vm-${n}`,
  listener: 'tcp',
  requester: '127.0.0.1',
  seqno: n,
  result: 'success',
  code: 0,
  durationMs: 1.5,
  ...extra,
});

describe('fence history file', () => {
  it('keeps the newest entries up to the bound, in the order recorded, in a 0600 file rewritten only at twice the bound', async () => {
    const file = join(dir, 'bounded', 'history.jsonl');
    const lines = async () => (await readFile(file, 'utf8')).split('\n').filter(Boolean).length;
    const history = new FenceHistory(file, 5, new CapturedLog(0).logger);
    for (let n = 1; n <= 10; n++) history.record(entry(n));
    await history.flushed();
    assert.equal(await lines(), 10, 'appended up to twice the bound');
    assert.deepEqual(
      (await readFenceHistory(file, 5)).map((e) => e.target),
      ['vm-6', 'vm-7', 'vm-8', 'vm-9', 'vm-10'],
    );
    history.record(entry(11));
    await history.flushed();
    assert.equal(await lines(), 5, 'past twice the bound the file is rewritten with the newest 5');
    assert.deepEqual(
      (await readFenceHistory(file, 5)).map((e) => e.target),
      ['vm-7', 'vm-8', 'vm-9', 'vm-10', 'vm-11'],
    );
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    // A second daemon process (a restart) continues the same file and the same bound.
    const again = new FenceHistory(file, 5, new CapturedLog(0).logger);
    for (let n = 12; n <= 17; n++) again.record(entry(n));
    await again.flushed();
    assert.equal(await lines(), 5, 'the count of lines carried over the restart');
    assert.deepEqual(
      (await readFenceHistory(file, 5)).map((e) => e.target),
      ['vm-13', 'vm-14', 'vm-15', 'vm-16', 'vm-17'],
    );
  });

  it('keeps up with entries recorded faster than they can be written one by one, in order', async () => {
    // The soak's 80 fencing actions a second once piled up in memory (a rewrite per entry) and held up shutdown.
    const file = join(dir, 'busy.jsonl');
    const history = new FenceHistory(file, 1_000, new CapturedLog(0).logger);
    for (let n = 1; n <= 1_000; n++) history.record(entry(n));
    await history.flushed();
    // The file opens FenceHistory makes (one per append or rewrite), counted as they pass through to the
    // real node:fs/promises: the module object it loads, not this file's ESM view of it.
    const open = mock.method(createRequire(import.meta.url)('node:fs/promises') as typeof FsPromises, 'open');
    for (let n = 1_001; n <= 3_000; n++) history.record(entry(n));
    await history.flushed();
    const opened = open.mock.callCount();
    open.mock.restore();
    const kept = (await readFenceHistory(file, 1_000)).map((e) => e.seqno);
    assert.deepEqual(
      kept,
      Array.from({ length: 1_000 }, (_, i) => 2_001 + i),
    );
    // Two batches, not 2,000 entries one by one: the first entry, then those recorded while it was written
    // (one rewrite).
    assert.ok(opened >= 1 && opened <= 2, `2,000 entries into a full file took ${opened} writes (file opens)`);
  });

  it('skips lines that are not entries and starts a new line after a cut one', async () => {
    const file = join(dir, 'damaged.jsonl');
    await writeFile(file, `${JSON.stringify(entry(1))}\nnot json\n{"time":"x","op":"shutdown","target":"a"}\n{"time":"2026-01-01T00:00:0`);
    const history = new FenceHistory(file, 100, new CapturedLog(0).logger);
    history.record(entry(2));
    await history.flushed();
    assert.deepEqual(
      (await readFenceHistory(file, 100)).map((e) => e.target),
      ['vm-1', 'vm-2'],
    );
  });

  it('logs a write that cannot happen and never throws', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, '');
    const captured = new CapturedLog(0);
    const history = new FenceHistory(join(blocker, 'history.jsonl'), 10, captured.logger);
    assert.doesNotThrow(() => history.record(entry(1)));
    await history.flushed();
    assert.equal(captured.matching(/^warn: fence history .*cannot record 1 entry: .*(ENOTDIR|EEXIST)/).length, 1, captured.lines.join(''));
  });

  it('reads a missing file as an empty history; the table escapes what requesters sent', async () => {
    assert.deepEqual(await readFenceHistory(join(dir, 'absent.jsonl'), 10), []);
    const table = historyTable([entry(1, { target: 'evil\nname', result: 'failed', code: 1, reason: 'why' })]);
    const [heading, row, ...rest] = table.trimEnd().split('\n');
    assert.match(heading as string, /^TIME \(UTC\)\s+OP\s+TARGET/);
    assert.match(row as string, /^2026-01-01 00:00:01\s+off\s+evil\\x0aname\s+-\s+127\.0\.0\.1\s+tcp\s+failed\s+2\s+why$/);
    assert.deepEqual(rest, []);
  });
});
