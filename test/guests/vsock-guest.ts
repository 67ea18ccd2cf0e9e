/**
 * One guest for the real-vsock tests: the vsock core with only its loopback transport (CID 1 is the
 * guest itself; the guest has no virtio-vsock device, so no connection leaves it), the host's root
 * over 9p (Node, this checkout's dist/ bundles, the C tools) and a libvirtd of its own with the test
 * driver. Daemons run in the background inside it (guest-tools/services.sh); agents run one command
 * each, their stdout and stderr kept apart.
 *
 *   const guest = await VsockGuest.start(bed);
 *   const conf = await guest.file('fence_virt.conf', text);        // in the bed dir, read-only inside
 *   await guest.startService('ours', 1229, [...PROGRAMS.ours.daemon, '-F', '-f', conf]);
 *   const r = await guest.agent('c', ['-S2', '-k', key, '-o', 'list']);   // { code, stdout, stderr }
 *   const log = await guest.stopService('ours');
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { build } from 'tsup';
import { C_FENCE_VIRTD } from '../support/c-daemon.js';
import { type CommandResult, type Guest, type GuestBed, repoRoot, shellCommand } from './harness.js';

const SERVICES = join(repoRoot, 'test/guests/guest-tools/services.sh');
const C_FENCE_VIRT = '/usr/sbin/fence_virt';
/** Daemon start-up under emulation: Node alone takes some 5 s to start there. */
const SERVICE_TIMEOUT_MS = 120_000;
/** Scratch space of guest commands (a tmpfs in the guest; its /tmp is the host's, read-only). */
const GUEST_RUN = '/run/tmp';

export type Implementation = 'c' | 'ours';

/** The agent and the daemon of each implementation, as argv prefixes runnable inside the guest. */
export const PROGRAMS: Record<Implementation, { agent: readonly string[]; daemon: readonly string[] }> = {
  c: { agent: [C_FENCE_VIRT], daemon: ['stdbuf', '-oL', '-eL', C_FENCE_VIRTD] },
  // The bundles, as installed: under emulation tsx alone takes some 50 s to start.
  ours: { agent: [process.execPath, join(repoRoot, 'dist/fence_virt')], daemon: [process.execPath, join(repoRoot, 'dist/fence_virtd')] },
};

/**
 * Bundles a guest tool (TypeScript) into one JavaScript file for plain `node`: under emulation tsx
 * takes some 50 s to start. Built below node_modules, as dist/ is, so the bundle finds the native
 * addon there at run time; `remove` deletes it.
 */
export async function bundleGuestTool(entry: string): Promise<{ file: string; remove: () => Promise<void> }> {
  const cache = join(repoRoot, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const outDir = await mkdtemp(join(cache, 'guest-tool-'));
  const remove = () => rm(outDir, { recursive: true, force: true });
  try {
    await build({
      entry: [join(repoRoot, entry)],
      outDir,
      format: ['esm'],
      platform: 'node',
      target: 'node20',
      external: ['@fence-virtd/vsock'],
      config: false,
      silent: true,
    });
  } catch (err) {
    await remove();
    throw err;
  }
  return { file: join(outDir, `${basename(entry, '.ts')}.js`), remove };
}

export interface AgentResult {
  code: number;
  stdout: string;
  stderr: string;
}

// Printed between an agent's stdout and its stderr; its exit code is the command's.
const STDERR_MARK = '\n--- stderr ---\n';

export class VsockGuest {
  private constructor(
    private readonly bed: GuestBed,
    readonly guest: Guest,
  ) {}

  /** Boots the guest and starts its libvirtd; the caller's bed cleanup removes it. */
  static async start(bed: GuestBed): Promise<VsockGuest> {
    // Memory for libvirtd, a daemon and an agent (Node both) at once, beside the 9p page cache.
    const guest = await bed.startGuest({ role: 'vsock', hostRoot: true, vsock: true, interactive: true, memoryMiB: 768 });
    const self = new VsockGuest(bed, guest);
    const conf = await self.file('libvirtd.conf', 'auth_unix_rw = "none"\nauth_unix_ro = "none"\n');
    await self.run(shellCommand(['sh', SERVICES, 'libvirtd', conf]), 'starting libvirtd in the guest');
    return self;
  }

  /** Writes a file into the bed's directory, which the guest sees read-only at the same path. */
  async file(name: string, content: string | Buffer, mode = 0o600): Promise<string> {
    const path = join(this.bed.dir, name);
    await writeFile(path, content, { mode });
    return path;
  }

  exec(command: string, timeoutMs?: number): Promise<CommandResult> {
    return this.guest.exec(command, timeoutMs);
  }

  /** Runs a command that must succeed; returns its output. */
  async run(command: string, what: string, timeoutMs?: number): Promise<string> {
    const result = await this.exec(command, timeoutMs);
    if (result.exitCode !== 0) throw new Error(`${what} failed (exit ${result.exitCode}):\n${result.output}`);
    return result.output;
  }

  /** Starts `argv` in the background and waits until something listens on vsock `port`. */
  async startService(name: string, port: number, argv: readonly string[]): Promise<void> {
    await this.run(shellCommand(['sh', SERVICES, 'start', name, String(port), ...argv]), `starting ${name}`, SERVICE_TIMEOUT_MS);
  }

  /** Waits until something listens on vsock `port` too, while service `name` runs (a second listener). */
  async waitForListener(name: string, port: number): Promise<void> {
    await this.run(shellCommand(['sh', SERVICES, 'listening', name, String(port)]), `waiting for ${name} on ${port}`, SERVICE_TIMEOUT_MS);
  }

  /** Stops a service by its PID and returns everything it wrote. */
  stopService(name: string): Promise<string> {
    return this.run(shellCommand(['sh', SERVICES, 'stop', name]), `stopping ${name}`, SERVICE_TIMEOUT_MS);
  }

  serviceLog(name: string): Promise<string> {
    return this.run(shellCommand(['sh', SERVICES, 'log', name]), `reading the log of ${name}`);
  }

  /** Runs fence_virt of `impl` with `args`. */
  async agent(impl: Implementation, args: readonly string[]): Promise<AgentResult> {
    const err = `${GUEST_RUN}/agent.err`;
    const command = `${shellCommand([...PROGRAMS[impl].agent, ...args])} 2>${err}; rc=$?; printf %s ${shellCommand([STDERR_MARK])}; cat ${err}; exit $rc`;
    const { exitCode, output } = await this.exec(command);
    const at = output.lastIndexOf(STDERR_MARK);
    if (at < 0) throw new Error(`agent output without its stderr mark:\n${output}`);
    return { code: exitCode, stdout: output.slice(0, at), stderr: output.slice(at + STDERR_MARK.length) };
  }
}
