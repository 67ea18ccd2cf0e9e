import { answerAsDaemon } from '../auth/challenge-response.js';
import { v2DaemonHandshake, type V2Session } from '../auth/v2-exchange.js';
import type { Answer, RequestExecutor } from '../core/executor.js';
import type { RequestCore } from '../core/request-core.js';
import type { Admission, KeySource } from '../core/request-gate.js';
import type { Requester } from '../core/requester.js';
import { Hash, Request, type HashType } from '../protocol/constants.js';
import { FenceRequestLayout } from '../protocol/fence-request.js';
import type { ProtocolVersion } from '../protocol/v2.js';
import type { Logger } from '../util/log.js';
import type { StreamIO } from '../util/stream-io.js';
import { writeAnswer, writeSealedAnswer } from './answer-writer.js';
import { Timeouts } from './listener.js';

export interface SessionSettings {
  key: KeySource;
  /** Challenge-response algorithm (`auth`); both ends must agree, there is no negotiation. */
  auth: HashType;
}

/** The version chosen for this request (protocol-policy.ts) and its exact bytes, which version 2 binds. */
export interface WireRequest {
  version: ProtocolVersion;
  raw: Uint8Array;
}

/**
 * A signed status changes nothing, and its signature already proved the key: its answer may be asked
 * of the backend while the connection is made and the challenge-response runs, so that libvirt's round
 * trip overlaps them instead of following them. It is sent, like any answer, only once the peer has
 * proven itself. Anything else (an action, a host list, an unsigned request) runs after the exchange.
 * Undefined: not asked early.
 */
export function askEarly(admitted: Admission, who: Requester, wire: WireRequest, dispatcher: RequestExecutor): Promise<Answer> | undefined {
  const req = admitted.request;
  if (req.request !== Request.STATUS || wire.raw[FenceRequestLayout.hashType] === Hash.NONE) return undefined;
  // From a microtask: after what the caller starts next (the connect-back, or the session's challenge
  // write), so the peer hears from us before libvirt does.
  const answer = Promise.resolve().then(() => dispatcher.execute(req, { ...who, protocol: wire.version }));
  // Awaited only if the exchange succeeds; a failure meanwhile is not an unhandled rejection.
  answer.catch(() => undefined);
  return answer;
}

/**
 * The part of the multicast, TCP and vsock flows after a stream exists and the request was admitted:
 * prove ourselves and check the peer (the daemon answers first), execute (or take the answer `early`
 * asked, see askEarly), answer. The request is remembered once executed and the peer proven, even if
 * the answer cannot be delivered, so a retransmission never fences twice.
 */
export async function runAuthenticatedSession(
  io: StreamIO,
  admitted: Admission,
  who: Requester,
  settings: SessionSettings,
  wire: WireRequest,
  deps: { dispatcher: RequestExecutor; core: RequestCore; log: Logger },
  early?: Promise<Answer>,
): Promise<void> {
  const { dispatcher, core, log } = deps;
  let executed = false;
  try {
    let session: V2Session | undefined;
    try {
      if (wire.version === 2) {
        // The peer as this listener names it: the connect-back address, the TCP peer, the CID.
        const identity = who.addresses[0] ?? who.display;
        session = await v2DaemonHandshake(io, settings.key(), wire.raw, identity, Timeouts.authStep);
      } else {
        await answerAsDaemon(io, settings.key(), settings.auth, Timeouts.authStep, core.challenges);
      }
    } catch (err) {
      log.warn(`challenge-response with ${who.display} failed: ${(err as Error).message}`);
      return;
    }
    const answer = await (early ?? dispatcher.execute(admitted.request, { ...who, protocol: wire.version }));
    executed = true;
    try {
      if (session) await writeSealedAnswer(io, answer, session, Timeouts.authStep);
      else await writeAnswer(io, answer, 'network', Timeouts.authStep);
    } catch (err) {
      log.warn(`could not deliver the answer to ${who.display}: ${(err as Error).message}`);
    }
  } finally {
    admitted.finish(executed);
    closeWhenFlushed(io);
  }
}

/**
 * Closes once what we wrote is flushed, without waiting for the peer's FIN. When the kernel already
 * holds every byte, closing the descriptor sends them and the FIN as a shutdown would: one system call
 * and one event-loop turn less per connection than shutting down first.
 */
function closeWhenFlushed(io: StreamIO): void {
  if (io.stream.writableLength === 0) io.stream.destroy();
  else io.stream.end(() => io.stream.destroy());
}
