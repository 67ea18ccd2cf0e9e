import type { FenceBackend } from '../backends/backend.js';
import type { Answer, RequestExecutor } from '../core/executor.js';
import type { RequestToExecute } from '../core/request-gate.js';
import type { Requester } from '../core/requester.js';
import { Request, Response } from '../protocol/constants.js';
import type { FenceHistory, FenceRecord } from './fence-history.js';

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
  /** Fencing actions under way, so shutdown can wait for their entries. */
  private readonly pending = new Set<Promise<Answer>>();

  constructor(
    private readonly inner: RequestExecutor,
    private readonly backend: Pick<FenceBackend, 'resolve'>,
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
    const running = this.fence(op, req, who);
    this.pending.add(running);
    try {
      return await running;
    } finally {
      this.pending.delete(running);
    }
  }

  /** Resolves once the actions under way have finished and their entries are written. */
  async flushed(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    await this.history?.flushed();
  }

  private async fence(op: FenceRecord['op'], req: RequestToExecute, who: Requester): Promise<Answer> {
    const started = performance.now();
    // Looked up beside the request, not before it, so fencing waits for nothing extra; the lookup is
    // sent first, so it sees the VM as it was when the action started.
    const [uuid, answer] = await Promise.all([this.backend.resolve(req.domain), this.inner.execute(req, who)]);
    this.served++;
    this.fenced++;
    this.history?.record(fenceRecord(op, req, who, uuid, answer.code, performance.now() - started));
    return answer;
  }
}

function fenceRecord(
  op: FenceRecord['op'],
  req: RequestToExecute,
  who: Requester,
  uuid: string | undefined,
  code: number,
  ms: number,
): FenceRecord {
  const result = code === Response.SUCCESS ? 'success' : code === Response.PERM ? 'permission-denied' : 'failed';
  const reason =
    code === Response.PERM
      ? 'the permission groups do not allow this requester to fence this domain'
      : code !== Response.SUCCESS && uuid === undefined
        ? 'the backend found no such domain (or could not reach libvirt)'
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
