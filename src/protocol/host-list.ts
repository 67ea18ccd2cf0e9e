import { DOMAIN_FIELD_SIZE, Response } from './constants.js';
import { readFixedString, truncateUtf8, writeFixedString } from './fixed-string.js';
import { encodeSerialResponse } from './serial-messages.js';

/** `host_state_t` records of the host-list answer (docs/protocol.md#host-list). */
export const HOST_RECORD_SIZE = 130;
const NAME_OFFSET = 0;
const UUID_OFFSET = 64;
const STATE_OFFSET = 128;

export type HostListFraming = 'network' | 'serial';

/** One domain of a host-list answer, as a backend reports it. */
export interface HostInfo {
  /** Domain name as libvirt reports it. */
  name: string;
  /** Canonical lowercase UUID string. */
  uuid: string;
  /** Raw libvirt domain state (1 running, 3 paused, 5 shut off, ...). */
  state: number;
}

/**
 * Writes a fully defined record: unlike the C daemon, no stack bytes leak into padding
 * (docs/compatibility.md, row 'host-list records'). A name longer than the field is cut to 63 bytes,
 * as C does: refusing it would break the whole list mid-answer.
 */
export function encodeHostRecord(host: HostInfo, out: Buffer = Buffer.alloc(HOST_RECORD_SIZE), offset = 0): Buffer {
  out.fill(0, offset, offset + HOST_RECORD_SIZE);
  writeFixedString(out, offset + NAME_OFFSET, DOMAIN_FIELD_SIZE, truncateUtf8(host.name, DOMAIN_FIELD_SIZE - 1), 'host name');
  writeFixedString(out, offset + UUID_OFFSET, DOMAIN_FIELD_SIZE, host.uuid, 'host uuid');
  out[offset + STATE_OFFSET] = host.state & 0xff;
  return out;
}

export interface HostRecord extends HostInfo {
  /** True for the all-empty record that ends the list. */
  terminator: boolean;
}

/** Tolerates what the C daemon leaves in the last byte of each string and in the pad byte. */
export function decodeHostRecord(buf: Uint8Array, offset = 0): HostRecord {
  const name = readFixedString(buf, offset + NAME_OFFSET, DOMAIN_FIELD_SIZE, 'host name', { garbageLastByte: true });
  const uuid = readFixedString(buf, offset + UUID_OFFSET, DOMAIN_FIELD_SIZE, 'host uuid', { garbageLastByte: true });
  const state = buf[offset + STATE_OFFSET] as number;
  return { name, uuid, state, terminator: name === '' && uuid === '' };
}

/** Records per chunk of a host-list answer: 8 KB, so a slow reader still shows progress per chunk. */
const RECORDS_PER_CHUNK = 64;

/**
 * The whole host-list answer as chunks to write in order: marker, the records of the hosts and the
 * all-zero terminator in blocks of up to RECORDS_PER_CHUNK records, then the backend's code alone.
 * Serial framing wraps marker and code in 5-byte responses. Blocks, not one buffer per record: two
 * thousand domains are 32 writes, not 2,000 write requests and buffers alive at once.
 */
export function* hostListChunks(framing: HostListFraming, hosts: readonly HostInfo[], code: number): Generator<Buffer> {
  yield framing === 'serial' ? encodeSerialResponse(Response.HOSTLIST) : Buffer.of(Response.HOSTLIST);
  // The terminator is the record after the last host: zero-filled, it needs no encoding.
  for (let first = 0; first <= hosts.length; first += RECORDS_PER_CHUNK) {
    const records = Math.min(RECORDS_PER_CHUNK, hosts.length + 1 - first);
    const block = Buffer.alloc(records * HOST_RECORD_SIZE);
    for (let i = 0; i < records && first + i < hosts.length; i++)
      encodeHostRecord(hosts[first + i] as HostInfo, block, i * HOST_RECORD_SIZE);
    yield block;
  }
  yield framing === 'serial' ? encodeSerialResponse(code) : Buffer.of(code & 0xff);
}
