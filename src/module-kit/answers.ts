/** Checks of the dialog's answers: each returns undefined for a usable answer, or why it is not. */
import { isIP } from 'node:net';
import { valueProblem } from '../config/syntax.js';
import { strtol } from '../util/c-number.js';

/** Anything written into the file must be readable back (no '"', not empty). */
export function textProblem(answer: string): string | undefined {
  return valueProblem(answer);
}

/** A port as the C dialog reads it (strtol base 0, so 0x4cd works); stored in decimal. */
export function parsePort(answer: string): number | undefined {
  const parsed = strtol(answer);
  const port = Number(parsed.value);
  return parsed.complete && port >= 1 && port <= 65535 ? port : undefined;
}

export function portProblem(answer: string): string | undefined {
  return parsePort(answer) === undefined ? `Invalid port '${answer}': expected a number from 1 to 65535.` : undefined;
}

export function familyOf(address: string): 'ipv4' | 'ipv6' | undefined {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : undefined;
}

export function addressProblem(answer: string): string | undefined {
  return familyOf(answer) ? undefined : `'${answer}' is not an IPv4 or IPv6 address.`;
}

export function multicastGroupProblem(answer: string): string | undefined {
  const family = familyOf(answer);
  if (!family) return addressProblem(answer);
  const group = family === 'ipv4' ? Number(answer.split('.')[0]) >= 224 && Number(answer.split('.')[0]) <= 239 : /^ff/i.test(answer);
  return group ? undefined : `'${answer}' is not a multicast group (IPv4 224.0.0.0 to 239.255.255.255, IPv6 ff00::/8).`;
}

/** A listener instance name: a block name that a path and the list syntax can carry. */
export function instanceNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return `'${name}' cannot name a listener (letters, digits, '_', '.', '-' only).`;
  return undefined;
}
