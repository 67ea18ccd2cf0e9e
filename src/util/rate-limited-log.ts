import { monotonicMs } from './clock.js';
/**
 * One line per kind of event per interval, however often it happens: a flood of refused connections or
 * datagrams must not become a flood of log lines (disk, journald, the CPU the daemon needs to serve).
 * The first event of a kind is logged at once; later ones within the interval are counted and the count
 * goes with the next line.
 */
export class RateLimitedLog {
  private readonly kinds = new Map<string, { last: number; suppressed: number }>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = monotonicMs,
  ) {}

  /** `kind` groups events (a fixed word, not peer data, so the table stays small). */
  report(kind: string, line: string): void {
    const t = this.now();
    const seen = this.kinds.get(kind);
    if (seen && t - seen.last < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const more = seen?.suppressed
      ? ` (${seen.suppressed} more like it not logged in the last ${Math.round(this.intervalMs / 1000)} s)`
      : '';
    this.kinds.set(kind, { last: t, suppressed: 0 });
    this.write(line + more);
  }
}
