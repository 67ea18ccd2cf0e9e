/**
 * The client side of an established multicast-callback, TCP or vsock stream
 * (docs/protocol.md#challenge-response, #answers and #host-list): challenge-response with our challenge
 * first, then the answer byte or a host list. Returns the C agents' result value: the answer byte as a
 * signed char, 1 for failed authentication or a connection closed before the answer, -1 when no answer
 * came in time.
 */
import type { Duplex } from 'node:stream';
import { AuthError, challengeAsClient, type AuthKey } from '../auth/index.js';
import { hashNames, Response, type HashType } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { StreamIO } from '../util/stream-io.js';
import { timedOutOn, type Deadline } from './deadline.js';
import { AGENT_STREAM_BUFFER, printHostList } from './host-list-printer.js';
import type { AgentOutput } from './output.js';

export interface ExchangeContext {
  key: AuthKey;
  auth: HashType;
  /** The agent's `timeout`, the limit of each step. */
  stepMs: number;
  deadline: Deadline;
  out: AgentOutput;
  log: Logger;
}

/** Which part of the authentication went wrong, in words that point at the likely cause. */
function authFailure(err: unknown, ctx: ExchangeContext): string {
  const detail = (err as Error).message;
  if (err instanceof AuthError)
    return `key rejected: the daemon answered our challenge wrongly, so it has another key or auth algorithm than ours (${hashNames[ctx.auth]}) (${detail})`;
  if (timedOutOn(err, ctx.deadline)) return `the daemon did not answer during authentication within ${ctx.stepMs / 1000} s (${detail})`;
  return (
    'the daemon closed the connection during authentication: it drops requests signed with another key, ' +
    `with a weaker hash than it requires, or repeated within 10 s (${detail})`
  );
}

/** `request`: the signed request to send first (TCP, vsock); the multicast request went by datagram. */
export async function exchangeOnStream(stream: Duplex, request: Buffer | undefined, ctx: ExchangeContext): Promise<number> {
  const { deadline, out, log } = ctx;
  const io = new StreamIO(stream, AGENT_STREAM_BUFFER);
  const cancelGuard = deadline.guard(stream);
  try {
    if (request) {
      try {
        await io.write(request, deadline.cap(ctx.stepMs), 'the request');
      } catch (err) {
        log.error(`sending the request failed: ${(err as Error).message}`);
        return 1;
      }
    }
    try {
      await challengeAsClient(io, ctx.key, ctx.auth, deadline.cap(ctx.stepMs));
    } catch (err) {
      out.stdout('Invalid response to challenge\n');
      log.error(authFailure(err, ctx));
      return 1;
    }
    let answer: number;
    try {
      answer = (await io.read(1, deadline.cap(ctx.stepMs), 'the answer'))[0] as number;
    } catch (err) {
      if (timedOutOn(err, deadline)) {
        log.error(`no answer from the daemon within ${ctx.stepMs / 1000} s after authentication`);
        return -1;
      }
      log.error(`the daemon closed the connection without answering (${(err as Error).message})`);
      return 1;
    }
    if (answer === Response.HOSTLIST) {
      await printHostList(io, ctx.stepMs, deadline, out, log);
      return 0;
    }
    // The C agents read the byte into a `char`: 0xFF is -1.
    return answer >= 0x80 ? answer - 0x100 : answer;
  } finally {
    cancelGuard();
    stream.destroy();
  }
}
