import { DOMAIN_FIELD_SIZE, Family, isHashType, isRequestCode, type AddressFamily, type HashType } from './constants.js';
import { ProtocolError } from './errors.js';
import { readFixedString, writeFixedString } from './fixed-string.js';
import { addressToBytes, ipv4ToText, ipv6ToText } from './ip-address.js';

/**
 * `fence_req_t`, the 176-byte request of the multicast, TCP and vsock paths
 * (docs/protocol.md#request-packet-fence_req).
 */
export const FENCE_REQUEST_SIZE = 176;

export const FenceRequestLayout = {
  request: 0,
  hashType: 1,
  addrLen: 2,
  flags: 3,
  domain: 4,
  address: 68,
  port: 96,
  random: 98,
  seqno: 104,
  family: 108,
  hash: 112,
} as const;
export const ADDRESS_SIZE = 28;
export const RANDOM_SIZE = 6;

/** Flag bit 0: the domain string is a UUID. Clients set it for `-u`; daemons ignore it. */
export const FLAG_USE_UUID = 1;

export interface FenceRequest {
  /** A RequestCode; only a decoder told to accept unknown codes lets other values through. */
  request: number;
  hashType: HashType;
  flags: number;
  domain: string;
  /** Connect-back address as numeric text (multicast), or null when family is NONE (TCP, vsock). */
  address: string | null;
  family: AddressFamily;
  /** Connect-back port (multicast); 0 on TCP and vsock. */
  port: number;
  /** The 6 random bytes covered by the signature; zero when unsigned. */
  random: Uint8Array;
  seqno: number;
}

export interface DecodeRequestOptions {
  /**
   * The C daemon authenticates a request with an unknown code and answers it FAIL
   * (docs/protocol.md#request-codes); a daemon that wants the same sets this and switches on `request`
   * itself.
   */
  acceptUnknownRequest?: boolean;
}

function addressLength(family: AddressFamily): number {
  return family === Family.INET ? 4 : family === Family.INET6 ? 16 : 0;
}

/** Encodes every field, hash zeroed; sign it with signRequest. */
export function encodeFenceRequest(req: FenceRequest, out: Buffer = Buffer.alloc(FENCE_REQUEST_SIZE)): Buffer {
  if (out.length !== FENCE_REQUEST_SIZE) throw new ProtocolError('WRONG_LENGTH', 'request buffer must be 176 bytes');
  const L = FenceRequestLayout;
  if (!isRequestCode(req.request)) throw new ProtocolError('UNKNOWN_REQUEST', `unknown request code ${req.request}`);
  if (!isHashType(req.hashType)) throw new ProtocolError('UNKNOWN_HASH', `unknown hash type ${req.hashType}`);
  out.fill(0);
  out[L.request] = req.request;
  out[L.hashType] = req.hashType;
  out[L.addrLen] = addressLength(req.family);
  out[L.flags] = req.flags & 0xff;
  writeFixedString(out, L.domain, DOMAIN_FIELD_SIZE, req.domain, 'domain');
  if (req.family !== Family.NONE) {
    if (req.address === null) throw new ProtocolError('BAD_ADDRESS', 'a connect-back family needs an address');
    out.set(addressToBytes(req.address, req.family === Family.INET ? 'ipv4' : 'ipv6'), L.address);
  } else if (req.address !== null) {
    throw new ProtocolError('BAD_FAMILY', 'an address needs family INET or INET6');
  }
  out.writeUInt16LE(req.port, L.port);
  if (req.random.length !== RANDOM_SIZE) throw new ProtocolError('BAD_FIELD', 'random must be 6 bytes');
  out.set(req.random, L.random);
  out.writeUInt32LE(req.seqno >>> 0, L.seqno);
  out.writeUInt32LE(req.family, L.family);
  return out;
}

export function decodeFenceRequest(buf: Uint8Array, options: DecodeRequestOptions = {}): FenceRequest {
  if (buf.length !== FENCE_REQUEST_SIZE) {
    throw new ProtocolError('WRONG_LENGTH', `request is ${buf.length} bytes; expected ${FENCE_REQUEST_SIZE}`);
  }
  const L = FenceRequestLayout;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const request = b[L.request] as number;
  const hashType = b[L.hashType] as number;
  if (!isHashType(hashType)) throw new ProtocolError('UNKNOWN_HASH', `unknown hash type ${hashType}`);
  if (!isRequestCode(request) && !options.acceptUnknownRequest) {
    throw new ProtocolError('UNKNOWN_REQUEST', `unknown request code ${request}`);
  }
  const family = b.readUInt32LE(L.family);
  let address: string | null;
  if (family === Family.INET) address = ipv4ToText(b.subarray(L.address, L.address + 4));
  else if (family === Family.INET6) address = ipv6ToText(b.subarray(L.address, L.address + 16));
  else if (family === Family.NONE) address = null;
  else throw new ProtocolError('BAD_FAMILY', `address family ${family} is neither 2 (IPv4) nor 10 (IPv6)`);
  return {
    request,
    hashType,
    flags: b[L.flags] as number,
    domain: readFixedString(b, L.domain, DOMAIN_FIELD_SIZE, 'domain'),
    address,
    family: family as AddressFamily,
    port: b.readUInt16LE(L.port),
    random: new Uint8Array(b.subarray(L.random, L.random + RANDOM_SIZE)),
    seqno: b.readUInt32LE(L.seqno),
  };
}
