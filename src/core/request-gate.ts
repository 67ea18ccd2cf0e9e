import type { AuthKey } from '../auth/keyed-hash.js';
import { verifyRequest } from '../auth/request-signature.js';
import { Family, FENCING_ACTIONS, Hash, Request, requestName, type HashType } from '../protocol/constants.js';
import { ProtocolError } from '../protocol/errors.js';
import { decodeFenceRequest, FenceRequestLayout, type FenceRequest } from '../protocol/fence-request.js';
import { addressFieldEnd } from '../protocol/v2.js';
import type { Logger } from '../util/log.js';
import type { RateLimitedLog } from '../util/rate-limited-log.js';
import { RepeatCoalescer } from '../util/repeat-coalescer.js';
import type { ReplayMemory } from './replay-memory.js';
import { requesterKey, type Requester } from './requester.js';
import type { HistoryClaim, RequestHistory } from './request-history.js';

/** The listener's current key: replaced on SIGHUP without disturbing requests in flight. */
export type KeySource = () => AuthKey;

/** What the dispatcher executes: the fields every request format shares. */
export interface RequestToExecute {
  request: number;
  domain: string;
  seqno: number;
}

export interface VerifySettings {
  key: KeySource;
  minimumHash: HashType;
  /**
   * TCP and vsock clients leave the multicast connect-back fields empty; a request that fills them was
   * made for multicast, so on a stream listener it can only be a captured datagram replayed.
   */
  stream: boolean;
}

/** A request cleared to run. `finish` once it is done; executed requests are remembered. */
export interface Admission<R extends RequestToExecute = RequestToExecute> {
  request: R;
  finish(executed: boolean): void;
}

/** Requests that change nothing: safe to answer twice. */
const READ_ONLY: ReadonlySet<number> = new Set([Request.STATUS, Request.DEVSTATUS, Request.HOSTLIST]);

/** The claim of a request the duplicate window does not track. */
const UNTRACKED: HistoryClaim = { finish: () => undefined };

/** Signature bytes that identify a signed request in the replay memory (see ReplayMemory's note). */
const FINGERPRINT_SIZE = 16;

/**
 * The checks every request passes before it may run, in one place for all listeners: the signature at
 * least as strong as the minimum, well-formed fields, the transport's rules, the permission map, the
 * duplicate window and the replay memory. What fails is dropped with a log line naming the sender and
 * the reason, and gets no answer. A request that is not permitted claims nothing: the dispatcher answers
 * it "permission denied" and it leaves no trace that could block someone else's request.
 */
export class RequestGate {
  /** A client retransmits what we drop: one line per source and reason, then a count (not one per copy). */
  private readonly refusals: RepeatCoalescer;

  constructor(
    private readonly history: RequestHistory,
    /** Exact bytes of executed signed requests, refused for a day (replays after the duplicate window). */
    private readonly replays: ReplayMemory,
    private readonly permits: (request: RequestToExecute, who: Requester) => boolean,
    private readonly shed: RateLimitedLog,
  ) {
    this.refusals = new RepeatCoalescer((line) => shed.report('refused-signatures', line));
  }

  /**
   * Signature, format and transport checks of a 176-byte fence_req; undefined when it is dropped. `from`
   * names the sender in log lines and groups its repeated refusals, so it carries no port a retransmission
   * could change.
   */
  verify(raw: Uint8Array, from: string, settings: VerifySettings, log: Logger): FenceRequest | undefined {
    const verdict = verifyRequest(raw, settings.key(), settings.minimumHash);
    if (!verdict.ok) {
      this.refusals.report(`${from}\0${verdict.reason}`, `dropping request from ${from}: ${verdict.message}`, (line) => log.warn(line));
      return undefined;
    }
    let request: FenceRequest;
    try {
      // Unknown codes are authenticated and answered FAIL, as the C daemon does.
      request = decodeFenceRequest(raw, { acceptUnknownRequest: true });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      log.warn(`dropping malformed request from ${from}: ${err.message}`);
      return undefined;
    }
    // The C fence_virt -T / -S and our agent zero addrlen, address, port and family (captured in tests).
    if (settings.stream && (request.family !== Family.NONE || request.port !== 0 || hasAddressBytes(raw))) {
      log.warn(
        `dropping request from ${from}: it carries multicast connect-back fields, which no TCP or vsock client sets (a captured datagram?)`,
      );
      return undefined;
    }
    return request;
  }

  /**
   * Clears a request (verified, or from a serial guest) to run for `who`. `signed` is the request's
   * bytes when it carried a signature, for the replay memory. `retransmits`: the transport's clients
   * send copies of a request (multicast, serial); TCP and vsock clients make one exchange per connection
   * and never do. Undefined: dropped (logged).
   */
  admit<R extends RequestToExecute>(
    request: R,
    who: Requester,
    signed: Uint8Array | undefined,
    log: Logger,
    retransmits = true,
  ): Admission<R> | undefined {
    if (!this.permits(request, who)) return { request, finish: () => undefined };
    // Where no client retransmits, a read-only request repeating a recent seqno is another client's
    // (the C fence_virt -T numbers its request by the clock's microseconds, so agents started together
    // collide), and answering it changes nothing; fencing actions stay executed once.
    const claim = !retransmits && READ_ONLY.has(request.request) ? UNTRACKED : this.history.claim(request, requesterKey(who));
    if (claim === 'duplicate') {
      log.info(`dropping duplicate request from ${who.display} (${describe(request)})`);
      return undefined;
    }
    if (claim !== undefined && typeof claim === 'string') {
      const bound = claim === 'full' ? 'the daemon-wide history limit' : 'its history limit (max_history_per_requester)';
      this.shed.report(`history-${claim}`, `dropping request from ${who.display} (${describe(request)}): ${bound} is reached`);
      return undefined;
    }
    const fingerprint = signed && signed[FenceRequestLayout.hashType] !== Hash.NONE ? fingerprintOf(signed) : undefined;
    if (fingerprint !== undefined && this.replays.has(fingerprint)) {
      claim.finish(false);
      log.warn(`dropping request from ${who.display} (${describe(request)}): replay of a request already executed (identical bytes)`);
      return undefined;
    }
    // Remembered before it runs, so a retransmission that reaches a daemon restarted after a crash
    // mid-action (the memory may be a journal that survives it) is refused: executed at most once. Any
    // other request changes nothing and is refused again only while this process lives: answering its
    // replay after a restart changes nothing either, and the monitors' statuses, by far the most
    // requests, then cost no journal write and do not make the journal read at every start grow.
    const lasting = FENCING_ACTIONS.has(request.request);
    if (fingerprint !== undefined) this.replays.remember(fingerprint, lasting);
    return {
      request,
      finish: (executed) => {
        claim.finish(executed);
        if (fingerprint === undefined) return;
        if (executed) this.replays.ran(fingerprint, lasting);
        else this.replays.forget(fingerprint, lasting);
      },
    };
  }
}

function fingerprintOf(packet: Uint8Array): string {
  return Buffer.from(packet.buffer, packet.byteOffset + FenceRequestLayout.hash, FINGERPRINT_SIZE).toString('latin1');
}

function hasAddressBytes(raw: Uint8Array): boolean {
  const at = FenceRequestLayout.address;
  // A version 2 offer keeps its timestamp at the end of the field (docs/protocol.md#v2-request).
  return raw[FenceRequestLayout.addrLen] !== 0 || raw.subarray(at, addressFieldEnd(raw)).some((b) => b !== 0);
}

function describe(request: RequestToExecute): string {
  return `${requestName(request.request)} ${JSON.stringify(request.domain)}, seqno ${request.seqno}`;
}
