/**
 * The messages fence_virtd hosts exchange in their corosync process group, byte-compatible with the C
 * daemon's cpg backend, so hosts running either can share the group (a rolling upgrade).
 *
 * Every message is a 16-byte header followed by one 140-byte body, 156 bytes in all. The C daemon
 * writes its structs in host byte order without conversion; it runs on little-endian machines, so
 * little-endian is the wire order here.
 *
 *   header   0 type (u32: 0 request, 1 reply, 2 store-vm)
 *            4 seqno (u32: the requester's message counter; a reply repeats it; 0 in store-vm)
 *            8 target (u32: the requester's node id in a reply; 0xffffffff otherwise)
 *           12 pad (u32: the C daemon leaves it uninitialised in requests and replies)
 *   request/reply body (the fence call; a reply is the request with `response` filled in)
 *           16 vm_name (128 bytes, NUL-terminated, zero-filled)
 *          144 request (i32: off 1, reboot 2, on 3, status 4)
 *          148 seqno (u32: the agent's request seqno; the C daemon sends 0 for status and reboot)
 *          152 response (u32: 0 in a request; 0 success/on, 1 failure, 2 off in a reply)
 *   store-vm body (one VM of the sender, announced so others know who runs it)
 *           16 name (65 bytes: up to 64 bytes then NUL; the C daemon leaves the last byte uninitialised)
 *           81 uuid (65 bytes, the same)
 *          146 2 bytes of alignment padding (uninitialised in the C daemon)
 *          148 owner (u32: node id of the host running the VM)
 *          152 state (i32: libvirt's domain state, 1 running ... 5 shut off)
 *
 * Encoding fills every byte (zeros where the C daemon leaves garbage). Decoding is strict about all
 * the C daemon defines and ignores only the bytes it leaves uninitialised.
 *
 * Three more types exist only between our daemons; the C daemon ignores types it does not know.
 *   drop-vm (0x103, 156 bytes): a store-vm body with state 0: the sender no longer has the VM (undefined
 *            or migrated away), which the C protocol cannot say.
 *   host-list-query (0x101, the 16-byte header alone): every member answers with its VMs.
 *   host-list (0x102): header (seqno of the query, target = the querier), then u32 part, u32 parts,
 *            u32 count and count store-vm bodies (140 bytes each); an answer comes in `parts` messages.
 */
import { Request, Response } from '../../protocol/constants.js';
import { ProtocolError } from '../../protocol/errors.js';
import { readFixedString, truncateUtf8, writeFixedString } from '../../protocol/fixed-string.js';
import { isUuidString } from '../../protocol/uuid.js';

/** The process group of the C daemon's cpg backend (its package name). */
export const CPG_GROUP = 'fence-agents';
/** "No node": the target of requests and announcements. */
export const NODE_ID_NONE = 0xffffffff;
export const CPG_MESSAGE_SIZE = 156;

const Type = { REQUEST: 0, REPLY: 1, STORE_VM: 2, HOST_LIST_QUERY: 0x101, HOST_LIST: 0x102, DROP_VM: 0x103 } as const;
const HEADER_SIZE = 16;
const VM_STATE_SIZE = 140;
const HOST_LIST_HEADER_SIZE = HEADER_SIZE + 12;
/** Records per host-list message: 280 kB, well below corosync's limit on one message (about 1 MB). */
export const HOST_LIST_RECORDS_PER_PART = 2000;
const VM_NAME_SIZE = 128;
/** v_name and v_uuid: a 64-byte domain name field plus one byte for the NUL. */
const STATE_STRING_SIZE = 65;

/** The calls that travel between hosts; the others are answered by the daemon that got them. */
export type CpgRequestCode = typeof Request.OFF | typeof Request.REBOOT | typeof Request.ON | typeof Request.STATUS;
export type CpgResponseCode = typeof Response.SUCCESS | typeof Response.FAIL | typeof Response.OFF;

const REQUEST_CODES: readonly number[] = [Request.OFF, Request.REBOOT, Request.ON, Request.STATUS];
const RESPONSE_CODES: readonly number[] = [Response.SUCCESS, Response.FAIL, Response.OFF];

export interface FenceCall {
  request: CpgRequestCode;
  /** The domain as the agent named it (name or UUID), up to 127 bytes. */
  vmName: string;
  /** The agent's request seqno. */
  fenceSeqno: number;
}

export interface CpgRequest extends FenceCall {
  type: 'request';
  /** The sender's message counter, which the reply repeats. */
  seqno: number;
}

export interface CpgReply extends FenceCall {
  type: 'reply';
  seqno: number;
  /** The node id of the requester (every member receives the reply; only the target uses it). */
  target: number;
  response: CpgResponseCode;
}

/** One VM of one host, as store-vm announces it. */
export interface VmRecord {
  /** Up to 64 bytes. */
  name: string;
  /** The canonical UUID string as libvirt prints it. */
  uuid: string;
  /** The node id of the host that has the VM. */
  owner: number;
  /** libvirt's domain state. */
  state: number;
}

export interface CpgStoreVm extends VmRecord {
  type: 'store-vm';
}

export interface CpgDropVm {
  type: 'drop-vm';
  name: string;
  uuid: string;
  /** The sender, which no longer has the VM. */
  owner: number;
}

export interface CpgHostListQuery {
  type: 'host-list-query';
  seqno: number;
}

export interface CpgHostList {
  type: 'host-list';
  /** The query's seqno. */
  seqno: number;
  /** The querier's node id. */
  target: number;
  /** This message's index among `parts`. */
  part: number;
  parts: number;
  vms: VmRecord[];
}

export type CpgMessage = CpgRequest | CpgReply | CpgStoreVm | CpgDropVm | CpgHostListQuery | CpgHostList;

/** The reply to `request` from node `target` (the requester), as the C daemon builds it: the request echoed. */
export function replyTo(request: CpgRequest, target: number, response: CpgResponseCode): CpgReply {
  return {
    type: 'reply',
    seqno: request.seqno,
    target,
    request: request.request,
    vmName: request.vmName,
    fenceSeqno: request.fenceSeqno,
    response,
  };
}

function checkU32(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ProtocolError('BAD_FIELD', `${field} must be an unsigned 32-bit integer, got ${value}`);
  }
  return value;
}

/** A real node id: corosync never uses 0, and all ones means none. */
function checkNodeId(value: number, field: string): number {
  checkU32(value, field);
  if (value === 0 || value === NODE_ID_NONE) throw new ProtocolError('BAD_FIELD', `${field} ${value} is not a node id`);
  return value;
}

function writeHeader(out: Buffer, type: number, seqno: number, target: number): void {
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(checkU32(seqno, 'seqno'), 4);
  out.writeUInt32LE(target, 8);
  out.writeUInt32LE(0, 12);
}

function writeCall(out: Buffer, call: FenceCall, response: number): void {
  if (!REQUEST_CODES.includes(call.request)) {
    throw new ProtocolError('UNKNOWN_REQUEST', `request ${call.request} does not travel between hosts`);
  }
  writeFixedString(out, HEADER_SIZE, VM_NAME_SIZE, call.vmName, 'vm_name');
  out.writeInt32LE(call.request, 144);
  out.writeUInt32LE(checkU32(call.fenceSeqno, 'fence seqno'), 148);
  out.writeUInt32LE(response, 152);
}

function writeRecord(out: Buffer, at: number, vm: VmRecord): void {
  if (!isUuidString(vm.uuid)) throw new ProtocolError('BAD_FIELD', `uuid ${JSON.stringify(vm.uuid)} is not a UUID`);
  if (!Number.isInteger(vm.state) || vm.state < 0 || vm.state > 0x7fffffff) {
    throw new ProtocolError('BAD_FIELD', `state ${vm.state} is not a domain state`);
  }
  // libvirt names may be longer than the field: cut at 64 bytes as the C daemon's strncpy does, so the
  // announcement still goes out (the VM stays reachable by UUID, and by the cut name, everywhere).
  writeFixedString(out, at, STATE_STRING_SIZE, truncateUtf8(vm.name, STATE_STRING_SIZE - 1), 'name');
  writeFixedString(out, at + STATE_STRING_SIZE, STATE_STRING_SIZE, vm.uuid, 'uuid');
  out.writeUInt32LE(checkNodeId(vm.owner, 'owner'), at + 132);
  out.writeInt32LE(vm.state, at + 136);
}

/** The messages answering a host-list query with `vms`, HOST_LIST_RECORDS_PER_PART records each. */
export function hostListParts(seqno: number, target: number, vms: readonly VmRecord[]): CpgHostList[] {
  const parts = Math.max(1, Math.ceil(vms.length / HOST_LIST_RECORDS_PER_PART));
  return Array.from({ length: parts }, (_, part) => ({
    type: 'host-list',
    seqno,
    target,
    part,
    parts,
    vms: vms.slice(part * HOST_LIST_RECORDS_PER_PART, (part + 1) * HOST_LIST_RECORDS_PER_PART),
  }));
}

export function encodeCpgMessage(message: CpgMessage): Buffer {
  if (message.type === 'host-list-query') {
    const out = Buffer.alloc(HEADER_SIZE);
    writeHeader(out, Type.HOST_LIST_QUERY, message.seqno, NODE_ID_NONE);
    return out;
  }
  if (message.type === 'host-list') {
    if (message.vms.length > HOST_LIST_RECORDS_PER_PART) {
      throw new ProtocolError('BAD_FIELD', `${message.vms.length} records do not fit one host-list message`);
    }
    if (
      !Number.isInteger(message.parts) ||
      message.parts < 1 ||
      !Number.isInteger(message.part) ||
      message.part < 0 ||
      message.part >= message.parts
    ) {
      throw new ProtocolError('BAD_FIELD', `part ${message.part} of ${message.parts} is not a part`);
    }
    const out = Buffer.alloc(HOST_LIST_HEADER_SIZE + message.vms.length * VM_STATE_SIZE);
    writeHeader(out, Type.HOST_LIST, message.seqno, checkNodeId(message.target, 'target'));
    out.writeUInt32LE(message.part, 16);
    out.writeUInt32LE(message.parts, 20);
    out.writeUInt32LE(message.vms.length, 24);
    message.vms.forEach((vm, i) => writeRecord(out, HOST_LIST_HEADER_SIZE + i * VM_STATE_SIZE, vm));
    return out;
  }
  const out = Buffer.alloc(CPG_MESSAGE_SIZE);
  switch (message.type) {
    case 'request':
      writeHeader(out, Type.REQUEST, message.seqno, NODE_ID_NONE);
      writeCall(out, message, 0);
      break;
    case 'reply':
      if (!RESPONSE_CODES.includes(message.response)) {
        throw new ProtocolError('BAD_FIELD', `response ${message.response} is not 0, 1 or 2`);
      }
      writeHeader(out, Type.REPLY, message.seqno, checkNodeId(message.target, 'target'));
      writeCall(out, message, message.response);
      break;
    case 'store-vm':
    case 'drop-vm':
      writeHeader(out, message.type === 'store-vm' ? Type.STORE_VM : Type.DROP_VM, 0, NODE_ID_NONE);
      writeRecord(out, HEADER_SIZE, { ...message, state: message.type === 'store-vm' ? message.state : 0 });
      break;
  }
  return out;
}

function readCall(b: Buffer): FenceCall {
  const request = b.readInt32LE(144);
  if (!REQUEST_CODES.includes(request)) throw new ProtocolError('UNKNOWN_REQUEST', `request ${request} does not travel between hosts`);
  const vmName = readFixedString(b, HEADER_SIZE, VM_NAME_SIZE, 'vm_name');
  if (vmName === '') throw new ProtocolError('BAD_FIELD', 'vm_name is empty');
  return { request: request as CpgRequestCode, vmName, fenceSeqno: b.readUInt32LE(148) };
}

function expect(actual: number, wanted: number, field: string): void {
  if (actual !== wanted) throw new ProtocolError('BAD_FIELD', `${field} is ${actual}; expected ${wanted}`);
}

/** A store-vm body; the C daemon leaves the strings' last bytes and the alignment padding unset. */
function readRecord(b: Buffer, at: number): VmRecord {
  const name = readFixedString(b, at, STATE_STRING_SIZE, 'name', { garbageLastByte: true });
  const uuid = readFixedString(b, at + STATE_STRING_SIZE, STATE_STRING_SIZE, 'uuid', { garbageLastByte: true });
  if (name === '') throw new ProtocolError('BAD_FIELD', 'name is empty');
  if (!isUuidString(uuid)) throw new ProtocolError('BAD_FIELD', `uuid ${JSON.stringify(uuid)} is not a UUID`);
  const owner = checkNodeId(b.readUInt32LE(at + 132), 'owner');
  const state = b.readInt32LE(at + 136);
  if (state < 0) throw new ProtocolError('BAD_FIELD', `state ${state} is not a domain state`);
  return { name, uuid, owner, state };
}

function checkLength(actual: number, wanted: number, what: string): void {
  if (actual !== wanted) throw new ProtocolError('WRONG_LENGTH', `${what} is ${actual} bytes; expected ${wanted}`);
}

export function decodeCpgMessage(buf: Uint8Array): CpgMessage {
  if (buf.length < HEADER_SIZE) checkLength(buf.length, CPG_MESSAGE_SIZE, 'cpg message');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const type = b.readUInt32LE(0);
  const seqno = b.readUInt32LE(4);
  const target = b.readUInt32LE(8);
  switch (type) {
    case Type.REQUEST: {
      checkLength(b.length, CPG_MESSAGE_SIZE, 'cpg message');
      expect(target, NODE_ID_NONE, 'target of a request');
      const call = readCall(b);
      expect(b.readUInt32LE(152), 0, 'response of a request');
      return { type: 'request', seqno, ...call };
    }
    case Type.REPLY: {
      checkLength(b.length, CPG_MESSAGE_SIZE, 'cpg message');
      checkNodeId(target, 'target of a reply');
      const call = readCall(b);
      const response = b.readUInt32LE(152);
      if (!RESPONSE_CODES.includes(response)) throw new ProtocolError('BAD_FIELD', `response ${response} is not 0, 1 or 2`);
      return { type: 'reply', seqno, target, ...call, response: response as CpgResponseCode };
    }
    case Type.STORE_VM:
    case Type.DROP_VM: {
      checkLength(b.length, CPG_MESSAGE_SIZE, 'cpg message');
      const what = type === Type.STORE_VM ? 'store-vm' : 'drop-vm';
      expect(seqno, 0, `seqno of a ${what}`);
      expect(target, NODE_ID_NONE, `target of a ${what}`);
      const vm = readRecord(b, HEADER_SIZE);
      if (type === Type.STORE_VM) return { type: 'store-vm', ...vm };
      expect(vm.state, 0, 'state of a drop-vm');
      return { type: 'drop-vm', name: vm.name, uuid: vm.uuid, owner: vm.owner };
    }
    case Type.HOST_LIST_QUERY:
      checkLength(b.length, HEADER_SIZE, 'host-list query');
      expect(target, NODE_ID_NONE, 'target of a host-list query');
      return { type: 'host-list-query', seqno };
    case Type.HOST_LIST: {
      if (b.length < HOST_LIST_HEADER_SIZE) checkLength(b.length, HOST_LIST_HEADER_SIZE, 'host list');
      checkNodeId(target, 'target of a host list');
      const part = b.readUInt32LE(16);
      const parts = b.readUInt32LE(20);
      const count = b.readUInt32LE(24);
      if (parts < 1 || part >= parts) throw new ProtocolError('BAD_FIELD', `part ${part} of ${parts} is not a part`);
      if (count > HOST_LIST_RECORDS_PER_PART) throw new ProtocolError('BAD_FIELD', `${count} records in one host-list message`);
      checkLength(b.length, HOST_LIST_HEADER_SIZE + count * VM_STATE_SIZE, `host list of ${count} records`);
      const vms = Array.from({ length: count }, (_, i) => readRecord(b, HOST_LIST_HEADER_SIZE + i * VM_STATE_SIZE));
      return { type: 'host-list', seqno, target, part, parts, vms };
    }
    default:
      throw new ProtocolError('BAD_FIELD', `unknown cpg message type ${type}`);
  }
}
