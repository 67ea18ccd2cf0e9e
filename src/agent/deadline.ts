/**
 * The agent's `timeout` as one deadline for the whole operation: every wait (connect, connect-back,
 * each authentication step, the answer, each host record) is cut to what is left, so a run never
 * outlasts it by more than the final cleanup, whatever the steps' own limits are.
 */
import type { Duplex } from 'node:stream';
import { StreamIOError } from '../util/stream-io.js';

export class Deadline {
  private readonly end: number;

  constructor(timeoutMs: number) {
    this.end = Date.now() + timeoutMs;
  }

  remaining(): number {
    return Math.max(0, this.end - Date.now());
  }

  get expired(): boolean {
    return this.remaining() === 0;
  }

  /** A step's own limit, cut to the time left. */
  cap(stepMs: number): number {
    return Math.min(stepMs, this.remaining());
  }

  /**
   * Destroys `stream` when the deadline passes, so a step that hands one limit to several reads (the
   * challenge-response) cannot run past it. Returns the cancel function.
   */
  guard(stream: Duplex): () => void {
    const timer = setTimeout(() => stream.destroy(), this.remaining());
    return () => clearTimeout(timer);
  }
}

/** A read that failed because its time ran out, directly or through the deadline's guard. */
export function timedOutOn(err: unknown, deadline: Deadline): boolean {
  return (err instanceof StreamIOError && err.code === 'TIMEOUT') || deadline.expired;
}
