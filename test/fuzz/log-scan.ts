/**
 * Reads the daemon's log as it grows: the fencing actions it performed (audit lines of off, on and
 * reboot that were not refused), its error lines, and any line that does not start with a level, which
 * would mean a peer's bytes began a line of their own.
 */
const LEVEL = /^(error|warn|notice|info|debug|trace): /;
// Anchored at the end: the operation and result follow the quoted target, so a domain name that
// contains " op=off" cannot pass for one.
const AUDIT =
  /audit: listener=\S+ requester=.* target=".*" op=(\w+) seqno=\d+ result=(\S+)(?: reason=".*")? duration_ms=[\d.]+ protocol=[12]$/;
const FENCING_OPS = new Set(['off', 'on', 'reboot']);

export class LogScan {
  /** Fencing audit lines whose result was not a refusal. */
  readonly actions: string[] = [];
  /** Error lines by their text with numbers blanked, with counts. */
  readonly errors = new Map<string, number>();
  readonly malformed: string[] = [];
  private partial = '';

  /** Takes the next piece of the log (any split; a line is read once complete). */
  feed(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() as string;
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (line === '') return;
    if (!LEVEL.test(line)) {
      this.malformed.push(line);
      return;
    }
    if (line.startsWith('error: ')) {
      const shape = line.replace(/\d+/g, 'N');
      this.errors.set(shape, (this.errors.get(shape) ?? 0) + 1);
    }
    const audit = AUDIT.exec(line);
    if (audit && FENCING_OPS.has(audit[1] as string) && audit[2] !== 'permission-denied') this.actions.push(line);
  }
}

/** Follows a log that only grows (a process's output text, or a list of captured lines) through a LogScan. */
export class LogFollower {
  readonly scan = new LogScan();
  private offset = 0;

  constructor(private readonly source: () => string | readonly string[]) {}

  /** Reads what was added since the last call. */
  update(): LogScan {
    const all = this.source();
    if (typeof all === 'string') this.scan.feed(all.slice(this.offset));
    else for (let i = this.offset; i < all.length; i++) this.scan.feed(all[i] as string);
    this.offset = all.length;
    return this.scan;
  }
}
