import type { Answer, RequestExecutor } from '../core/executor.js';
import type { RequestToExecute } from '../core/request-gate.js';
import type { Requester } from '../core/requester.js';
import { Request, Response } from '../protocol/constants.js';
import type { FenceHistory, FenceRecord } from './fence-history.js';
import { monotonicMs } from '../util/clock.js';

const FENCE_OPS = new Map<number, FenceRecord['op']>([
  [Request.OFF, 'off'],
  [Request.ON, 'on'],
  [Request.REBOOT, 'reboot'],
]);

/**
 * Sits between the listeners and the Dispatcher: counts the requests served (for the daemon's status
 * line) and records each fencing action, with its outcome, in the fence history. It answers exactly
 * what the Dispatcher answered; recording happens after the answer and never delays or changes it.
 */
export class RecordingExecutor implements RequestExecutor {
  private served = 0;
  private fenced = 0;
  /** Entries of fencing actions under way, so shutdown can wait for them. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly inner: RequestExecutor,
    private readonly history: FenceHistory | undefined,
  ) {}

  /** Requests answered and fencing actions among them since the start. */
  get counts(): { served: number; fenced: number } {
    return { served: this.served, fenced: this.fenced };
  }

  async execute(req: RequestToExecute, who: Requester): Promise<Answer> {
    const op = FENCE_OPS.get(req.request);
    if (op === undefined) {
      const answer = await this.inner.execute(req, who);
      this.served++;
      return answer;
    }
    const started = monotonicMs();
    const executed = this.inner.execute(req, who);
    const recording = executed.then((answer) => this.history?.record(fenceRecord(op, req, who, answer, monotonicMs() - started)));
    // Registered before anything resolves, so a shutdown that waits for the Dispatcher also waits for this entry.
    this.pending.add(recording);
    // A failure here is the action's own, which the caller receives below.
    void recording.catch(() => undefined).finally(() => this.pending.delete(recording));
    const answer = await executed;
    this.served++;
    this.fenced++;
    return answer;
  }

  /** Resolves once the actions under way have finished and their entries are written. */
  async flushed(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.history?.flushed();
  }
}

function fenceRecord(op: FenceRecord['op'], req: RequestToExecute, who: Requester, answer: Answer, ms: number): FenceRecord {
  const { code } = answer;
  const result = code === Response.SUCCESS ? 'success' : code === Response.PERM ? 'permission-denied' : 'failed';
  const uuid = answer.kind === 'code' ? answer.uuid : undefined;
  const reason =
    code === Response.PERM
      ? 'the permission groups do not allow this requester to fence this domain'
      : code !== Response.SUCCESS && answer.kind === 'code'
        ? answer.reason
        : undefined;
  return {
    time: new Date().toISOString(),
    op,
    target: req.domain,
    ...(uuid === undefined ? {} : { uuid }),
    listener: who.listener,
    requester: who.display,
    seqno: req.seqno,
    result,
    code,
    ...(reason === undefined ? {} : { reason }),
    durationMs: Math.round(ms * 10) / 10,
  };
}
