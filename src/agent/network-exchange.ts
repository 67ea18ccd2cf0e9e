/**
 * The client side of an established multicast-callback, TCP or vsock stream
 * (docs/protocol.md#challenge-response, #answers and #host-list): challenge-response with our challenge
 * first, then the answer byte or a host list. Returns the C agents' result value: the answer byte as a
 * signed char, 1 for failed authentication or a connection closed before the answer, -1 when no answer
 * came in time.
 */
import type { Duplex } from 'node:stream';
import { AuthError, challengeAsClient, DowngradeError, v2OfferAsClient, type AuthKey, type V2Session } from '../auth/index.js';
import { hashNames, Response, type HashType, type ProtocolPolicy } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { StreamIO } from '../util/stream-io.js';
import { timedOutOn, type Deadline } from './deadline.js';
import { AGENT_STREAM_BUFFER, hostLine, printHostList } from './host-list-printer.js';
import type { AgentOutput } from './output.js';
import { readSealedAnswer } from './sealed-answer.js';

export interface ExchangeContext {
  key: AuthKey;
  auth: HashType;
  /** The agent's `timeout`, the limit of each step. */
  stepMs: number;
  deadline: Deadline;
  out: AgentOutput;
  log: Logger;
  protocol: ProtocolPolicy;
}

/**
 * A version 2 offer: the signed request(s) it may be answering (multicast: every copy sent for the
 * address the daemon called back, since retransmissions differ) and this agent as the daemon names it.
 */
export interface V2Offer {
  requests: readonly Uint8Array[];
  identity: string;
}

/** Which part of the authentication went wrong, in words that point at the likely cause. */
function authFailure(err: unknown, ctx: ExchangeContext): string {
  const detail = (err as Error).message;
  if (err instanceof DowngradeError) return `downgrade refused: ${detail} (protocol=2)`;
  if (err instanceof AuthError)
    return `key rejected: the daemon answered our challenge wrongly, so it has another key or auth algorithm than ours (${hashNames[ctx.auth]}) (${detail})`;
  if (timedOutOn(err, ctx.deadline)) return `the daemon did not answer during authentication within ${ctx.stepMs / 1000} s (${detail})`;
  return (
    'the daemon closed the connection during authentication: it drops requests signed with another key, ' +
    `with a weaker hash than it requires, or repeated within 10 s (${detail})`
  );
}

/**
 * `request`: the signed request to send first (TCP, vsock); the multicast request went by datagram.
 * `offer`: set when the request offered version 2.
 */
export async function exchangeOnStream(
  stream: Duplex,
  request: Buffer | undefined,
  offer: V2Offer | undefined,
  ctx: ExchangeContext,
): Promise<number> {
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
    let session: V2Session | undefined;
    try {
      if (offer) {
        const spoken = await v2OfferAsClient(
          io,
          ctx.key,
          ctx.auth,
          offer.requests,
          offer.identity,
          ctx.protocol === '2',
          deadline.cap(ctx.stepMs),
        );
        if (spoken !== 1) session = spoken;
      } else {
        await challengeAsClient(io, ctx.key, ctx.auth, deadline.cap(ctx.stepMs));
      }
    } catch (err) {
      out.stdout('Invalid response to challenge\n');
      log.error(authFailure(err, ctx));
      return 1;
    }
    if (session) return await sealedResult(io, session, ctx);
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
    return signedChar(answer);
  } finally {
    cancelGuard();
    stream.destroy();
  }
}

/** The C agents read the byte into a `char`: 0xFF is -1. */
const signedChar = (byte: number): number => (byte >= 0x80 ? byte - 0x100 : byte);

/** A version 2 answer: reported only once its tag verified. */
async function sealedResult(io: StreamIO, session: V2Session, ctx: ExchangeContext): Promise<number> {
  const { deadline, out, log } = ctx;
  let answer;
  try {
    answer = await readSealedAnswer(io, session, ctx.stepMs, deadline);
  } catch (err) {
    if (timedOutOn(err, deadline)) {
      log.error(`no complete answer from the daemon within ${ctx.stepMs / 1000} s after authentication`);
      return -1;
    }
    log.error(`the answer was cut short or malformed (${(err as Error).message})`);
    return 1;
  }
  if (answer.kind === 'forged') {
    log.error(
      'the answer failed its version 2 authentication (changed on the way, or not from a daemon with our key): treated as a failure',
    );
    return 1;
  }
  if (answer.kind === 'code') return signedChar(answer.code);
  for (const h of answer.hosts) out.stdout(hostLine(h.name, h.uuid, h.state));
  return 0;
}
