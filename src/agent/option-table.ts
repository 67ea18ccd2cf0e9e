/**
 * Every option of the agents: getopt letter, stdin key, help and metadata text, and how a value is
 * checked and stored (docs/protocol.md#agent-options). Help, metadata and both parsers are driven by
 * this one table; its order is the C agents' (it decides which entry a stdin key finds first).
 */
import { statSync } from 'node:fs';
import {
  DEFAULT_KEY_FILE,
  DOMAIN_FIELD_SIZE,
  Family,
  PROTOCOL_POLICIES,
  Request,
  parseHashName,
  type RequestCode,
} from '../protocol/index.js';
import { atoi, strtol, strtoul, toCInt } from '../util/c-number.js';
import { DEFAULT_CHANNEL_ADDRESS, DEFAULT_SERIAL_PARAMS, type AgentArgs } from './args.js';
import { strerror } from './errno-text.js';

export interface AssignContext {
  args: AgentArgs;
  /** A stdout line (the C agents print option errors on stdout). */
  say(line: string): void;
}

/** `value` is undefined for an option without argument (getopt) or a stdin key without `=`. */
type Assign = (ctx: AssignContext, value: string | undefined) => void;

export interface OptionSpec {
  /** getopt letter; stdin-only keys have none and are accepted by both programs. */
  letter?: string;
  /** Left column of the command-line help. */
  usage?: string;
  stdinName?: string;
  obsoletes?: string;
  deprecated?: boolean;
  /** The legacy `domain` key, listed after the others in the metadata. */
  compat?: boolean;
  contentType: 'boolean' | 'string' | 'integer';
  default?: string;
  /** The metadata's shortdesc, as the C agents write it; also the help text unless `help` is set. */
  description: string;
  /** The help text where the C one is wrong about what the agent does (docs/compatibility.md). */
  help?: string;
  assign?: Assign;
}

const ACTION_DESCRIPTION = 'Fencing action (null, off, on, [reboot], status, list, list-status, monitor, validate-all, metadata)';
const DOMAIN_DESCRIPTION = 'Virtual Machine (domain name) to fence';

const opNames: Readonly<Record<string, RequestCode>> = {
  null: Request.NULL,
  on: Request.ON,
  off: Request.OFF,
  reboot: Request.REBOOT,
  status: Request.STATUS,
  monitor: Request.DEVSTATUS,
  list: Request.HOSTLIST,
  'list-status': Request.HOSTLIST,
  metadata: Request.METADATA,
  'validate-all': Request.VALIDATEALL,
};

/** A strtol-parsed int that must satisfy `ok` and be the whole string, else `label` is refused. */
function intAssign(label: string, ok: (n: number) => boolean, store: (args: AgentArgs, n: number) => void): Assign {
  return ({ args, say }, value) => {
    if (value === undefined) return;
    const parsed = strtol(value);
    const n = toCInt(parsed.value);
    if (!ok(n) || !parsed.complete) {
      say(`Invalid ${label}: '${value}'`);
      args.error = true;
    } else {
      store(args, n);
    }
  };
}

function hashAssign(label: string, store: (args: AgentArgs, h: NonNullable<ReturnType<typeof parseHashName>>) => void): Assign {
  return ({ args, say }, value) => {
    if (value === undefined) return;
    const h = parseHashName(value);
    if (h === undefined) {
      say(`Unsupported ${label}: ${value}`);
      args.error = true;
    } else {
      store(args, h);
    }
  };
}

function stringAssign(store: (args: AgentArgs, value: string) => void): Assign {
  return ({ args }, value) => {
    if (value !== undefined) store(args, value);
  };
}

const assignDomain: Assign = ({ args, say }, value) => {
  if (args.domain !== undefined) {
    say('Domain/UUID may not be specified more than once');
    args.error = true;
    return;
  }
  if (value === undefined) return;
  args.domain = value;
  const bytes = Buffer.byteLength(value);
  if (bytes === 0) {
    say('Invalid domain name');
    args.error = true;
  }
  if (bytes >= DOMAIN_FIELD_SIZE) {
    say(`Invalid domain name: '${value}' (File name too long)`);
    args.error = true;
  }
};

const assignOp: Assign = ({ args, say }, value) => {
  if (value === undefined) return;
  const op = opNames[value.toLowerCase()];
  if (op === undefined) {
    say(`Unsupported operation: ${value}`);
    args.error = true;
  } else {
    args.op = op;
  }
};

const assignFamily: Assign = ({ args, say }, value) => {
  if (value === undefined) return;
  const family = { ipv4: Family.INET, ipv6: Family.INET6, auto: 0 as const }[value.toLowerCase()];
  if (family === undefined) {
    say(`Unsupported family: '${value}'`);
    args.error = true;
  } else {
    args.family = family;
  }
};

const assignCid: Assign = ({ args, say }, value) => {
  if (value === undefined) {
    args.cid = 2; // a bare -S means the host
    return;
  }
  const parsed = strtoul(value);
  if (!parsed.complete || parsed.value < 2n || parsed.value >= 0xffffffffn) {
    say(`Invalid CID: '${value}'`);
    args.error = true;
  } else {
    args.cid = Number(parsed.value);
  }
};

/** The key file only has to exist here; it is read when the request is signed. */
const assignKeyFile: Assign = ({ args, say }, value) => {
  if (value === undefined) return;
  args.keyFile = value;
  try {
    statSync(value);
  } catch (err) {
    say(`Invalid key file: '${value}' (${strerror(err)})`);
    args.error = true;
  }
};

const assignDebug: Assign = ({ args }, value) => {
  if (value === undefined) {
    args.debug++;
    return;
  }
  args.debug = atoi(value);
  if (args.debug < 0) args.debug = 1;
};

const assignUseUuid: Assign = ({ args }, value) => {
  if (value === undefined || atoi(value) !== 0) args.useUuid = true;
};

const assignProtocol: Assign = ({ args, say }, value) => {
  if (value === undefined) return;
  const policy = PROTOCOL_POLICIES.find((p) => p === value.toLowerCase());
  if (policy === undefined) {
    say(`Unsupported protocol: '${value}' (auto, 1 or 2)`);
    args.error = true;
  } else {
    args.protocol = policy;
  }
};

/** The long option that carries `protocol` on the command line: no C agent letter is taken from it. */
export const PROTOCOL_LONG_OPTION = '--protocol';

const notUserServiceable = (stdinName: string): OptionSpec => ({ stdinName, contentType: 'string', description: 'Not user serviceable' });

export const optionTable: readonly OptionSpec[] = [
  // Ours only: stdin `protocol=`, command line --protocol (parse-options.ts). No getopt letter, so the
  // C agents' help, usage and metadata stay as they are.
  {
    stdinName: 'protocol',
    contentType: 'string',
    default: 'auto',
    description: 'Wire protocol with fence_virtd: [auto], 1 or 2 (2 refuses a daemon that only speaks version 1)',
    assign: assignProtocol,
  },
  notUserServiceable('agent'),
  notUserServiceable('self'),
  notUserServiceable('nodename'),
  {
    letter: 'd',
    usage: '-d',
    stdinName: 'debug',
    contentType: 'boolean',
    description: 'Specify (stdin) or increment (command line) debug level',
    assign: assignDebug,
  },
  {
    letter: 'i',
    usage: '-i <family>',
    stdinName: 'ip_family',
    contentType: 'string',
    default: 'auto',
    description: 'IP Family ([auto], ipv4, ipv6)',
    assign: assignFamily,
  },
  {
    letter: 'a',
    usage: '-a <address>',
    stdinName: 'multicast_address',
    contentType: 'string',
    description: 'Multicast address (default=225.0.0.12 / ff05::3:1)',
    assign: stringAssign((args, v) => (args.multicastAddress = v)),
  },
  {
    letter: 'T',
    usage: '-T <address>',
    stdinName: 'ipaddr',
    contentType: 'string',
    default: '127.0.0.1',
    description: 'IP address to connect to in TCP mode (default=127.0.0.1 / ::1)',
    assign: stringAssign((args, v) => (args.ipaddr = v)),
  },
  {
    letter: 'S',
    usage: '-S <cid>',
    stdinName: 'vsock',
    contentType: 'integer',
    default: '2',
    description: 'vm socket CID to connect to in vsock mode',
    assign: assignCid,
  },
  {
    letter: 'A',
    usage: '-A <address>',
    stdinName: 'channel_address',
    contentType: 'string',
    default: DEFAULT_CHANNEL_ADDRESS,
    description: `VM Channel IP address (default=${DEFAULT_CHANNEL_ADDRESS})`,
    assign: stringAssign((args, v) => (args.channelAddress = v)),
  },
  {
    letter: 'p',
    usage: '-p <port>',
    stdinName: 'ipport',
    contentType: 'string',
    default: '1229',
    description: 'TCP, Multicast, VMChannel, or VM socket port (default=1229)',
    assign: intAssign(
      'port',
      (n) => n > 0 && n < 65536,
      (args, n) => (args.port = n),
    ),
  },
  {
    letter: 'r',
    usage: '-r <retrans>',
    stdinName: 'retrans',
    contentType: 'string',
    default: '20',
    description: 'Multicast retransmit time (in 1/10sec; default=20)',
    assign: intAssign(
      'retransmit time',
      (n) => n > 0,
      (args, n) => (args.retrans = n),
    ),
  },
  {
    letter: 'c',
    usage: '-c <hash>',
    stdinName: 'hash',
    contentType: 'string',
    default: 'sha256',
    description: 'Packet hash strength (none, sha1, [sha256], sha512)',
    assign: hashAssign('hash', (args, h) => (args.hash = h)),
  },
  {
    letter: 'C',
    usage: '-C <auth>',
    stdinName: 'auth',
    contentType: 'string',
    default: 'sha256',
    description: 'Authentication (none, sha1, [sha256], sha512)',
    assign: hashAssign('auth type', (args, h) => (args.auth = h)),
  },
  {
    letter: 'k',
    usage: '-k <file>',
    stdinName: 'key_file',
    contentType: 'string',
    default: DEFAULT_KEY_FILE,
    description: `Shared key file (default=${DEFAULT_KEY_FILE})`,
    assign: assignKeyFile,
  },
  {
    letter: 'D',
    usage: '-D <device>',
    stdinName: 'serial_device',
    contentType: 'string',
    default: '/dev/ttyS1',
    description: 'Serial device (default=/dev/ttyS1)',
    // Without a device both agents talk vmchannel (TCP to the channel address), never to /dev/ttyS1.
    help: 'Serial device (default: none, which means vmchannel to the VM Channel IP address)',
    assign: stringAssign((args, v) => (args.serialDevice = v)),
  },
  {
    letter: 'P',
    usage: '-P <param>',
    stdinName: 'serial_params',
    contentType: 'string',
    default: DEFAULT_SERIAL_PARAMS,
    description: `Serial Parameters (default=${DEFAULT_SERIAL_PARAMS})`,
    assign: stringAssign((args, v) => (args.serialParams = v)),
  },
  // Legacy spelling of `action`, stdin only.
  { stdinName: 'option', contentType: 'string', description: ACTION_DESCRIPTION, assign: assignOp },
  {
    letter: 'o',
    usage: '-o <operation>',
    stdinName: 'action',
    contentType: 'string',
    default: 'reboot',
    description: ACTION_DESCRIPTION,
    assign: assignOp,
  },
  {
    letter: 'n',
    usage: '-n <domain>',
    stdinName: 'plug',
    obsoletes: 'port',
    contentType: 'string',
    description: DOMAIN_DESCRIPTION,
    assign: assignDomain,
  },
  {
    letter: 'H',
    usage: '-H <domain>',
    stdinName: 'port',
    deprecated: true,
    contentType: 'string',
    description: DOMAIN_DESCRIPTION,
    assign: assignDomain,
  },
  {
    stdinName: 'domain',
    compat: true,
    contentType: 'string',
    description: `${DOMAIN_DESCRIPTION} (deprecated; use port)`,
    assign: assignDomain,
  },
  {
    letter: 'u',
    usage: '-u',
    stdinName: 'use_uuid',
    contentType: 'string',
    default: '0',
    description: 'Treat [domain] as UUID instead of domain name. This is provided for compatibility with older fence_xvmd installations.',
    assign: assignUseUuid,
  },
  {
    letter: 't',
    usage: '-t <timeout>',
    stdinName: 'timeout',
    contentType: 'string',
    default: '30',
    description: 'Fencing timeout (in seconds; default=30)',
    assign: intAssign(
      'timeout',
      (n) => n > 0,
      (args, n) => (args.timeout = n),
    ),
  },
  {
    letter: 'h',
    usage: '-h',
    contentType: 'boolean',
    default: '0',
    description: 'Help',
    assign: ({ args }) => (args.help = true),
  },
  {
    letter: '?',
    usage: '-?',
    contentType: 'boolean',
    default: '0',
    description: 'Help (alternate)',
    assign: ({ args }) => (args.help = true),
  },
  {
    letter: 'w',
    usage: '-w <delay>',
    stdinName: 'delay',
    contentType: 'string',
    default: '0',
    description: 'Fencing delay (in seconds; default=0)',
    assign: intAssign(
      'delay',
      (n) => n >= 0,
      (args, n) => (args.delay = n),
    ),
  },
  {
    letter: 'V',
    usage: '-V',
    contentType: 'boolean',
    default: '0',
    description: 'Display version and exit',
    assign: ({ args }) => (args.version = true),
  },
];

export function optionByLetter(letter: string): OptionSpec | undefined {
  return optionTable.find((o) => o.letter === letter);
}

export function optionByStdinName(name: string): OptionSpec | undefined {
  const lower = name.toLowerCase();
  return optionTable.find((o) => o.stdinName?.toLowerCase() === lower);
}

/** The option letters of a getopt string, in order, without the ':' argument markers. */
export function lettersOf(optstring: string): string[] {
  return [...optstring].filter((c) => c !== ':');
}
