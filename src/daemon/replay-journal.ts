import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import type { RequestExecutor } from '../core/executor.js';
import { ReplayMemory } from '../core/replay-memory.js';
import { FENCING_ACTIONS } from '../protocol/constants.js';
import type { Logger } from '../util/log.js';

/**
 * The replay memory, its lasting entries kept in a file as well, so they survive the daemon being killed
 * and started again (systemd's Restart=on-failure): an agent that retransmits a request the killed
 * daemon had begun must not get it executed a second time. Each change is appended (synchronously,
 * before the request runs: the process may die at any moment after); the file is rewritten compactly at
 * start when it holds lines that no longer count or a torn end, and whenever the appended lines outgrow
 * the live entries. Only fencing actions are lasting; every other request stays in memory only.
 *
 * Lines: `+UNTIL HEX` remembers a fingerprint until UNTIL (ms since the epoch), `-HEX` forgets it.
 * The file stays open for appending between compactions: one write() per change instead of an
 * open, write and close (every signed fencing action passes here).
 *
 * A change is written at the end of the event-loop turn that made it (a request is admitted before its
 * challenge-response, so on TCP the write falls after our challenge went out, while the client works on
 * its answer, instead of before it: a write() to a file system with a journal costs tens of µs), and in
 * any case before a fencing action runs: `beforeExecuting` writes what is still pending.
 */
export class ReplayJournal extends ReplayMemory {
  private lines = 0;
  private failed = false;
  /** After close(): the memory still answers, the file is left as it is. */
  private closed = false;
  /** The journal opened for appending, once something is appended; closed when compact() replaces the file. */
  private fd: number | undefined;
  /** Lines not yet written: written by the end of this event-loop turn, or by flush() before that. */
  private pending = '';
  private readonly flushLater = (): void => this.flush();
  /**
   * The lasting members, which a rewrite keeps; those expired or pushed out of the memory meanwhile stay
   * until the next rewrite attempt, which drops them even when it fails: this set is no larger than the
   * memory plus the lines a rewrite waits for.
   */
  private inFile = new Set<string>();

  private constructor(
    private readonly path: string,
    private readonly keepMs: number,
    private readonly capacity: number,
    private readonly log: Logger,
  ) {
    super(keepMs, capacity);
  }

  /** The journal at `path`, with what it held restored (a missing or damaged file is an empty memory). */
  static open(path: string, lifetimeMs: number, maxSize: number, log: Logger): ReplayJournal {
    const journal = new ReplayJournal(path, lifetimeMs, maxSize, log);
    // Rewritten only when it holds lines that no longer count (forgotten, expired, damaged) or ends in
    // the part of a line a killed process left, which the next line appended would join. Otherwise
    // opened for appending: a restart with a clean journal writes nothing (on a disk, replacing the
    // file by a rename makes the file system write it out at once), and a journal that cannot be
    // written is still reported at start.
    const found = journal.restore();
    if (found === 'clean') journal.openFile();
    else if (!journal.compact() && found === 'torn') {
      // Not rewritten: the next line appended must not join the part of a line left at its end.
      journal.pending = '\n';
      journal.flush();
    }
    return journal;
  }

  override remember(fingerprint: string, lasting: boolean): void {
    super.remember(fingerprint, lasting);
    if (!lasting) return;
    this.inFile.add(fingerprint);
    this.append(addedLine(fingerprint, Date.now() + this.keepMs));
  }

  override forget(fingerprint: string, lasting: boolean): void {
    super.forget(fingerprint, lasting);
    if (!lasting) return;
    this.inFile.delete(fingerprint);
    this.append(`-${hexOf(fingerprint)}`);
  }

  /**
   * Restores what the file holds; answers whether the file holds only live lines ('clean'), or also lines
   * that no longer count ('dead'), or ends in the part of a line ('torn'): the last two are rewritten.
   */
  private restore(): 'clean' | 'dead' | 'torn' {
    let text: string;
    try {
      text = readFileSync(this.path, 'latin1');
    } catch {
      return 'clean'; // first start, or the file was removed: nothing to restore
    }
    const now = Date.now();
    const lines = text.split('\n').filter((line) => line !== '');
    for (const line of lines) {
      const added = /^\+(\d+) ([0-9a-f]+)$/.exec(line);
      const removed = /^-([0-9a-f]+)$/.exec(line);
      if (added && Number(added[1]) > now) {
        const member = memberOf(added[2] as string);
        this.lasting.ran.add(member, Number(added[1]));
        this.inFile.add(member);
      } else if (removed) this.lasting.ran.delete(memberOf(removed[1] as string));
    }
    // A file written under a larger max_replay_entries keeps its newest entries.
    this.trim();
    this.lines = lines.length;
    this.log.info(`restored ${this.lasting.ran.size} replay fingerprint(s) from ${this.path}`);
    if (text !== '' && !text.endsWith('\n')) return 'torn';
    return lines.length > this.lasting.ran.size ? 'dead' : 'clean';
  }

  /** Replaces the file by the live lasting entries; answers whether it could. */
  private compact(): boolean {
    const live = this.lastingEntries().filter(([m]) => this.inFile.has(m));
    this.inFile = new Set(live.map(([m]) => m));
    const text = live.map(([m, until]) => `${addedLine(m, until)}\n`).join('');
    try {
      writeFileSync(`${this.path}.new`, text, { mode: 0o600 });
      renameSync(`${this.path}.new`, this.path);
      this.lines = live.length;
      // The memory written holds what the pending lines said.
      this.pending = '';
      this.closeFile();
      return true;
    } catch (err) {
      this.warnOnce(err as Error);
      return false;
    }
  }

  /** Closes the file (the daemon stops); a session still finishing may use the memory, not the file. */
  close(): void {
    this.flush();
    this.closed = true;
    this.closeFile();
  }

  /** Writes the pending lines now: before a request runs, its fingerprint must be in the file. */
  flush(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    try {
      this.fd ??= openSync(this.path, 'a', 0o600);
      writeSync(this.fd, text);
    } catch (err) {
      this.warnOnce(err as Error);
    }
  }

  private openFile(): void {
    try {
      this.fd = openSync(this.path, 'a', 0o600);
    } catch (err) {
      this.warnOnce(err as Error);
    }
  }

  /**
   * `inner`, with the pending lines written before every fencing action it executes: an action runs at
   * most once across a crash. Any other request changes nothing and has no line of its own.
   */
  beforeExecuting(inner: RequestExecutor): RequestExecutor {
    return {
      execute: (req, who) => {
        if (FENCING_ACTIONS.has(req.request)) this.flush();
        return inner.execute(req, who);
      },
    };
  }

  private append(line: string): void {
    if (this.closed) return;
    if (++this.lines > 2 * this.capacity + 1_000) {
      if (this.compact()) return;
      // Not replaced (a directory not writable, a full disk): the line is still appended, and the next
      // attempt comes as many lines after the live lasting entries (not after all the file holds: that
      // would retry, rewriting the whole memory, at every line).
      this.lines = this.inFile.size;
    }
    if (this.pending === '') setImmediate(this.flushLater);
    this.pending += `${line}\n`;
  }

  private closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** The memory still works in this process; only its survival of a restart is lost. */
  private warnOnce(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.log.error(`cannot write the replay journal ${this.path} (replays are still refused until a restart): ${err.message}`);
  }
}

/** A fingerprint (latin1 text, one character per byte) as the hex a line holds, and back. */
const hexOf = (member: string): string => Buffer.from(member, 'latin1').toString('hex');
const memberOf = (hex: string): string => Buffer.from(hex, 'hex').toString('latin1');
/** The line that remembers `member` until `until`, as appended and as a rewrite writes it. */
const addedLine = (member: string, until: number): string => `+${until} ${hexOf(member)}`;
