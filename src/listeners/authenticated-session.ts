import { answerAsDaemon } from '../auth/challenge-response.js';
import type { HashType } from '../protocol/constants.js';
import type { Dispatcher, Requester } from '../daemon/dispatcher.js';
import type { RequestHistory } from '../daemon/request-history.js';
import type { Logger } from '../util/log.js';
import type { StreamIO } from '../util/stream-io.js';
import { writeAnswer } from './answer-writer.js';
import { Timeouts, type KeySource } from './listener.js';
import type { AdmittedRequest } from './request-gate.js';

export interface SessionSettings {
  key: KeySource;
  /** Challenge-response algorithm (`auth`); both ends must agree, there is no negotiation. */
  auth: HashType;
}

/**
 * The part of the multicast, TCP and vsock flows after a stream exists: prove ourselves and check the
 * peer (daemon answers first, §3.3), execute, answer. The request is remembered once executed, even if
 * the answer cannot be delivered, so a retransmission never fences twice.
 */
export async function runAuthenticatedSession(
  io: StreamIO,
  admitted: AdmittedRequest,
  who: Requester,
  settings: SessionSettings,
  deps: { dispatcher: Dispatcher; history: RequestHistory; log: Logger },
): Promise<void> {
  const { dispatcher, history, log } = deps;
  let executed = false;
  try {
    try {
      await answerAsDaemon(io, settings.key(), settings.auth, Timeouts.authStep);
    } catch (err) {
      log.warn(`challenge-response with ${who.display} failed: ${(err as Error).message}`);
      return;
    }
    const answer = await dispatcher.execute(admitted.request, who);
    executed = true;
    try {
      await writeAnswer(io, answer, 'network', Timeouts.authStep);
    } catch (err) {
      log.warn(`could not deliver the answer to ${who.display}: ${(err as Error).message}`);
    }
  } finally {
    history.finish(admitted.historyKey, executed);
    // Close once what we wrote is flushed; do not wait for the peer's FIN.
    io.stream.end(() => io.stream.destroy());
  }
}
