import type { FenceBackend } from '../backends/backend.js';
import type { Answer, RequestExecutor } from '../core/executor.js';
import type { RequestToExecute } from '../core/request-gate.js';
import type { Requester } from '../core/requester.js';
import { FENCING_ACTIONS, Request, requestName, Response } from '../protocol/constants.js';
import { EarliestDeadlineTimer } from '../util/earliest-deadline-timer.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { Logger } from '../util/log.js';
import { countOf } from '../util/plural.js';
import type { StaticMap } from './static-map.js';
import { monotonicMs } from '../util/clock.js';

export type { Requester } from '../core/requester.js';
export type { RequestToExecute } from '../core/request-gate.js';

/** What a request's run tells its audit line and answer besides the code. */
interface Outcome {
  reason: string | undefined;
  uuid: string | undefined;
}

interface Deadline {
  at: number;
  expire: () => void;
}

/**
 * The agents give up after 30 s by default (-t); an answer must come before that, also when libvirtd
 * hangs mid-call. A reboot's own wait for the domain to go is 15 s, so this leaves it room.
 */
export const REQUEST_DEADLINE_MS = 25_000;
/** Requests that name one domain and need the requester's permission for it. */
const targeted = new Set<number>([...FENCING_ACTIONS, Request.STATUS]);

/**
 * Executes an authenticated request against the backend, for every listener alike. Requests for one VM
 * run one after another, however they name it (name or UUID, any case: the lock is the backend's UUID
 * for the name); different VMs run concurrently. Each request leaves one audit line: listener,
 * requester, target, operation, result, the reason the backend gave (for failures, and for a status
 * that answers off for an unknown domain), duration.
 */
export class Dispatcher implements RequestExecutor {
  private readonly perDomain = new KeyedMutex();
  private inFlight = 0;
  private closing = false;
  private idleWaiters: (() => void)[] = [];
  /** The deadlines of the requests in flight, all served by one timer armed for the earliest. */
  private readonly deadlines = new Set<Deadline>();
  private readonly deadlineTimer = new EarliestDeadlineTimer(() => this.expireDeadlines());
  /** The backend once started; until then requests wait for `starting`, within their deadline. */
  private backend: FenceBackend | undefined;
  private readonly starting: Promise<FenceBackend>;

  /**
   * `backend` may still be starting (the daemon binds its listeners meanwhile): a request that comes in
   * first waits for it, and is answered failure if it fails to start.
   */
  constructor(
    backend: FenceBackend | Promise<FenceBackend>,
    private readonly permissions: () => StaticMap,
    private readonly log: Logger,
    private readonly deadlineMs = REQUEST_DEADLINE_MS,
  ) {
    this.starting = Promise.resolve(backend);
    // A failed start is the daemon's to report; requests waiting on it see the rejection themselves.
    this.starting.then((b) => (this.backend = b)).catch(() => undefined);
  }

  /** Whether the permission map lets `who` make this request (requests without a target always pass). */
  permits(req: RequestToExecute, who: Requester): boolean {
    return !targeted.has(req.request) || this.permissions().allows(who, req.domain);
  }

  async execute(req: RequestToExecute, who: Requester): Promise<Answer> {
    const started = monotonicMs();
    if (this.closing) {
      // The daemon is stopping: an action begun now could be cut short by the exit.
      this.log.warn(`not executing ${describe(req)} from ${who.display}: the daemon is stopping`);
      return code(Response.FAIL);
    }
    const counted = FENCING_ACTIONS.has(req.request);
    if (counted) this.inFlight++;
    const outcome: Outcome = { reason: undefined, uuid: undefined };
    const running = this.run(req, who, outcome);
    // Counted until the action ends, even when its answer went out at the deadline: shutdown waits for it.
    // Only actions are: a status needs no extra promise and turn for it.
    const work = counted
      ? running.finally(() => {
          if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
        })
      : running;
    let answer: Answer;
    try {
      answer = await this.withinDeadline(work, req, outcome);
    } catch (err) {
      // Backends answer failures with 1; a throw is a bug or a dead connection: never report success.
      this.log.error(`backend ${this.backend?.name ?? '(not started)'} failed on ${describe(req)}: ${(err as Error).message}`);
      answer = code(Response.FAIL);
      outcome.reason = `backend error: ${(err as Error).message}`;
    }
    const { reason, uuid } = outcome;
    this.audit(req, who, answer, reason, monotonicMs() - started);
    if (answer.kind === 'hostlist' || (uuid === undefined && reason === undefined)) return answer;
    return { kind: 'code', code: answer.code, ...(uuid === undefined ? {} : { uuid }), ...(reason === undefined ? {} : { reason }) };
  }

  /** Fencing actions (off, on, reboot) being executed. */
  get actionsInProgress(): number {
    return this.inFlight;
  }

  /** From now on requests are answered failure without running; those running go on. */
  close(): void {
    this.closing = true;
  }

  /** Resolves when no fencing action is being executed, so shutdown never cuts one short. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * The request's answer, or failure once the deadline passes. The action itself cannot be called back:
   * it goes on (its VM stays locked until it ends), so the requester hears failure, never a success
   * that is not sure to have happened. One timer serves the deadlines of all requests in flight.
   */
  private withinDeadline(work: Promise<Answer>, req: RequestToExecute, outcome: Outcome): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const entry: Deadline = {
        at: Date.now() + this.deadlineMs,
        expire: () => {
          this.log.error(`${describe(req)} did not finish within ${this.deadlineMs} ms; answering failure (it may still complete)`);
          outcome.reason = `not finished within ${this.deadlineMs} ms`;
          resolve(code(Response.FAIL));
        },
      };
      this.deadlines.add(entry);
      this.deadlineTimer.arm(entry.at);
      const done = () => {
        this.deadlines.delete(entry);
        if (this.deadlines.size === 0) this.deadlineTimer.release();
      };
      work.then(
        (answer) => {
          done();
          resolve(answer);
        },
        (err: unknown) => {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  /** The timer fired: fail the requests whose deadline passed, and arm it for the next one. */
  private expireDeadlines(): void {
    this.deadlineTimer.expirePassed(
      this.deadlines,
      (entry) => entry.at,
      (entry) => {
        this.deadlines.delete(entry);
        entry.expire();
      },
    );
  }

  private async run(req: RequestToExecute, who: Requester, outcome: Outcome): Promise<Answer> {
    const explain = (r: string) => (outcome.reason = r);
    const origin = { source: who.display, seqno: req.seqno, explain };
    const b = this.backend ?? (await this.starting);
    switch (req.request) {
      case Request.NULL:
        return code(await b.null(req.domain));
      case Request.DEVSTATUS:
        return code(await b.devstatus());
      case Request.HOSTLIST: {
        const list = await b.hostList(origin);
        return { kind: 'hostlist', hosts: list.hosts.filter(this.permissions().visibleTo(who)), code: list.code };
      }
      case Request.OFF:
      case Request.ON:
      case Request.REBOOT:
      case Request.STATUS: {
        if (!this.permits(req, who)) {
          explain('no group gives this requester the domain');
          return code(Response.PERM);
        }
        const op =
          req.request === Request.OFF
            ? () => b.off(req.domain, origin)
            : req.request === Request.ON
              ? () => b.on(req.domain, origin)
              : req.request === Request.REBOOT
                ? () => b.reboot(req.domain, origin)
                : () => b.status(req.domain, origin);
        const uuid = await b.resolve(req.domain, origin);
        outcome.uuid = uuid;
        return code(await this.perDomain.run(uuid ?? `unresolved:${req.domain.toLowerCase()}`, op));
      }
      default:
        explain('unknown request code');
        return code(Response.FAIL);
    }
  }

  private audit(req: RequestToExecute, who: Requester, answer: Answer, reason: string | undefined, ms: number): void {
    const level = FENCING_ACTIONS.has(req.request) ? 'notice' : 'info';
    // A status is audited at info, off by default: the line is not built for nothing on every request.
    if (!this.log.enabled(level)) return;
    const result = answer.kind === 'hostlist' ? countOf(answer.hosts.length, 'domain') : resultName(req.request, answer.code);
    const line =
      `audit: listener=${who.listener} requester=${who.display} target=${JSON.stringify(req.domain)} ` +
      `op=${requestName(req.request)} seqno=${req.seqno} ` +
      `result=${result}${reason === undefined ? '' : ` reason=${JSON.stringify(reason)}`} duration_ms=${ms.toFixed(1)} protocol=${who.protocol ?? 1}`;
    this.log[level](line);
  }
}

function code(c: number): Answer {
  return { kind: 'code', code: c };
}

function describe(req: RequestToExecute): string {
  return `${requestName(req.request)} ${JSON.stringify(req.domain)}`;
}

function resultName(request: number, c: number): string {
  if (c === Response.PERM) return 'permission-denied';
  if (request === Request.STATUS) return c === 0 ? 'on' : c === 2 ? 'off' : `failed(${c})`;
  return c === 0 ? 'success' : c === 2 ? 'off' : `failed(${c})`;
}
