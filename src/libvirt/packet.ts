/**
 * libvirt RPC packet framing (src/rpc/virnetprotocol.x): a 4-byte big-endian length that counts
 * itself, a 24-byte header, then the XDR payload. Pure: encodes packets and splits a byte stream back
 * into packets, rejecting lengths a real daemon never sends.
 */
import { XdrReader } from './xdr.js';

export const MessageType = { Call: 0, Reply: 1, Message: 2, Stream: 3, CallWithFds: 4, ReplyWithFds: 5 } as const;

export const MessageStatus = { Ok: 0, Error: 1, Continue: 2 } as const;

export interface PacketHeader {
  program: number;
  version: number;
  procedure: number;
  type: number;
  serial: number;
  status: number;
}

export interface Packet {
  header: PacketHeader;
  payload: Buffer;
}

const LENGTH_BYTES = 4;
const HEADER_BYTES = 24;
/** VIR_NET_MESSAGE_MAX: largest header + payload, not counting the length word. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export class PacketError extends Error {
  override name = 'PacketError';
}

export function encodePacket(header: PacketHeader, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const total = LENGTH_BYTES + HEADER_BYTES + payload.length;
  if (total - LENGTH_BYTES > MAX_MESSAGE_BYTES) {
    throw new PacketError(`message of ${total} bytes exceeds libvirt's limit of ${MAX_MESSAGE_BYTES}`);
  }
  // One buffer for the whole packet, every byte of it written below: a call is encoded per request.
  const packet = Buffer.allocUnsafe(total);
  packet.writeUInt32BE(total, 0);
  packet.writeUInt32BE(header.program, 4);
  packet.writeUInt32BE(header.version, 8);
  packet.writeInt32BE(header.procedure, 12);
  packet.writeInt32BE(header.type, 16);
  packet.writeUInt32BE(header.serial, 20);
  packet.writeInt32BE(header.status, 24);
  // The payload goes in as is: it is already XDR (aligned), and the length word counts its exact size.
  packet.set(payload, LENGTH_BYTES + HEADER_BYTES);
  return packet;
}

function decodeHeader(frame: Buffer): PacketHeader {
  const r = new XdrReader(frame, LENGTH_BYTES);
  return {
    program: r.uint(),
    version: r.uint(),
    procedure: r.int(),
    type: r.int(),
    serial: r.uint(),
    status: r.int(),
  };
}

/**
 * Reassembles packets from stream chunks. After a PacketError the stream is out of sync for good:
 * the caller must drop the connection.
 */
export class PacketDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): Packet[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Packet[] = [];
    while (this.buffered >= LENGTH_BYTES) {
      const head = this.peek(LENGTH_BYTES);
      const length = head.readUInt32BE(0);
      if (length < LENGTH_BYTES + HEADER_BYTES) {
        throw new PacketError(`packet length ${length} is smaller than the ${LENGTH_BYTES + HEADER_BYTES}-byte minimum`);
      }
      if (length - LENGTH_BYTES > MAX_MESSAGE_BYTES) {
        throw new PacketError(`packet length ${length} exceeds libvirt's limit of ${MAX_MESSAGE_BYTES + LENGTH_BYTES}`);
      }
      if (this.buffered < length) break;
      const frame = this.consume(length);
      out.push({ header: decodeHeader(frame), payload: frame.subarray(LENGTH_BYTES + HEADER_BYTES) });
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private consume(n: number): Buffer {
    const all = this.peek(n);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks[0] = rest;
    if (rest.length === 0) this.chunks.shift();
    this.buffered -= n;
    return frame;
  }
}
