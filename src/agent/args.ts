/**
 * The parsed settings of one agent run, with the C agents' defaults (docs/protocol.md#agent-options).
 */
import {
  DEFAULT_IPV4_GROUP,
  DEFAULT_IPV6_GROUP,
  DEFAULT_KEY_FILE,
  DEFAULT_PORT,
  Family,
  Hash,
  Request,
  type HashType,
  type ProtocolPolicy,
  type RequestCode,
} from '../protocol/index.js';

/**
 * How the request travels. The debug dump prints the mode before -T/-S switch it, so only the two
 * defaults show, with the C enum's values 0 and 2; TCP and vsock just need distinct values.
 */
export const Mode = { MULTICAST: 0, SERIAL: 2, TCP: 3, VSOCK: 4 } as const;
export type AgentMode = (typeof Mode)[keyof typeof Mode];

export const DEFAULT_CHANNEL_ADDRESS = '10.0.2.179';
export const DEFAULT_SERIAL_PARAMS = '115200,8N1';

export interface AgentArgs {
  domain: string | undefined;
  op: RequestCode;
  mode: AgentMode;
  debug: number;
  /** Seconds. */
  timeout: number;
  /** Seconds, before on/off/reboot/null. */
  delay: number;
  /** Multicast retransmit period in tenths of a second. */
  retrans: number;
  useUuid: boolean;
  help: boolean;
  version: boolean;
  /** Some option was invalid: its message is already printed; usage follows, exit 1. */
  error: boolean;
  /** Multicast group; undefined until finalizeArgs picks the family's default. */
  multicastAddress: string | undefined;
  /** TCP mode target (fence_virt -T). */
  ipaddr: string | undefined;
  /** vsock target CID; 0 = not in vsock mode. */
  cid: number;
  keyFile: string;
  port: number;
  hash: HashType;
  auth: HashType;
  /** 0 = decide from the group address. */
  family: 0 | typeof Family.INET | typeof Family.INET6;
  serialDevice: string | undefined;
  serialParams: string;
  channelAddress: string;
  /** Wire protocol policy (`--protocol`, stdin `protocol`): auto offers version 2 and accepts 1. */
  protocol: ProtocolPolicy;
}

export function defaultArgs(mode: AgentMode): AgentArgs {
  return {
    domain: undefined,
    op: Request.REBOOT,
    mode,
    debug: 0,
    timeout: 30,
    delay: 0,
    retrans: 20,
    useUuid: false,
    help: false,
    version: false,
    error: false,
    multicastAddress: undefined,
    ipaddr: undefined,
    cid: 0,
    keyFile: DEFAULT_KEY_FILE,
    port: DEFAULT_PORT,
    hash: Hash.SHA256,
    auth: Hash.SHA256,
    family: 0,
    serialDevice: undefined,
    serialParams: DEFAULT_SERIAL_PARAMS,
    channelAddress: DEFAULT_CHANNEL_ADDRESS,
    protocol: 'auto',
  };
}

/**
 * Picks the group default for the family and the family from the group's spelling (a '.' means IPv4
 * and wins over ':'), as the C agents do after parsing. Returns the message of a failure.
 */
export function finalizeArgs(args: AgentArgs): string | undefined {
  args.multicastAddress ??= args.family === Family.INET6 ? DEFAULT_IPV6_GROUP : DEFAULT_IPV4_GROUP;
  if (args.family !== 0) return undefined;
  if (args.multicastAddress.includes('.')) args.family = Family.INET;
  else if (args.multicastAddress.includes(':')) args.family = Family.INET6;
  else return 'Could not determine address family';
  return undefined;
}

/** Actions that need no domain. */
export function needsDomain(op: RequestCode): boolean {
  return op !== Request.DEVSTATUS && op !== Request.HOSTLIST && op !== Request.METADATA;
}

/** Actions that wait `delay` seconds first: the ones that change or probe a VM. */
export function isDelayed(op: RequestCode): boolean {
  return op !== Request.STATUS && op !== Request.DEVSTATUS && op !== Request.HOSTLIST;
}
