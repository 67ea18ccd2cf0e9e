/**
 * libvirt control for the guest tests, through virsh against the running libvirtd.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { skipBecause } from '../support/requirement.js';

const run = promisify(execFile);

export const LIBVIRT_URI = 'qemu:///system';

export async function virsh(...args: string[]): Promise<string> {
  const { stdout } = await run('virsh', ['-c', LIBVIRT_URI, ...args], { timeout: 60_000 });
  return stdout;
}

/** virsh's state words: "running", "shut off", "paused", … */
export async function domainState(name: string): Promise<string> {
  return (await virsh('domstate', name)).trim();
}

/** Destroys the domain if it runs, then undefines it; a domain already gone is fine. */
export async function removeDomain(name: string): Promise<void> {
  await virsh('destroy', name).catch(() => undefined);
  await virsh('undefine', name).catch(() => undefined);
}

/** Why qemu guests cannot run here (see requirement.ts), or undefined if they can. */
export async function qemuUnavailableReason(): Promise<string | undefined> {
  try {
    await virsh('list');
  } catch (err) {
    return skipBecause(`libvirtd's ${LIBVIRT_URI} is not reachable (run scripts/setup-test-env.sh): ${(err as Error).message}`);
  }
  try {
    await run('qemu-system-x86_64', ['--version']);
  } catch {
    return skipBecause('qemu-system-x86_64 is not installed (run scripts/setup-test-env.sh)');
  }
  return undefined;
}
