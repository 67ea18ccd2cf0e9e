/**
 * What one fault case survived, counted as it runs: faults injected, requests made, wrong answers, false
 * successes (success answered for an action that did not happen), crashes, and the time from the end of
 * the fault to the first correct answer. `npm run reliability` collects the records into
 * bench/results/reliability.md; under plain `node --test` they are only checked by the test.
 */
import { appendFileSync } from 'node:fs';

/** Where `scripts/reliability.ts` wants the records (JSON lines); unset outside that run. */
export const RESULTS_ENV = 'FVD_RELIABILITY_RESULTS';

export interface CaseRecord {
  name: string;
  faults: number;
  requests: number;
  wrong: number;
  falseSuccesses: number;
  crashes: number;
  /** Fault over to first correct answer, ms; null when the case has no recovery to time. */
  recoveryMs: number | null;
  /** Anything else worth a column in the report (p99 event-loop delay, RSS growth, ...). */
  notes?: string;
}

export class CaseTally {
  faults = 0;
  requests = 0;
  wrong = 0;
  falseSuccesses = 0;
  crashes = 0;
  recoveryMs: number | null = null;
  notes: string | undefined;

  constructor(readonly name: string) {}

  /** Counts one answer, right or wrong; a wrong success for an action that did not happen is also counted as false. */
  answer(right: boolean, falseSuccess = false): boolean {
    this.requests++;
    if (!right) this.wrong++;
    if (falseSuccess) this.falseSuccesses++;
    return right;
  }

  /** Counts a crash when the daemon is no longer running though nobody stopped it. */
  stillRunning(running: boolean): boolean {
    if (!running) this.crashes++;
    return running;
  }

  /** Times `recover` (polling for the first correct answer) as the recovery time. */
  async recovery<T>(recover: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await recover();
    this.recoveryMs = Math.max(this.recoveryMs ?? 0, performance.now() - started);
    return result;
  }

  /** Appends the record for the report, when `npm run reliability` asked for one. */
  record(): CaseRecord {
    const record: CaseRecord = {
      name: this.name,
      faults: this.faults,
      requests: this.requests,
      wrong: this.wrong,
      falseSuccesses: this.falseSuccesses,
      crashes: this.crashes,
      recoveryMs: this.recoveryMs === null ? null : Math.round(this.recoveryMs),
      ...(this.notes === undefined ? {} : { notes: this.notes }),
    };
    const file = process.env[RESULTS_ENV];
    if (file) appendFileSync(file, `${JSON.stringify(record)}\n`);
    return record;
  }
}
