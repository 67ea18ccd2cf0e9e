import { countOf } from './plural.js';

interface Open {
  repeats: number;
  timer: NodeJS.Timeout;
}

/**
 * The same refusal from the same source, repeated (a guest with a wrong key retransmits its request
 * every couple of seconds for the whole timeout), becomes one line at once and, when the window closes,
 * one line with the count of the repeats. Sources are bounded: past `maxSources` open windows, a line
 * goes to `overflow` (a rate-limited log) instead.
 */
export class RepeatCoalescer {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly overflow: (line: string) => void,
    private readonly windowMs = 30_000,
    private readonly maxSources = 4096,
  ) {}

  /** `key` names the source and the kind of refusal; `write` is where this line and its summary go. */
  report(key: string, line: string, write: (line: string) => void): void {
    const seen = this.open.get(key);
    if (seen) {
      seen.repeats++;
      return;
    }
    if (this.open.size >= this.maxSources) return this.overflow(line);
    write(line);
    const entry: Open = {
      repeats: 0,
      timer: setTimeout(() => {
        this.open.delete(key);
        if (entry.repeats > 0) {
          write(`${line} (${countOf(entry.repeats, 'more time')} in the last ${this.windowMs / 1000} s)`);
        }
      }, this.windowMs).unref(),
    };
    this.open.set(key, entry);
  }
}
