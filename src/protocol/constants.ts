/**
 * Wire constants of the fence-virt protocol (docs/protocol.md#request-codes, #response-codes and
 * #hash-and-auth-algorithms).
 */

export const Request = {
  NULL: 0,
  OFF: 1,
  REBOOT: 2,
  ON: 3,
  STATUS: 4,
  DEVSTATUS: 5,
  HOSTLIST: 6,
  METADATA: 7,
  VALIDATEALL: 8,
} as const;
export type RequestCode = (typeof Request)[keyof typeof Request];

/** The requests that change a domain's power state: the fencing actions. */
export const FENCING_ACTIONS: ReadonlySet<number> = new Set([Request.OFF, Request.REBOOT, Request.ON]);

export const Response = {
  SUCCESS: 0,
  FAIL: 1,
  OFF: 2,
  PERM: 3,
  HOSTLIST: 0xfd,
} as const;

export const Hash = {
  NONE: 0,
  SHA1: 1,
  SHA256: 2,
  SHA512: 3,
} as const;
export type HashType = (typeof Hash)[keyof typeof Hash];

export const hashNames: Readonly<Record<HashType, string>> = {
  0: 'none',
  1: 'sha1',
  2: 'sha256',
  3: 'sha512',
};

/** Case-insensitive lookup of a hash/auth name as the config file and CLI spell it. */
export function parseHashName(name: string): HashType | undefined {
  const lower = name.toLowerCase();
  for (const [code, n] of Object.entries(hashNames)) if (n === lower) return Number(code) as HashType;
  return undefined;
}

export function isHashType(value: number): value is HashType {
  return value >= Hash.NONE && value <= Hash.SHA512 && Number.isInteger(value);
}

export function isRequestCode(value: number): value is RequestCode {
  return value >= Request.NULL && value <= Request.VALIDATEALL && Number.isInteger(value);
}

export const requestNames: Readonly<Record<RequestCode, string>> = {
  0: 'null',
  1: 'off',
  2: 'reboot',
  3: 'on',
  4: 'status',
  5: 'monitor',
  6: 'list',
  7: 'metadata',
  8: 'validate-all',
};

/** The action name of a request code, for logs; unknown codes show as unknown(N). */
export function requestName(code: number): string {
  return isRequestCode(code) ? requestNames[code] : `unknown(${code})`;
}

/** Linux address family numbers as they travel in `fence_req.family`. */
export const Family = { NONE: 0, INET: 2, INET6: 10 } as const;
export type AddressFamily = (typeof Family)[keyof typeof Family];

export const DEFAULT_PORT = 1229;
export const DEFAULT_IPV4_GROUP = '225.0.0.12';
export const DEFAULT_IPV6_GROUP = 'ff05::3:1';
export const DEFAULT_KEY_FILE = '/etc/cluster/fence_xvm.key';
export const DEFAULT_CONFIG_FILE = '/etc/fence_virt.conf';
export const MAX_KEY_LENGTH = 4096;
/**
 * The domain field of requests and the name and UUID fields of host-list records are 64 bytes; one NUL
 * always remains, so names have at most 63 bytes.
 */
export const DOMAIN_FIELD_SIZE = 64;
export const SERIAL_MAGIC = 0x61626261;
/** Size of the challenge and of the (zero-padded) answer in the challenge-response exchange. */
export const CHALLENGE_SIZE = 64;
export const HISTORY_WINDOW_MS = 10_000;

/** libvirt domain states as they appear raw in host-list records. */
export const DomainState = {
  NOSTATE: 0,
  RUNNING: 1,
  BLOCKED: 2,
  PAUSED: 3,
  SHUTDOWN: 4,
  SHUTOFF: 5,
  CRASHED: 6,
  PMSUSPENDED: 7,
} as const;
