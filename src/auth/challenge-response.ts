import { timingSafeEqual } from 'node:crypto';
import { CHALLENGE_SIZE, hashNames, type HashType } from '../protocol/constants.js';
import { StreamIOError, type StreamIO } from '../util/stream-io.js';
import type { ChallengeRegistry } from './challenge-registry.js';
import { AuthKey, DIGEST_FIELD_SIZE, isKeyed } from './keyed-hash.js';
import { randomBuffer } from './random-pool.js';

export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

/**
 * Mutual challenge-response on an established stream (docs/protocol.md#challenge-response). The client
 * always challenges first; the daemon answers, then challenges back. No algorithm negotiation exists:
 * both ends must be configured alike, and auth none skips the exchange entirely. Read/write failures
 * surface as StreamIOError, a wrong answer as AuthError. `timeoutMs` applies to each step.
 */
export async function challengeAsClient(io: StreamIO, key: AuthKey, hashType: HashType, timeoutMs: number): Promise<void> {
  if (!isKeyed(hashType)) return;
  const challenge = randomBuffer(CHALLENGE_SIZE);
  await io.write(challenge, timeoutMs, 'our challenge');
  await expectAnswer(io, key, hashType, challenge, timeoutMs, "the daemon's answer to our challenge");
  await answerDaemonChallenge(io, key, hashType, timeoutMs);
}

/** The client's second half: read the daemon's challenge and answer it. */
export async function answerDaemonChallenge(io: StreamIO, key: AuthKey, hashType: Exclude<HashType, 0>, timeoutMs: number): Promise<void> {
  const theirs = await io.read(CHALLENGE_SIZE, timeoutMs, "the daemon's challenge");
  await io.write(key.digest(hashType, theirs), timeoutMs, 'our answer');
}

/** Whether `answer` is the version 1 answer to `challenge` (compared in constant time). */
export function isV1Answer(key: AuthKey, hashType: Exclude<HashType, 0>, challenge: Uint8Array, answer: Uint8Array): boolean {
  return answer.length === DIGEST_FIELD_SIZE && timingSafeEqual(answer, key.digest(hashType, challenge));
}

/**
 * The daemon's side. `challenges` is the daemon-wide registry: a client challenge that is one of our
 * own outstanding challenges is a reflection attempt (the peer wants our answer to replay it on the
 * connection that challenged it) and is refused before anything is computed.
 */
export async function answerAsDaemon(
  io: StreamIO,
  key: AuthKey,
  hashType: HashType,
  timeoutMs: number,
  challenges: ChallengeRegistry,
): Promise<void> {
  if (!isKeyed(hashType)) return;
  const theirs = await io.read(CHALLENGE_SIZE, timeoutMs, "the client's challenge");
  if (challenges.isOutstanding(theirs)) {
    throw new AuthError("the client's challenge is one this daemon issued and is waiting to have answered (a reflection attempt)");
  }
  const ours = challenges.issue();
  try {
    // Answer and challenge leave in one write: the same bytes on the wire, one system call less.
    const out = Buffer.allocUnsafe(DIGEST_FIELD_SIZE + CHALLENGE_SIZE);
    key.digestInto(hashType, [theirs], out);
    out.set(ours.challenge, DIGEST_FIELD_SIZE);
    await io.write(out, timeoutMs, 'our answer and challenge');
    try {
      await expectAnswer(io, key, hashType, ours.challenge, timeoutMs, "the client's answer to our challenge");
    } catch (err) {
      throw err instanceof StreamIOError && (err.code === 'EOF' || err.code === 'CLOSED') ? rejectedOurAnswer(hashType) : err;
    }
  } finally {
    ours.release();
  }
}

/**
 * A client that finds our answer wrong closes (or resets) the connection without answering ours, as both
 * agents do.
 * Its request already passed the signature check, so when that was signed the key is the same one and
 * the algorithms differ; only an unsigned request (hash none) leaves the key in doubt.
 */
function rejectedOurAnswer(hashType: Exclude<HashType, 0>): AuthError {
  return new AuthError(
    `the client closed the connection instead of answering our challenge: it found our answer wrong, so its auth ` +
      `algorithm is not ours (${hashNames[hashType]}; fence_xvm -C, fence_virt -C) or, if its requests are unsigned ` +
      `(hash "none"), its key differs`,
  );
}

async function expectAnswer(
  io: StreamIO,
  key: AuthKey,
  hashType: Exclude<HashType, 0>,
  challenge: Buffer,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const answer = await io.read(DIGEST_FIELD_SIZE, timeoutMs, what);
  if (!isV1Answer(key, hashType, challenge, answer)) {
    throw new AuthError(`${what} is wrong (key or auth algorithm mismatch)`);
  }
}
