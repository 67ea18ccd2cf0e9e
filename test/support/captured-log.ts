/**
 * A logger whose lines a test reads back. Refused input must leave a trace, and some traces are written
 * after the answer the test saw, so `waitFor` polls for them with the suite's one wait bound.
 */
import { createLogger, type Logger } from '../../src/util/log.js';
import { waitUntil } from './processes.js';

export class CapturedLog {
  readonly lines: string[] = [];
  readonly logger: Logger;

  /**
   * `verbosity` as the daemon's -d count: 0 errors, warnings and notices ... 3 trace. `echo` also
   * writes each line to stderr, for watching a test bed while debugging it.
   */
  constructor(verbosity: number, echo = false) {
    this.logger = createLogger(() => verbosity, {
      write: (line) => {
        this.lines.push(line);
        if (echo) process.stderr.write(line);
      },
    });
  }

  matching(pattern: RegExp): string[] {
    return this.lines.filter((l) => pattern.test(l));
  }

  waitFor(pattern: RegExp): Promise<void> {
    return waitUntil(() => this.lines.some((l) => pattern.test(l)), `a log line matching ${pattern}`);
  }
}
