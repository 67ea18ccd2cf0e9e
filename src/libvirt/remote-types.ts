/**
 * XDR layouts of the remote_protocol.x structures this client exchanges, as typed values. Pure.
 */
import { LibvirtError } from './errors.js';
import { REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX, REMOTE_STRING_MAX, TypedParamType } from './protocol.js';
import { uuidFromBytes, uuidToBytes } from './uuid.js';
import { XdrError, type XdrReader, type XdrWriter } from './xdr.js';

/** remote_nonnull_domain: how libvirt names a domain on the wire. */
export interface Domain {
  name: string;
  /** Canonical lowercase UUID. */
  uuid: string;
  /** Hypervisor id; -1 while the domain is not running. */
  id: number;
}

export function writeDomain(w: XdrWriter, d: Domain): void {
  w.string(d.name).fixedOpaque(uuidToBytes(d.uuid)).int(d.id);
}

export function readDomain(r: XdrReader): Domain {
  return { name: r.string(REMOTE_STRING_MAX), uuid: uuidFromBytes(r.fixedOpaque(16)), id: r.int() };
}

/** remote_domain_get_info_ret. */
export interface DomainInfo {
  /** virDomainState (DomainState in src/protocol/constants.ts). */
  state: number;
  maxMemKiB: bigint;
  memoryKiB: bigint;
  nrVirtCpu: number;
  cpuTimeNs: bigint;
}

export function readDomainInfo(r: XdrReader): DomainInfo {
  // XDR widens unsigned char and unsigned short to 4 bytes.
  return { state: r.uint(), maxMemKiB: r.uhyper(), memoryKiB: r.uhyper(), nrVirtCpu: r.uint(), cpuTimeNs: r.uhyper() };
}

/** remote_typed_param: a named value of one of the types of TypedParamType. */
export interface TypedParam {
  field: string;
  value: number | bigint | boolean | string;
}

export function readTypedParam(r: XdrReader): TypedParam {
  const field = r.string(REMOTE_STRING_MAX);
  const type = r.int();
  switch (type) {
    case TypedParamType.Int:
      return { field, value: r.int() };
    case TypedParamType.Uint:
      return { field, value: r.uint() };
    case TypedParamType.Llong:
      return { field, value: r.hyper() };
    case TypedParamType.Ullong:
      return { field, value: r.uhyper() };
    case TypedParamType.Double:
      return { field, value: r.double() };
    case TypedParamType.Boolean:
      return { field, value: r.int() !== 0 };
    case TypedParamType.String:
      return { field, value: r.string(REMOTE_STRING_MAX) };
    default:
      throw new XdrError(`typed parameter '${field}' has unknown type ${type}`);
  }
}

/** remote_domain_stats_record: one domain's statistics from virConnectGetAllDomainStats. */
export interface DomainStats {
  dom: Domain;
  params: TypedParam[];
}

export function readDomainStats(r: XdrReader): DomainStats {
  return { dom: readDomain(r), params: r.array(REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX, readTypedParam) };
}

/** remote_error, the payload of a reply with status ERROR. */
export function readRemoteError(r: XdrReader): LibvirtError {
  const readString = (x: XdrReader): string => x.string(REMOTE_STRING_MAX);
  const code = r.int();
  const domain = r.int();
  const message = r.optional(readString);
  const level = r.int();
  r.optional(readDomain); // dom: unused by libvirt
  r.optional(readString); // str1..str3 repeat parts of the message
  r.optional(readString);
  r.optional(readString);
  r.int(); // int1
  r.int(); // int2
  r.optional((x) => ({ name: readString(x), uuid: x.fixedOpaque(16) })); // net: unused
  return new LibvirtError(message ?? `libvirt error ${code}`, code, domain, level);
}

/** A lifecycle event as users see it (remote_domain_event_callback_lifecycle_msg). */
export interface LifecycleEvent {
  name: string;
  uuid: string;
  id: number;
  /** virDomainEventType (LifecycleEventType in protocol.ts). */
  event: number;
  /** Event-specific reason, e.g. VIR_DOMAIN_EVENT_STOPPED_DESTROYED. */
  detail: number;
}

export function readLifecycleMessage(r: XdrReader): { callbackId: number; event: LifecycleEvent } {
  const callbackId = r.int();
  const dom = readDomain(r);
  return { callbackId, event: { ...dom, event: r.int(), detail: r.int() } };
}
