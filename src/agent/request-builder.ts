/**
 * The signed 176-byte request of the multicast, TCP and vsock modes
 * (docs/protocol.md#request-packet-fence_req, #request-signature).
 */
import { signRequest } from '../auth/index.js';
import { encodeFenceRequest, Family, FLAG_USE_UUID, RANDOM_SIZE, type AddressFamily } from '../protocol/index.js';
import type { AgentArgs } from './args.js';
import type { AgentKey } from './agent-key.js';

/** Where the daemon connects back to (multicast); TCP and vsock send none. */
export interface CallbackAddress {
  family: AddressFamily;
  address: string | null;
  port: number;
}

export const NO_CALLBACK: CallbackAddress = { family: Family.NONE, address: null, port: 0 };

/** The request id: the microseconds of the wall clock, like the C agents (the daemon dedupes on it). */
export function newSeqno(): number {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return micros % 1_000_000;
}

/** Encodes and signs; every call draws fresh random bytes, as each retransmission does. */
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
  signRequest(packet, agentKey.key);
  return packet;
}
