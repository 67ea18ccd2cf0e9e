/** The replay journal: what one process remembered, a new one restores; forgotten and expired entries stay gone. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { setImmediate as turnEnd } from 'node:timers/promises';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { signRequest } from '../../src/auth/request-signature.js';
import type { RequestExecutor } from '../../src/core/executor.js';
import { RequestGate } from '../../src/core/request-gate.js';
import { RequestHistory } from '../../src/core/request-history.js';
import { ReplayJournal } from '../../src/daemon/replay-journal.js';
import { Hash, Request } from '../../src/protocol/constants.js';
import { FenceRequestLayout } from '../../src/protocol/fence-request.js';
import { silentLogger } from '../../src/util/log.js';
import { RateLimitedLog } from '../../src/util/rate-limited-log.js';
import { CapturedLog } from '../support/captured-log.js';
import { signedRequest } from '../support/raw-client.js';

const dir = mkdtempSync(join(tmpdir(), 'fvd-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A request remembered and run, as the gate leaves one that executed (in the memory's bound). */
function ran(journal: ReplayJournal, fingerprint: string, lasting: boolean): void {
  journal.remember(fingerprint, lasting);
  journal.ran(fingerprint, lasting);
}

it('restores what was remembered and not forgotten, and drops what expired', () => {
  const path = join(dir, 'fence_virtd.replay');
  const first = ReplayJournal.open(path, 60_000, 100, silentLogger);
  ran(first, '\u0000\u00ffkept', true);
  first.remember('forgotten', true);
  first.forget('forgotten', true);
  first.flush();
  writeFileSync(path, `${readFileSync(path, 'utf8')}+${Date.now() - 1} 65787069726564\n`); // 'expired', past its time
  const second = ReplayJournal.open(path, 60_000, 100, silentLogger);
  assert.equal(second.has('\u0000\u00ffkept'), true);
  assert.equal(second.has('forgotten'), false);
  assert.equal(second.has('expired'), false);
  assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 1, 'compacted at open');
});

it('keeps requests that change nothing in memory only, also through a rewrite of the file', () => {
  const path = join(dir, 'read-only.replay');
  const lines = () => readFileSync(path, 'utf8').split('\n').filter(Boolean);
  // Capacity 10: the memory holds the 10 newest entries, and the file is rewritten after about 1,020 lines.
  const first = ReplayJournal.open(path, 60_000, 10, silentLogger);
  ran(first, 'a status', false);
  ran(first, 'an off', true);
  first.remember('a status that failed', false);
  first.forget('a status that failed', false);
  first.flush();
  assert.equal(first.has('a status'), true, 'refused while this process lives');
  assert.equal(first.has('a status that failed'), false);
  assert.equal(lines().length, 1, 'only the off is written, and nothing for what was not');
  ran(first, 'a status in memory at the rewrite', false);
  // Offs whose exchange failed, each a line when remembered and one when forgotten: the rewrite is due
  // at the 1,021st line, the last of these.
  for (let i = 0; i < 510; i++) {
    first.remember(`failed off ${i}`, true);
    first.forget(`failed off ${i}`, true);
  }
  assert.equal(lines().length, 1, 'rewritten here, with the off that ran');
  assert.equal(first.has('a status in memory at the rewrite'), true);
  for (let i = 1_018; i < 1_023; i++) ran(first, `off ${i}`, true);
  ran(first, 'a status after the rewrite', false);
  first.close();
  const written = lines().map((line) => Buffer.from(line.slice(line.indexOf(' ') + 1), 'hex').toString('latin1'));
  assert.ok(written.length < 20, `rewritten with the offs then in memory (${written.length} lines)`);
  assert.deepEqual(
    written.filter((m) => !m.startsWith('off ') && m !== 'an off'),
    [],
    'a status in memory at the rewrite is not written',
  );
  const second = ReplayJournal.open(path, 60_000, 10, silentLogger);
  assert.equal(second.has('off 1022'), true, 'the newest off is restored');
  for (const status of ['a status', 'a status in memory at the rewrite', 'a status after the rewrite']) {
    assert.equal(second.has(status), false, `${status}: not restored`);
  }
  second.close();
});

it('opens a clean journal as it is, and rewrites one that ends in part of a line', () => {
  const path = join(dir, 'clean.replay');
  const until = Date.now() + 60_000;
  writeFileSync(path, `+${until} 6f6e65\n+${until} 74776f\n`);
  const inode = statSync(path).ino;
  const clean = ReplayJournal.open(path, 60_000, 100, silentLogger);
  assert.equal(clean.size, 2);
  assert.equal(statSync(path).ino, inode, 'not replaced');
  ran(clean, 'three', true);
  clean.close();
  assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 3, 'appended to');

  // A process killed in the middle of a write left `+UNTIL 6f` without its end of line.
  writeFileSync(path, `+${until} 6f6e65\n+${until} 6f`);
  const torn = ReplayJournal.open(path, 60_000, 100, silentLogger);
  ran(torn, 'four', true);
  torn.close();
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 3, 'the torn line rewritten as its own line, the new one after it');
  const reopened = ReplayJournal.open(path, 60_000, 100, silentLogger);
  assert.equal(reopened.has('one'), true);
  assert.equal(reopened.has('four'), true);
});

// The rewrite's temporary file name taken by a directory: the file can be appended to, not replaced.
function unreplaceable(name: string): string {
  const path = join(dir, name);
  mkdirSync(`${path}.new`);
  return path;
}

it('warns at start when a torn journal cannot be rewritten, and appends after the torn part, not onto it', () => {
  const path = unreplaceable('torn-stuck.replay');
  const until = Date.now() + 60_000;
  writeFileSync(path, `+${until} 6f6e65\n+${until} 6f`);
  const log = new CapturedLog(0);
  const journal = ReplayJournal.open(path, 60_000, 100, log.logger);
  assert.equal(log.matching(/cannot write the replay journal/).length, 1, 'reported at start');
  ran(journal, 'four', true);
  journal.close();
  rmSync(`${path}.new`, { recursive: true });
  const reopened = ReplayJournal.open(path, 60_000, 100, silentLogger);
  assert.equal(reopened.has('one'), true);
  assert.equal(reopened.has('four'), true, 'the line appended after the torn one is whole');
  reopened.close();
});

it('keeps appending when the file cannot be replaced as it outgrows its live entries', () => {
  const path = unreplaceable('grown-stuck.replay');
  const log = new CapturedLog(0);
  // One entry kept: the file is replaced once it holds 2 * 1 + 1,000 lines.
  const journal = ReplayJournal.open(path, 60_000, 1, log.logger);
  for (let i = 0; i < 1_100; i++) ran(journal, `request ${i}`, true);
  journal.close();
  assert.equal(log.matching(/cannot write the replay journal/).length, 1, 'reported when the rewrite failed');
  rmSync(`${path}.new`, { recursive: true });
  const reopened = ReplayJournal.open(path, 60_000, 1, silentLogger);
  assert.equal(reopened.has('request 1099'), true, 'the changes after the failed rewrite are in the file');
  reopened.close();
});

it('after a failed rewrite, tries again only once the file has outgrown the live entries again', () => {
  const path = unreplaceable('retry.replay');
  const lines = () => readFileSync(path, 'utf8').split('\n').filter(Boolean).length;
  // One entry kept: the rewrite is due at the 1,003rd line, and fails.
  const journal = ReplayJournal.open(path, 60_000, 1, silentLogger);
  for (let i = 0; i < 1_100; i++) ran(journal, `request ${i}`, true);
  journal.flush();
  rmSync(`${path}.new`, { recursive: true });
  // The lines forgotten or pushed out of the memory no longer count against the next attempt: it comes
  // as many lines later, not at every line from now on (each a rewrite of the whole memory).
  ran(journal, 'one more', true);
  journal.flush();
  assert.equal(lines(), 1_101, 'appended, not rewritten');
  for (let i = 0; i < 1_000; i++) ran(journal, `later ${i}`, true);
  journal.close();
  assert.ok(lines() < 100, `rewritten once due again (${lines()} lines)`);
});

it('ignores damaged lines, and keeps working in memory when the file cannot be written', () => {
  const path = join(dir, 'damaged.replay');
  writeFileSync(path, `garbage\n+${Date.now() + 60_000} 6f6b\n+12x zz\n`);
  const journal = ReplayJournal.open(path, 60_000, 100, silentLogger);
  assert.equal(journal.has('ok'), true);
  assert.equal(journal.size, 1);
  const unwritable = ReplayJournal.open(join(dir, 'no-such-dir', 'x.replay'), 60_000, 100, silentLogger);
  ran(unwritable, 'still refused', true);
  assert.equal(unwritable.has('still refused'), true);
});

it('keeps its file open between writes and closes it when the daemon stops, writing nothing after', () => {
  const path = join(dir, 'open.replay');
  const holders = () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false; // the directory's own descriptor, closed by the time it is read
      }
    }).length;
  const journal = ReplayJournal.open(path, 60_000, 100, silentLogger);
  ran(journal, 'one', true);
  journal.flush();
  ran(journal, 'two', true);
  journal.flush();
  assert.equal(holders(), 1, 'one descriptor for every append');
  journal.close();
  assert.equal(holders(), 0, 'closed');
  ran(journal, 'after the stop', true);
  assert.equal(journal.has('after the stop'), true, 'the memory still answers');
  assert.equal(holders(), 0, 'not opened again');
  assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 2);
});

it('writes a change by the end of the event-loop turn, and before any fencing action runs', async () => {
  const path = join(dir, 'pending.replay');
  const journal = ReplayJournal.open(path, 60_000, 100, silentLogger);
  const lines = () => readFileSync(path, 'utf8').split('\n').filter(Boolean);
  ran(journal, 'later', true);
  assert.deepEqual(lines(), [], 'not yet: the TCP challenge goes out first');
  await turnEnd();
  assert.equal(lines().length, 1, 'written at the end of the turn');
  let seenByRequest: string[] = [];
  const inner: RequestExecutor = {
    execute: () => {
      seenByRequest = lines();
      return Promise.resolve({ kind: 'code', code: 0 });
    },
  };
  ran(journal, 'admitted', true);
  const who = { listener: 'tcp', display: '127.0.0.1', addresses: ['127.0.0.1'], domains: [] };
  await journal.beforeExecuting(inner).execute({ request: Request.STATUS, domain: 'vm', seqno: 1 }, who);
  assert.equal(seenByRequest.length, 1, 'a status changes nothing: its line may follow it');
  await journal.beforeExecuting(inner).execute({ request: Request.OFF, domain: 'vm', seqno: 2 }, who);
  assert.equal(seenByRequest.length, 2);
  assert.match(seenByRequest[1] ?? '', / 61646d6974746564$/, "the admitted request's fingerprint was in the file when the action ran");
  journal.close();
});

it('through the gate: keeps across a restart every fencing action, and no other request (unknown codes neither: they change nothing)', () => {
  const path = join(dir, 'gate.replay');
  const key = new AuthKey(Buffer.from('journal gate key'));
  const settings = { key: () => key, minimumHash: Hash.SHA256, stream: true } as const;
  const who = { listener: 'tcp', display: '127.0.0.1', addresses: ['127.0.0.1'], domains: [] };
  const gateOver = (memory: ReplayJournal) =>
    new RequestGate(
      new RequestHistory({ windowMs: 10_000, maxPerRequester: 100, maxEntries: 100 }),
      memory,
      () => true,
      new RateLimitedLog(() => undefined),
    );
  const codes = [Request.OFF, Request.REBOOT, Request.ON, Request.STATUS, Request.DEVSTATUS, Request.HOSTLIST, Request.METADATA, 42];
  // The encoder knows only the defined codes: an unknown one is written into a signed off and signed again.
  const sent = codes.map((request) => {
    const raw = signedRequest({ request: request === 42 ? Request.OFF : request, domain: 'vm' }, key);
    raw[FenceRequestLayout.request] = request;
    signRequest(raw, key);
    return raw;
  });
  const failed = signedRequest({ request: Request.OFF, domain: 'vm' }, key);
  const first = ReplayJournal.open(path, 60_000, 100, silentLogger);
  const gate = gateOver(first);
  for (const raw of sent) gate.admit(gate.verify(raw, 'x', settings, silentLogger)!, who, raw, silentLogger)!.finish(true);
  // The challenge-response failed: the retransmission must still be served after the restart.
  gate.admit(gate.verify(failed, 'x', settings, silentLogger)!, who, failed, silentLogger)!.finish(false);
  first.close();
  const second = gateOver(ReplayJournal.open(path, 60_000, 100, silentLogger));
  const refused = codes.filter((_, i) => {
    const raw = sent[i]!;
    return second.admit(second.verify(raw, 'x', settings, silentLogger)!, who, raw, silentLogger) === undefined;
  });
  assert.deepEqual(refused, [Request.OFF, Request.REBOOT, Request.ON]);
  assert.ok(second.admit(second.verify(failed, 'x', settings, silentLogger)!, who, failed, silentLogger), 'the failed off runs');
});

it('restores the newest actions a smaller max_replay_entries holds, and keeps them through a flood of statuses', () => {
  const path = join(dir, 'smaller.replay');
  const until = Date.now() + 60_000;
  // 'one', 'two', 'three', written by a daemon that remembered more.
  writeFileSync(path, `+${until} 6f6e65\n+${until + 1} 74776f\n+${until + 2} 7468726565\n`);
  const journal = ReplayJournal.open(path, 60_000, 2, silentLogger);
  assert.deepEqual([journal.has('one'), journal.has('two'), journal.has('three')], [false, true, true]);
  for (let i = 0; i < 50; i++) ran(journal, `status ${i}`, false);
  assert.deepEqual([journal.has('two'), journal.has('three'), journal.has('status 49')], [true, true, false]);
  journal.close();
});

it('keeps an action still running through a rewrite of the file: a crash mid-action then refuses its retransmission', () => {
  const path = join(dir, 'running.replay');
  // One entry kept: the rewrite is due at the 1,003rd line.
  const journal = ReplayJournal.open(path, 60_000, 1, silentLogger);
  journal.remember('an off still running', true);
  for (let i = 0; i < 501; i++) {
    journal.remember(`failed off ${i}`, true);
    journal.forget(`failed off ${i}`, true);
  }
  journal.flush();
  assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 1, 'rewritten');
  // Killed here, before the off finished: the next daemon restores it.
  const next = ReplayJournal.open(path, 60_000, 1, silentLogger);
  assert.equal(next.has('an off still running'), true);
  next.close();
  journal.close();
});
