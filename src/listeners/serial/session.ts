/**
 * Serves one guest socket: requests are found by the `abba` magic, not by timing, and handled one at a
 * time in order; the answer uses serial framing. The requester identity is the VM owning the socket. A
 * guest can only hurt itself: unread input is bounded (more closes the socket), each answer write has a
 * deadline, and garbage is reported in rate-limited lines, never once per byte.
 */
import type { Duplex } from 'node:stream';
import type { RequestExecutor } from '../../core/executor.js';
import type { RequestCore } from '../../core/request-core.js';
import type { Requester } from '../../core/requester.js';
import { MagicFramer } from '../../protocol/magic-framer.js';
import { decodeSerialRequest, SERIAL_REQUEST_SIZE, type SerialRequest } from '../../protocol/serial-messages.js';
import type { Logger } from '../../util/log.js';
import { StreamIO, StreamIOError } from '../../util/stream-io.js';
import { writeAnswer } from '../answer-writer.js';
import type { GuestEndpoint } from './domain-sockets-watch.js';

export interface SerialSessionDeps {
  listener: string;
  dispatcher: RequestExecutor;
  /** The daemon-wide gate (permissions, duplicate window) and the buffer bound. */
  core: RequestCore;
  log: Logger;
}

/** Deadline of each write of an answer (a host list is several writes). */
const ANSWER_WRITE_MS = 10_000;
/** An idle guest is waited for in rounds of this length; only a closed socket ends the session. */
const IDLE_ROUND_MS = 60_000;
/** At most one line about discarded input per socket in this interval. */
const DISCARD_REPORT_MS = 10_000;

/** Resolves when the socket has closed. */
export async function serveGuestSocket(stream: Duplex, endpoint: GuestEndpoint, deps: SerialSessionDeps): Promise<void> {
  // Unread input beyond the bound (a guest flooding while a request runs) closes the socket.
  const io = new StreamIO(stream, deps.core.limits.maxSerialBuffer);
  const who: Requester = {
    listener: deps.listener,
    display: `${endpoint.uuid} (${endpoint.name})`,
    addresses: [],
    domains: [endpoint.uuid],
  };
  const framer = new MagicFramer<SerialRequest>(SERIAL_REQUEST_SIZE, (frame) => decodeSerialRequest(frame, { acceptUnknownRequest: true }));
  const discards = new DiscardReport(deps.log, `${endpoint.path} of domain ${endpoint.name}`);
  try {
    for (;;) {
      let chunk: Buffer;
      try {
        // Exactly what completes a frame from what the framer holds: never a byte of the next request.
        chunk = await io.read(SERIAL_REQUEST_SIZE - framer.buffered, IDLE_ROUND_MS, 'a request');
      } catch (err) {
        if (err instanceof StreamIOError && err.code === 'TIMEOUT') continue;
        if (!(err instanceof StreamIOError) || err.code !== 'EOF')
          deps.log.info(`${endpoint.path} of domain ${endpoint.name}: ${(err as Error).message}`);
        return;
      }
      for (const event of framer.push(chunk)) {
        if (event.type === 'discarded') discards.add(event.count, event.reason);
        else await handle(io, event.value, who, deps);
      }
    }
  } finally {
    discards.flush();
    stream.destroy();
  }
}

async function handle(io: StreamIO, request: SerialRequest, who: Requester, deps: SerialSessionDeps): Promise<void> {
  const admitted = deps.core.gate.admit(request, who, undefined, deps.log);
  if (!admitted) return;
  let executed = false;
  try {
    const answer = await deps.dispatcher.execute(request, who);
    executed = true;
    await writeAnswer(io, answer, 'serial', ANSWER_WRITE_MS);
  } catch (err) {
    deps.log.warn(`could not deliver the answer to ${who.display}: ${(err as Error).message}`);
  } finally {
    // Remembered once executed, even if undelivered: a repeat must not fence twice.
    admitted.finish(executed);
  }
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
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.lastReport + DISCARD_REPORT_MS - performance.now())).unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.count === 0) return;
    this.log.warn(`discarded ${this.count} byte(s) from ${this.where} (last: ${this.reason})`);
    this.count = 0;
    this.lastReport = performance.now();
  }
}
