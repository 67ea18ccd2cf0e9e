/**
 * Serves one guest socket: requests are found by the `abba` magic, not by timing, and handled one at a
 * time in order; the answer uses serial framing. The requester identity is the VM owning the socket. A
 * guest can only hurt itself: unread input is bounded (more closes the socket), each answer write has a
 * deadline, and garbage is reported in rate-limited lines, never once per byte.
 *
 * A thousand guests mostly sit idle, so an idle guest costs its socket and one small object: the
 * session is driven by the socket's reads and events, with no pending promise, no timer and no buffer
 * of its own until a request or garbage comes in (bench/results/scale-memory.md).
 */
import type { Duplex } from 'node:stream';
import type { Answer, RequestExecutor } from '../../core/executor.js';
import type { RequestCore } from '../../core/request-core.js';
import type { Requester } from '../../core/requester.js';
import { hostListChunks } from '../../protocol/host-list.js';
import { MagicFramer } from '../../protocol/magic-framer.js';
import { decodeSerialRequest, encodeSerialResponse, SERIAL_REQUEST_SIZE, type SerialRequest } from '../../protocol/serial-messages.js';
import { settleHeapAfter } from '../../util/heap-settle.js';
import type { Logger } from '../../util/log.js';
import type { GuestEndpoint } from './domain-sockets-watch.js';
import { monotonicMs } from '../../util/clock.js';

export interface SerialSessionDeps {
  listener: string;
  dispatcher: RequestExecutor;
  /** The daemon-wide gate (permissions, duplicate window) and the buffer bound. */
  core: RequestCore;
  log: Logger;
}

/** Deadline of each write of an answer (a host list is several writes): a guest that reads none of it. */
const ANSWER_WRITE_MS = 10_000;
/** At most one line about discarded input per socket in this interval. */
const DISCARD_REPORT_MS = 10_000;

/**
 * Serves the stream until it closes, then destroys it. An idle guest may stay silent forever: only a
 * closed socket ends the session. Answers the function that takes what is read from the stream (a
 * guest socket's reads come straight to it, without 'data' events: src/util/direct-reads.ts).
 */
export function serveGuestSocket(stream: Duplex, endpoint: GuestEndpoint, deps: SerialSessionDeps): (chunk: Buffer) => void {
  const session = new GuestSession(stream, endpoint, deps);
  stream.on('end', () => session.ended());
  stream.on('error', (err: Error) => session.failed(`stream error: ${err.message}`));
  stream.on('close', () => session.ended());
  return (chunk) => session.received(chunk);
}

const decodeRequest = (frame: Buffer) => decodeSerialRequest(frame, { acceptUnknownRequest: true });

class GuestSession {
  private readonly framer = new MagicFramer<SerialRequest>(SERIAL_REQUEST_SIZE, decodeRequest);
  /** Input not yet given to the framer: what arrives while a request runs. */
  private unread: Buffer[] = [];
  private unreadBytes = 0;
  private busy = false;
  private atEnd = false;
  private finished = false;
  private who: Requester | undefined;
  private discards: DiscardReport | undefined;

  constructor(
    private readonly stream: Duplex,
    private readonly endpoint: GuestEndpoint,
    private readonly deps: SerialSessionDeps,
  ) {}

  received(chunk: Buffer): void {
    if (this.finished) return;
    this.unread.push(chunk);
    this.unreadBytes += chunk.length;
    // Unread input beyond the bound (a guest flooding while a request runs) closes the socket.
    const max = this.deps.core.limits.maxSerialBuffer;
    if (this.unreadBytes > max) {
      this.failed(`peer sent more than ${max} unread bytes`);
      return;
    }
    this.next();
  }

  /** End of stream or closed: what was received before it is still served. */
  ended(): void {
    this.atEnd = true;
    this.next();
  }

  failed(why: string): void {
    if (this.finished) return;
    this.deps.log.info(`${this.endpoint.path} of domain ${this.endpoint.name}: ${why}`);
    this.finish();
  }

  /** Feeds the framer exactly what completes a frame, never a byte of the next request, until one starts. */
  private next(): void {
    while (!this.busy && !this.finished) {
      const need = SERIAL_REQUEST_SIZE - this.framer.buffered;
      if (this.unreadBytes < need) {
        if (this.atEnd) this.finish();
        return;
      }
      for (const event of this.framer.push(this.take(need))) {
        if (event.type === 'discarded') {
          this.discards ??= new DiscardReport(this.deps.log, `${this.endpoint.path} of domain ${this.endpoint.name}`);
          this.discards.add(event.count, event.reason);
        } else {
          this.busy = true;
          void this.handle(event.value).finally(() => {
            this.busy = false;
            this.next();
          });
        }
      }
    }
  }

  private take(n: number): Buffer {
    if ((this.unread[0] as Buffer).length < n) this.unread = [Buffer.concat(this.unread)];
    const first = this.unread[0] as Buffer;
    if (first.length > n) this.unread[0] = first.subarray(n);
    else if (this.unread.length > 1) this.unread.shift();
    else this.unread = [];
    this.unreadBytes -= n;
    // The framer copies what it keeps, so the socket's chunk is not retained past this call.
    return first.subarray(0, n);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.unread = [];
    this.unreadBytes = 0;
    this.discards?.flush();
    this.stream.destroy();
  }

  private async handle(request: SerialRequest): Promise<void> {
    const deps = this.deps;
    const who = (this.who ??= {
      listener: deps.listener,
      display: `${this.endpoint.uuid} (${this.endpoint.name})`,
      addresses: [],
      domains: [this.endpoint.uuid],
    });
    const admitted = deps.core.gate.admit(request, who, undefined, deps.log);
    if (!admitted) return;
    let executed = false;
    try {
      const answer = await deps.dispatcher.execute(request, who);
      executed = true;
      await writeWithin(this.stream, answerChunks(answer), ANSWER_WRITE_MS);
    } catch (err) {
      deps.log.warn(`could not deliver the answer to ${who.display}: ${(err as Error).message}`);
    } finally {
      // Remembered once executed, even if undelivered: a repeat must not fence twice.
      admitted.finish(executed);
      settleHeapAfter(1);
    }
  }
}

/** Encoded code answers, made once: the socket only reads them. */
const codeAnswers = new Map<number, Buffer[]>();

function answerChunks(answer: Answer): Buffer[] {
  if (answer.kind === 'hostlist') return [...hostListChunks('serial', answer.hosts, answer.code)];
  let chunks = codeAnswers.get(answer.code);
  if (!chunks) codeAnswers.set(answer.code, (chunks = [encodeSerialResponse(answer.code)]));
  return chunks;
}

/**
 * Writes the chunks in order; fails when the guest has taken none of them for `timeoutMs` (a port
 * nobody reads), destroying the stream. A write the kernel takes at once needs no timer.
 */
function writeWithin(stream: Duplex, chunks: readonly Buffer[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(new Error('cannot write the answer: connection closed'));
      return;
    }
    const deadline: { timer?: NodeJS.Timeout } = {};
    let left = chunks.length;
    const written = (err?: Error | null) => {
      if (err) {
        clearTimeout(deadline.timer);
        reject(new Error(`writing the answer failed: ${err.message}`));
      } else if (--left === 0) {
        clearTimeout(deadline.timer);
        resolve();
      } else {
        deadline.timer?.refresh(); // progress: the deadline counts from the last chunk taken
      }
    };
    for (const chunk of chunks) stream.write(chunk, written);
    if (stream.writableLength === 0) return;
    deadline.timer = setTimeout(() => {
      reject(new Error('timed out writing the answer'));
      stream.destroy();
    }, timeoutMs);
  });
}

/** Sums discarded bytes: the first report at once, then at most one line per interval. */
class DiscardReport {
  private count = 0;
  private reason = '';
  private lastReport = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly where: string,
  ) {}

  add(count: number, reason: string): void {
    this.count += count;
    this.reason = reason;
    // Not flushed right here: the rest of a burst already received joins the same line.
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastReport + DISCARD_REPORT_MS - monotonicMs())).unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    this.log.warn(`discarded ${this.count} byte(s) from ${this.where} (last: ${this.reason})`);
    this.count = 0;
    this.lastReport = monotonicMs();
  }
}
