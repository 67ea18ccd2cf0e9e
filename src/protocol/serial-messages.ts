import { DOMAIN_FIELD_SIZE, isRequestCode, SERIAL_MAGIC } from './constants.js';
import { ProtocolError } from './errors.js';
import { readFixedString, writeFixedString } from './fixed-string.js';

/**
 * `serial_req_t` (guest -> host, 74 bytes) and `serial_resp_t` (host -> guest, 5 bytes):
 * docs/protocol.md#serial-messages.
 */
export const SERIAL_REQUEST_SIZE = 74;
export const SERIAL_RESPONSE_SIZE = 5;
export const MAGIC_BYTES: Readonly<Uint8Array> = Uint8Array.of(0x61, 0x62, 0x62, 0x61);

export interface SerialRequest {
  /** A RequestCode, or any byte when decoded with acceptUnknownRequest. */
  request: number;
  flags: number;
  domain: string;
  seqno: number;
}

export function encodeSerialRequest(req: SerialRequest): Buffer {
  if (!isRequestCode(req.request)) throw new ProtocolError('UNKNOWN_REQUEST', `unknown request code ${req.request}`);
  const out = Buffer.alloc(SERIAL_REQUEST_SIZE);
  out.writeUInt32LE(SERIAL_MAGIC, 0);
  out[4] = req.request;
  out[5] = req.flags & 0xff;
  writeFixedString(out, 6, DOMAIN_FIELD_SIZE, req.domain, 'domain');
  out.writeUInt32LE(req.seqno >>> 0, 70);
  return out;
}

export function decodeSerialRequest(buf: Uint8Array, options: { acceptUnknownRequest?: boolean } = {}): SerialRequest {
  if (buf.length !== SERIAL_REQUEST_SIZE) {
    throw new ProtocolError('WRONG_LENGTH', `serial request is ${buf.length} bytes; expected ${SERIAL_REQUEST_SIZE}`);
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.readUInt32LE(0) !== SERIAL_MAGIC) throw new ProtocolError('BAD_MAGIC', 'serial request does not start with the magic');
  const request = b[4] as number;
  if (!isRequestCode(request) && !options.acceptUnknownRequest) {
    throw new ProtocolError('UNKNOWN_REQUEST', `unknown request code ${request}`);
  }
  return { request, flags: b[5] as number, domain: readFixedString(b, 6, DOMAIN_FIELD_SIZE, 'domain'), seqno: b.readUInt32LE(70) };
}

export function encodeSerialResponse(code: number): Buffer {
  const out = Buffer.alloc(SERIAL_RESPONSE_SIZE);
  out.writeUInt32LE(SERIAL_MAGIC, 0);
  out[4] = code & 0xff;
  return out;
}

export function decodeSerialResponse(buf: Uint8Array): number {
  if (buf.length !== SERIAL_RESPONSE_SIZE) {
    throw new ProtocolError('WRONG_LENGTH', `serial response is ${buf.length} bytes; expected ${SERIAL_RESPONSE_SIZE}`);
  }
  if (Buffer.from(buf.buffer, buf.byteOffset, 4).readUInt32LE(0) !== SERIAL_MAGIC) {
    throw new ProtocolError('BAD_MAGIC', 'serial response does not start with the magic');
  }
  return buf[4] as number;
}
