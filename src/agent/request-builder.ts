/**
 * The signed 176-byte request of the multicast, TCP and vsock modes
 * (docs/protocol.md#request-packet-fence_req, #request-signature, #v2-request).
 */
import { isKeyed, signRequest } from '../auth/index.js';
import { encodeFenceRequest, Family, FLAG_USE_UUID, markProtocol2, RANDOM_SIZE, type AddressFamily } from '../protocol/index.js';
import type { AgentArgs } from './args.js';
import type { AgentKey } from './agent-key.js';
import { monotonicMs } from '../util/clock.js';

/** Where the daemon connects back to (multicast); TCP and vsock send none. */
export interface CallbackAddress {
  family: AddressFamily;
  address: string | null;
  port: number;
}

export const NO_CALLBACK: CallbackAddress = { family: Family.NONE, address: null, port: 0 };

/**
 * The request id: the microsecond within the second, as the C agents take it from the wall clock (the
 * daemon dedupes on it). Here the wall clock gives the millisecond and the monotonic clock the
 * microsecond within it: a wall clock in microseconds (`performance.timeOrigin`) would load perf_hooks,
 * about 1.5 ms of an agent's start.
 */
export function newSeqno(): number {
  return (Date.now() % 1000) * 1000 + (Math.floor(monotonicMs() * 1000) % 1000);
}

/**
 * Whether this run offers protocol version 2: not with protocol=1, and only with a key and a keyed
 * challenge-response, since the agent's first message must also make sense to a C daemon.
 */
export function offersV2(args: AgentArgs, agentKey: AgentKey): boolean {
  return args.protocol !== '1' && isKeyed(agentKey.auth) && !agentKey.key.empty;
}

/**
 * Encodes and signs; every call draws fresh random bytes, as each retransmission does. A version 2
 * offer sets its flag and timestamp before signing, so they are covered by the signature.
 */
export function signedRequest(args: AgentArgs, agentKey: AgentKey, seqno: number, callback: CallbackAddress): Buffer {
  const packet = encodeFenceRequest({
    request: args.op,
    hashType: agentKey.hash,
    flags: args.useUuid ? FLAG_USE_UUID : 0,
    domain: args.domain ?? '',
    address: callback.address,
    family: callback.family,
    port: callback.port,
    random: new Uint8Array(RANDOM_SIZE),
    seqno,
  });
  if (offersV2(args, agentKey)) markProtocol2(packet, Date.now());
  signRequest(packet, agentKey.key);
  return packet;
}

/** With protocol=2 a run that cannot offer version 2 stops before sending anything (logged). */
export function cannotMeetPolicy(args: AgentArgs, agentKey: AgentKey, log: { error(m: string): void }): boolean {
  if (args.protocol !== '2' || offersV2(args, agentKey)) return false;
  log.error('protocol=2 needs a readable, non-empty key file and an auth algorithm other than none');
  return true;
}
