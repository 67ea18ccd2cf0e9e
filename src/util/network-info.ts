/**
 * What the kernel says about interfaces and routes: interfaces from iproute2's `ip -j addr` (sysfs
 * shows the interfaces of whichever network namespace mounted it, and Node lists only interfaces that
 * are up and running), routes from /proc/net, which always shows the caller's own namespace.
 */
import type * as ChildProcess from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * node:child_process when first needed: only `--check` and `-c` list interfaces, and the serving
 * daemon, which loads this module with the multicast listener's, starts without it (a few ms).
 */
const childProcess = () => createRequire(import.meta.url)('node:child_process') as typeof ChildProcess;

const RTF_UP = 0x1;
const RTF_REJECT = 0x200;

export interface InterfaceInfo {
  name: string;
  up: boolean;
  ipv4: string[];
  ipv6: string[];
}

interface IpAddrEntry {
  ifname: string;
  flags?: string[];
  addr_info?: Array<{ family: string; local: string }>;
}

/** Every interface of this network namespace; throws when iproute2's `ip` cannot be run. */
export function listInterfaces(): InterfaceInfo[] {
  const entries = JSON.parse(
    childProcess().execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
  ) as IpAddrEntry[];
  return entries.map((e) => ({
    name: e.ifname,
    up: e.flags?.includes('UP') ?? false,
    ipv4: (e.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local),
    ipv6: (e.addr_info ?? []).filter((a) => a.family === 'inet6').map((a) => a.local),
  }));
}

export function interfaceNames(): string[] {
  return listInterfaces().map((i) => i.name);
}

export interface Route {
  interface: string;
  /** e.g. 224.0.0.0/4 or ff00::/8 */
  prefix: string;
  prefixLength: number;
  metric: number;
}

function ipv4Bits(address: string): number {
  return address.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** Rows (split into fields) of a /proc route table whose flags (hex, field `flagsField`) say up and not reject. */
function usableRoutes(table: string, fields: number, flagsField: number): string[][] {
  let text: string;
  try {
    text = readFileSync(table, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => {
      const text = f[flagsField] ?? '';
      const flags = /^[0-9A-Fa-f]+$/.test(text) ? parseInt(text, 16) : 0;
      return f.length >= fields && (flags & RTF_UP) !== 0 && (flags & RTF_REJECT) === 0;
    });
}

/** /proc/net/route holds the main table with addresses as little-endian hex. */
function ipv4Routes(): Array<Route & { bits: number; mask: number }> {
  // The header row has no numeric flags, so usableRoutes drops it.
  return usableRoutes('/proc/net/route', 8, 3).map((f) => {
    const bits = Buffer.from(f[1] as string, 'hex').readUInt32LE(0);
    const mask = Buffer.from(f[7] as string, 'hex').readUInt32LE(0);
    const prefixLength = mask.toString(2).replace(/0/g, '').length;
    const dest = [bits >>> 24, (bits >>> 16) & 255, (bits >>> 8) & 255, bits & 255].join('.');
    return { interface: f[0] as string, prefix: `${dest}/${prefixLength}`, prefixLength, metric: Number(f[6]), bits, mask };
  });
}

function ipv6Bits(address: string): bigint {
  const [head = '', tail] = address.split('::');
  const parse = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** /proc/net/ipv6_route lists every table (the local one holds ff00::/8), addresses as plain hex. */
function ipv6Routes(): Array<Route & { bits: bigint }> {
  return usableRoutes('/proc/net/ipv6_route', 10, 8).map((f) => {
    const bits = BigInt(`0x${f[0]}`);
    const prefixLength = parseInt(f[1] as string, 16);
    const groups = (f[0] as string).match(/.{4}/g) ?? [];
    return {
      interface: f[9] as string,
      prefix: `${groups.join(':')}/${prefixLength}`,
      prefixLength,
      metric: parseInt(f[5] as string, 16),
      bits,
    };
  });
}

/**
 * The route the kernel would pick for `address` (longest prefix, then lowest metric), or undefined when
 * no route covers it — then joining the group without a named interface fails with ENODEV.
 */
export function routeFor(address: string, family: 'ipv4' | 'ipv6'): Route | undefined {
  const covering: Route[] =
    family === 'ipv4'
      ? ipv4Routes().filter((r) => (ipv4Bits(address) & r.mask) >>> 0 === (r.bits & r.mask) >>> 0)
      : ipv6Routes().filter((r) => {
          const shift = BigInt(128 - r.prefixLength);
          return ipv6Bits(address) >> shift === r.bits >> shift;
        });
  return covering.sort((a, b) => b.prefixLength - a.prefixLength || a.metric - b.metric)[0];
}
