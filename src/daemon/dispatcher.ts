import type { FenceBackend, HostInfo } from '../backends/backend.js';
import { Request, requestName, Response } from '../protocol/constants.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { Logger } from '../util/log.js';
import type { RequesterIdentity, StaticMap } from './static-map.js';

export type Answer = { kind: 'code'; code: number } | { kind: 'hostlist'; hosts: HostInfo[]; code: number };

export interface Requester extends RequesterIdentity {
  /** Listener instance name, for the audit line. */
  listener: string;
  /** How the requester is shown in logs, e.g. "127.0.0.1" or "cid 3 (vm-a)". */
  display: string;
}

export interface RequestToExecute {
  request: number;
  domain: string;
  seqno: number;
}

const fencing = new Set<number>([Request.OFF, Request.ON, Request.REBOOT]);

/**
 * Executes an authenticated request against the backend, the table of PROTOCOL.md §4.6, for every
 * listener alike. Requests for one domain run one after another; different domains run concurrently.
 * Each request leaves one audit line: listener, requester, target, operation, result, duration.
 */
export class Dispatcher {
  private readonly perDomain = new KeyedMutex();
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly backend: FenceBackend,
    private readonly permissions: () => StaticMap,
    private readonly log: Logger,
  ) {}

  async execute(req: RequestToExecute, who: Requester): Promise<Answer> {
    const started = performance.now();
    this.inFlight++;
    let answer: Answer;
    try {
      answer = await this.run(req, who);
    } catch (err) {
      // Backends answer failures with 1; a throw is a bug or a dead connection: never report success.
      this.log.error(`backend ${this.backend.name} failed on ${describe(req)}: ${(err as Error).message}`);
      answer = { kind: 'code', code: Response.FAIL };
    } finally {
      if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
    this.audit(req, who, answer, performance.now() - started);
    return answer;
  }

  /** Resolves when no request is being executed, so shutdown never cuts a fencing action short. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(req: RequestToExecute, who: Requester): Promise<Answer> {
    const origin = { source: who.display, seqno: req.seqno };
    const map = this.permissions();
    switch (req.request) {
      case Request.NULL:
        return code(await this.backend.null(req.domain));
      case Request.DEVSTATUS:
        return code(await this.backend.devstatus());
      case Request.HOSTLIST: {
        const list = await this.backend.hostList(origin);
        return { kind: 'hostlist', hosts: list.hosts.filter(map.visibleTo(who)), code: list.code };
      }
      case Request.OFF:
      case Request.ON:
      case Request.REBOOT:
      case Request.STATUS: {
        if (!map.allows(who, req.domain)) return code(Response.PERM);
        const b = this.backend;
        const op =
          req.request === Request.OFF ? () => b.off(req.domain, origin)
          : req.request === Request.ON ? () => b.on(req.domain, origin)
          : req.request === Request.REBOOT ? () => b.reboot(req.domain, origin)
          : () => b.status(req.domain, origin);
        return code(await this.perDomain.run(req.domain.toLowerCase(), op));
      }
      default:
        return code(Response.FAIL);
    }
  }

  private audit(req: RequestToExecute, who: Requester, answer: Answer, ms: number): void {
    const result = answer.kind === 'hostlist' ? `${answer.hosts.length} domains` : resultName(req.request, answer.code);
    const line =
      `audit: listener=${who.listener} requester=${who.display} target=${JSON.stringify(req.domain)} ` +
      `op=${requestName(req.request)} seqno=${req.seqno} ` +
      `result=${result} duration_ms=${ms.toFixed(1)}`;
    if (fencing.has(req.request)) this.log.notice(line);
    else this.log.info(line);
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
