/**
 * The keyed half of protocol version 2 (docs/protocol.md#protocol-version-2): HMAC-SHA-256 under a key
 * derived from the shared key, a role label before every input, and a transcript that binds the
 * request, both challenges and the peer identity. Layouts come from src/protocol/v2.ts.
 */
import { timingSafeEqual } from 'node:crypto';
import { V2_AGENT_CHALLENGE_SIZE, V2_DAEMON_HELLO_SIZE, V2_DAEMON_NONCE_SIZE, V2_TAG_SIZE, V2Label, v2Transcript } from '../protocol/v2.js';
import type { StreamIO } from '../util/stream-io.js';
import type { HashType } from '../protocol/constants.js';
import { answerDaemonChallenge, AuthError, isV1Answer } from './challenge-response.js';
import { HmacSha256 } from './hmac-sha256.js';
import { isKeyed, type AuthKey } from './keyed-hash.js';
import { randomBuffer } from './random-pool.js';

const derived = new WeakMap<AuthKey, HmacSha256>();
const labels = new Map<string, Buffer>(Object.values(V2Label).map((label) => [label, Buffer.from(label, 'latin1')]));

/**
 * HMAC under K2 = HMAC-SHA-256(key file bytes, "fence-virt/2 key\0"): version 2 never uses the raw
 * key, so no version 1 hash of it helps. Derived once per key and kept with its padded keys.
 */
export function v2Mac(key: AuthKey): HmacSha256 {
  let mac = derived.get(key);
  if (!mac) {
    mac = new HmacSha256(new HmacSha256(key.bytes).tag([labelBytes(V2Label.key)]));
    derived.set(key, mac);
  }
  return mac;
}

function labelBytes(label: string): Buffer {
  return labels.get(label) ?? Buffer.from(label, 'latin1');
}

/** One exchange's state: the derived key and the transcript every tag covers. */
export class V2Session {
  constructor(
    private readonly mac: HmacSha256,
    readonly transcript: Buffer,
  ) {}

  /** HMAC(K2, label ‖ transcript ‖ extra...). */
  tag(label: string, ...extra: Uint8Array[]): Buffer {
    return this.mac.tag([labelBytes(label), this.transcript, ...extra]);
  }

  verify(label: string, tag: Uint8Array, ...extra: Uint8Array[]): boolean {
    return tag.length === V2_TAG_SIZE && timingSafeEqual(this.tag(label, ...extra), tag);
  }
}

export function newV2Session(
  key: AuthKey,
  request: Uint8Array,
  agentChallenge: Uint8Array,
  daemonNonce: Uint8Array,
  identity: string,
): V2Session {
  return new V2Session(v2Mac(key), v2Transcript(request, agentChallenge, daemonNonce, identity));
}

/**
 * The daemon's side after a version 2 request was admitted: read the agent's challenge, send nonce ‖
 * proof in one write, check the agent's proof. `identity` is the peer as this listener names it.
 */
export async function v2DaemonHandshake(
  io: StreamIO,
  key: AuthKey,
  request: Uint8Array,
  identity: string,
  timeoutMs: number,
): Promise<V2Session> {
  const challenge = await io.read(V2_AGENT_CHALLENGE_SIZE, timeoutMs, "the agent's challenge");
  const nonce = randomBuffer(V2_DAEMON_NONCE_SIZE);
  const session = newV2Session(key, request, challenge, nonce, identity);
  await io.write(Buffer.concat([nonce, session.tag(V2Label.daemonProof)]), timeoutMs, 'our nonce and proof');
  const proof = await io.read(V2_TAG_SIZE, timeoutMs, "the agent's proof");
  if (!session.verify(V2Label.agentProof, proof)) {
    throw new AuthError(`the agent's version 2 proof is wrong (another key, or the agent does not see itself as ${identity})`);
  }
  return session;
}

/** The daemon answered a version 2 offer in version 1 while the agent requires version 2. */
export class DowngradeError extends AuthError {
  constructor(message: string) {
    super(message);
    this.name = 'DowngradeError';
  }
}

/**
 * The agent's side after a version 2 offer. The first message is a 64-byte challenge, as in version 1,
 * so a C daemon reads it; its 64-byte reply is either the version 1 answer under `v1Auth` (a C daemon,
 * or ours with protocol = "1") or our nonce ‖ proof. A version 1 reply completes the version 1
 * exchange, unless `requireV2`: then it is refused before the daemon's challenge is answered, so
 * nothing runs. `requests` are the signed requests the daemon may be answering (the multicast
 * retransmissions of one run differ); the daemon's proof tells which. Resolves to the session, or 1
 * when version 1 was spoken.
 */
export async function v2OfferAsClient(
  io: StreamIO,
  key: AuthKey,
  v1Auth: HashType,
  requests: readonly Uint8Array[],
  identity: string,
  requireV2: boolean,
  timeoutMs: number,
): Promise<V2Session | 1> {
  const challenge = randomBuffer(V2_AGENT_CHALLENGE_SIZE);
  await io.write(challenge, timeoutMs, 'our challenge');
  const reply = await io.read(V2_DAEMON_HELLO_SIZE, timeoutMs, "the daemon's reply to our challenge");
  const nonce = reply.subarray(0, V2_DAEMON_NONCE_SIZE);
  const proof = reply.subarray(V2_DAEMON_NONCE_SIZE);
  let session: V2Session | undefined;
  for (const request of requests) {
    const candidate = newV2Session(key, request, challenge, nonce, identity);
    if (candidate.verify(V2Label.daemonProof, proof)) {
      session = candidate;
      break;
    }
  }
  if (!session) {
    // Not our proof: a version 1 answer (a C daemon, or ours with protocol = "1"), or neither.
    if (isKeyed(v1Auth) && isV1Answer(key, v1Auth, challenge, reply)) {
      if (requireV2) throw new DowngradeError('the daemon answered in protocol version 1 and this agent requires version 2');
      await answerDaemonChallenge(io, key, v1Auth, timeoutMs);
      return 1;
    }
    throw new AuthError(
      `the daemon's reply is neither a version 1 answer nor a version 2 proof (another key or auth algorithm, or it does not see this agent as ${identity})`,
    );
  }
  await io.write(session.tag(V2Label.agentProof), timeoutMs, 'our proof');
  return session;
}
