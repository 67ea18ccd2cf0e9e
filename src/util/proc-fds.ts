import { readdirSync, readlinkSync } from 'node:fs';

/**
 * What a process's open fds refer to, from /proc: fd number to link target ("socket:[1234]",
 * "/dev/pts/3", ...). Empty for a process we may not look at or that is gone; an fd closed while it
 * is read (the listing's own, for 'self') is left out.
 */
export function fdTargets(pid: number | 'self'): Map<string, string> {
  const targets = new Map<string, string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return targets;
  }
  for (const fd of fds) {
    try {
      targets.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed while we looked
    }
  }
  return targets;
}
