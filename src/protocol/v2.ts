/**
 * Protocol version 2 (docs/protocol.md#protocol-version-2): the byte layouts only; the keyed parts are
 * in src/auth/v2-exchange.ts. A version 2 request is an ordinary 176-byte fence_req whose signed part
 * says "I speak version 2" in room the C daemon never reads: bit 7 of `flags` and the last 12 bytes of
 * the 28-byte address field (an IPv6 connect-back address fills only the first 16).
 */
import { ProtocolError } from './errors.js';
import { ADDRESS_SIZE, FENCE_REQUEST_SIZE, FenceRequestLayout } from './fence-request.js';

/** `flags` bit 7: the agent speaks version 2 and its request carries a timestamp. */
export const FLAG_PROTOCOL_2 = 0x80;
/** Where the version 2 extension starts: address field + 16 (after the longest address). */
export const V2_EXTENSION_OFFSET = FenceRequestLayout.address + 16;
export const V2_EXTENSION_SIZE = ADDRESS_SIZE - 16;

/** The agent's first message: a 64-byte challenge, as in version 1, so a C daemon can read it. */
export const V2_AGENT_CHALLENGE_SIZE = 64;
export const V2_DAEMON_NONCE_SIZE = 32;
/** HMAC-SHA-256 output. */
export const V2_TAG_SIZE = 32;
/** The daemon's first message: its nonce and its proof, 64 bytes like a version 1 answer. */
export const V2_DAEMON_HELLO_SIZE = V2_DAEMON_NONCE_SIZE + V2_TAG_SIZE;
export const V2_MAX_IDENTITY = 255;

/**
 * The role labels that start every HMAC input, each ending in NUL: a tag made for one purpose never
 * verifies as another, so a daemon's proof is never an agent's proof (reflection between hosts).
 */
export const V2Label = {
  key: 'fence-virt/2 key\0',
  daemonProof: 'fence-virt/2 daemon proof\0',
  agentProof: 'fence-virt/2 agent proof\0',
  answer: 'fence-virt/2 answer\0',
} as const;

export type ProtocolVersion = 1 | 2;
export type ProtocolPolicy = 'auto' | '1' | '2';
export const PROTOCOL_POLICIES: readonly ProtocolPolicy[] = ['auto', '1', '2'];

export type ProtocolOffer = { version: 1 } | { version: 2; timestampMs: number };

/** Marks an encoded (unsigned) request as a version 2 offer made at `timestampMs`; sign it afterwards. */
export function markProtocol2(packet: Buffer, timestampMs: number): void {
  if (packet.length !== FENCE_REQUEST_SIZE) throw new ProtocolError('WRONG_LENGTH', 'request buffer must be 176 bytes');
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) throw new ProtocolError('BAD_FIELD', 'timestamp must be a whole number of ms');
  packet[FenceRequestLayout.flags] = (packet[FenceRequestLayout.flags] as number) | FLAG_PROTOCOL_2;
  packet.fill(0, V2_EXTENSION_OFFSET, V2_EXTENSION_OFFSET + V2_EXTENSION_SIZE);
  packet.writeBigUInt64LE(BigInt(timestampMs), V2_EXTENSION_OFFSET);
}

/**
 * What a request offers. Version 1 requests are not looked into further (C agents leave the room
 * zero, and version 1 stays what it was); a version 2 offer must have its 4 reserved bytes zero.
 */
export function readProtocolOffer(packet: Uint8Array): ProtocolOffer {
  if (packet.length !== FENCE_REQUEST_SIZE) throw new ProtocolError('WRONG_LENGTH', `request is ${packet.length} bytes`);
  if (((packet[FenceRequestLayout.flags] as number) & FLAG_PROTOCOL_2) === 0) return { version: 1 };
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  if (b.subarray(V2_EXTENSION_OFFSET + 8, V2_EXTENSION_OFFSET + V2_EXTENSION_SIZE).some((x) => x !== 0)) {
    throw new ProtocolError('BAD_FIELD', 'the reserved bytes of the version 2 extension are not zero');
  }
  const ts = b.readBigUInt64LE(V2_EXTENSION_OFFSET);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError('BAD_FIELD', 'the version 2 timestamp is out of range');
  return { version: 2, timestampMs: Number(ts) };
}

/** Where the address bytes a version 1 client would fill end: the extension is not part of them. */
export function addressFieldEnd(packet: Uint8Array): number {
  return ((packet[FenceRequestLayout.flags] as number) & FLAG_PROTOCOL_2) !== 0 ? V2_EXTENSION_OFFSET : FenceRequestLayout.port;
}

/**
 * The peer as the listener names it, in the bytes both ends put into the transcript: an IPv4-mapped
 * IPv6 address is written as plain IPv4 (a dual-stack listener sees ::ffff:a.b.c.d where the agent
 * sees a.b.c.d), a vsock CID in decimal.
 */
export function peerIdentityBytes(identity: string): Buffer {
  const plain = /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(identity) ? identity.slice(7) : identity;
  const bytes = Buffer.from(plain, 'utf8');
  if (bytes.length > V2_MAX_IDENTITY) throw new ProtocolError('BAD_FIELD', 'peer identity longer than 255 bytes');
  return bytes;
}

/**
 * The transcript every version 2 tag covers after its label: the 176 request bytes, the agent's 64-byte
 * challenge, the daemon's 32-byte nonce, then the peer identity with a length byte.
 */
export function v2Transcript(request: Uint8Array, agentChallenge: Uint8Array, daemonNonce: Uint8Array, identity: string): Buffer {
  if (
    request.length !== FENCE_REQUEST_SIZE ||
    agentChallenge.length !== V2_AGENT_CHALLENGE_SIZE ||
    daemonNonce.length !== V2_DAEMON_NONCE_SIZE
  ) {
    throw new ProtocolError('BAD_FIELD', 'transcript parts have the wrong sizes');
  }
  const id = peerIdentityBytes(identity);
  return Buffer.concat([request, agentChallenge, daemonNonce, Buffer.of(id.length), id]);
}
