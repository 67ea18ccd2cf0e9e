/**
 * Which process holds a local port, from /proc: turns "address in use" into "in use by fence_virtd
 * (pid 812)". Only processes we may look at (root sees all) are found.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fdTargets } from './proc-fds.js';

export interface PortOwner {
  pid: number;
  /** The command line, arguments separated by spaces. */
  command: string;
}

/** Inodes of sockets bound to `port` (TCP: listening ones) in this network namespace. */
function boundInodes(protocol: 'tcp' | 'udp', port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of [protocol, `${protocol}6`]) {
    let text = '';
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = row.trim().split(/\s+/);
      if (!local || !inode) continue;
      const listening = protocol === 'udp' || state === '0A';
      if (listening && parseInt(local.split(':').at(-1) as string, 16) === port) inodes.add(inode);
    }
  }
  return inodes;
}

function commandOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '?';
  }
}

/** Inodes of the sockets a process holds open (none if we may not look). */
function socketInodesOf(pid: number): string[] {
  return [...fdTargets(pid).values()].flatMap((target) => /^socket:\[(\d+)\]$/.exec(target)?.[1] ?? []);
}

/** Whether process `pid` holds a socket bound to `port` (TCP: listening) in this network namespace. */
export function holdsPort(pid: number, protocol: 'tcp' | 'udp', port: number): boolean {
  const inodes = boundInodes(protocol, port);
  return socketInodesOf(pid).some((inode) => inodes.has(inode));
}

export function portOwners(protocol: 'tcp' | 'udp', port: number): PortOwner[] {
  const inodes = boundInodes(protocol, port);
  if (inodes.size === 0) return [];
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && socketInodesOf(Number(name)).some((inode) => inodes.has(inode)))
    .map((pid) => ({ pid: Number(pid), command: commandOf(pid) }));
}

/**
 * The processes other than `self` that hold a socket bound to `port`, and whether some such socket
 * belongs to a process this user cannot see. UDP sockets that share a port (SO_REUSEADDR, as every
 * fence_virtd sets it) all receive the same multicast datagrams, so each of them is a rival.
 */
export function otherHolders(protocol: 'tcp' | 'udp', port: number, self = process.pid): { owners: PortOwner[]; unseen: boolean } {
  const inodes = boundInodes(protocol, port);
  for (const inode of socketInodesOf(self)) inodes.delete(inode);
  if (inodes.size === 0) return { owners: [], unseen: false };
  const seen = new Set<string>();
  const owners = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(name) !== self)
    .flatMap((pid) => {
      const held = socketInodesOf(Number(pid)).filter((inode) => inodes.has(inode));
      for (const inode of held) seen.add(inode);
      return held.length ? [{ pid: Number(pid), command: commandOf(pid) }] : [];
    });
  return { owners, unseen: seen.size < inodes.size };
}

export function describeOwners(owners: readonly PortOwner[]): string {
  return owners.length ? owners.map((o) => `pid ${o.pid} (${o.command.slice(0, 80)})`).join(', ') : 'a process this user cannot see';
}

export const isFenceVirtd = (owner: PortOwner): boolean => /fence_virtd/.test(owner.command);
