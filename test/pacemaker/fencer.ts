/**
 * Pacemaker's fencer (pacemaker-fenced, stand-alone) for tests, in a mount namespace of its own:
 *
 * - private /run, /var/lib/pacemaker and /dev/shm, so its state and libqb's files never meet another
 *   fencer on this machine (its IPC sockets are abstract, so the test's network namespace already
 *   keeps them apart);
 * - /etc and /usr/sbin seen through overlays whose upper layers live in that namespace, so files such
 *   as /etc/cluster/fence_xvm.key, and other programs in place of /usr/sbin/fence_xvm and fence_virt
 *   (where the fencer looks for its agents; on Debian fence_xvm is a symlink, which a bind mount
 *   would follow), exist for the fencer and its agents only;
 * - a /dev of its own (the usual nodes, the host's /dev/pts, symlinks the test asks for such as
 *   /dev/ttyS1 → a socat pty), so a serial device name from a real configuration can be used as it is.
 *
 * stonith_admin runs in the same namespace (nsenter): it executes some actions, metadata among them,
 * itself. The fencer is stopped by its PID.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonProcess } from '../support/daemon-process.js';
import { runTool, type ToolResult } from '../support/processes.js';
import { needsRoot, needsTools } from '../support/requirement.js';

export const FENCED = '/usr/lib/pacemaker/pacemaker-fenced';
export const AGENT_DIR = '/usr/sbin';
const RUNS = 'agent-runs';

export interface FencerOptions {
  /** Files to show under /etc: absolute path there → contents. */
  etc?: Record<string, string | Buffer>;
  /** Symlinks in the private /dev: name (e.g. ttyS1) → target. */
  dev?: Record<string, string>;
  /** Agents put in place of the system ones: name (fence_xvm) → shell command run instead (with "$@"). */
  agents?: Record<string, string>;
}

/** Why the fencer cannot run here (see requirement.ts), or undefined. */
export function fencerMissing(): string | undefined {
  return needsRoot('a fencer in a private mount namespace') ?? needsTools(FENCED, 'stonith_admin', 'unshare', 'nsenter');
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export class Fencer {
  private constructor(
    private readonly dir: string,
    private readonly process: DaemonProcess,
  ) {}

  static async start(options: FencerOptions = {}): Promise<Fencer> {
    const dir = await mkdtemp(join(tmpdir(), 'fenced-'));
    const script: string[] = [
      'set -e',
      'mount -t tmpfs tmpfs /run',
      'mount -t tmpfs tmpfs /var/lib/pacemaker',
      'mkdir -p /var/lib/pacemaker/cores /var/lib/pacemaker/blackbox',
      ...[
        ['/etc', 'etc'],
        [AGENT_DIR, 'sbin'],
      ].flatMap(([lower, name]) => [
        `mkdir /run/${name}-upper /run/${name}-work`,
        `mount -t overlay overlay -o lowerdir=${lower},upperdir=/run/${name}-upper,workdir=/run/${name}-work ${lower}`,
      ]),
    ];
    const place = async (path: string, contents: string | Buffer, mode: number): Promise<void> => {
      const source = join(dir, `file-${script.length}`);
      await writeFile(source, contents, { mode });
      script.push(`mkdir -p "$(dirname ${quote(path)})"`, `rm -f ${quote(path)}`, `cp -p ${quote(source)} ${quote(path)}`);
    };
    for (const [path, contents] of Object.entries(options.etc ?? {})) {
      if (!path.startsWith('/etc/')) throw new Error(`${path} is not under /etc`);
      await place(path, contents, 0o600);
    }
    for (const [name, command] of Object.entries(options.agents ?? {})) {
      // Each run leaves a line, so a test can tell that the fencer ran this agent and not the system's.
      await place(join(AGENT_DIR, name), `#!/bin/sh\necho ${name} >> ${quote(join(dir, RUNS))}\nexec ${command} "$@"\n`, 0o755);
    }
    script.push(
      'mkdir /run/dev',
      'mount -t tmpfs -o mode=755 tmpfs /run/dev',
      'for node in null zero full random urandom tty; do touch /run/dev/$node; mount --bind /dev/$node /run/dev/$node; done',
      'mkdir /run/dev/pts /run/dev/shm',
      'mount --bind /dev/pts /run/dev/pts',
      'mount -t tmpfs -o mode=1777 tmpfs /run/dev/shm',
      'ln -s /proc/self/fd /run/dev/fd',
      ...Object.entries(options.dev ?? {}).map(([name, target]) => `ln -s ${quote(target)} /run/dev/${quote(name)}`),
      'mount --move /run/dev /dev',
    );
    // Debug level, so the log has every action's result (actionResults), successes included.
    script.push(`exec env PCMK_debug=yes ${FENCED} -s -l ${quote(join(dir, 'fenced.log'))}`);
    // unshare execs sh, which execs env, which execs the fencer: the child's PID is the fencer's.
    const process = DaemonProcess.start('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script.join('\n')]);
    const fencer = new Fencer(dir, process);
    try {
      await process.waitUntil(async () => (await fencer.admin('-L')).code === 0, 'stonith_admin -L answered', 20_000);
    } catch (err) {
      await fencer.stop();
      throw err;
    }
    return fencer;
  }

  /** stonith_admin with these arguments, in the fencer's mount namespace. */
  admin(...args: string[]): Promise<ToolResult> {
    return runTool('nsenter', ['-t', String(this.process.pid), '-m', 'stonith_admin', ...args], { timeoutMs: 180_000 });
  }

  /** How many times the fencer or stonith_admin ran an agent put in place by `agents`. */
  async agentRuns(name: string): Promise<number> {
    const text = await readFile(join(this.dir, RUNS), 'utf8').catch(() => '');
    return text.split('\n').filter((line) => line === name).length;
  }

  /**
   * The exit codes of the device's runs of `action` so far, from the fencer's log (debug level logs
   * successes too). stonith_admin -Q cannot tell a monitor's: when the monitor fails it runs `list`
   * and reports that instead, while the cluster's recurring monitor of a stonith resource runs the
   * monitor alone.
   */
  async actionResults(device: string, action: string): Promise<number[]> {
    const pattern = new RegExp(`Operation '${action}' \\[\\d+\\] (?:targeting \\S+ )?using ${device} returned (-?\\d+)`, 'g');
    return [...(await this.log()).matchAll(pattern)].map((m) => Number(m[1]));
  }

  /** The fencer's own log, for failure messages. */
  async log(): Promise<string> {
    return readFile(join(this.dir, 'fenced.log'), 'utf8').catch(() => '(no log)');
  }

  async stop(): Promise<void> {
    await this.process.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** `stonith_admin -R` arguments for a device: its id, agent and NAME=VALUE options. */
export function registerArgs(device: { id: string; agent: string; options: Record<string, string> }): string[] {
  return ['-R', device.id, '-a', device.agent, ...Object.entries(device.options).flatMap(([k, v]) => ['-o', `${k}=${v}`])];
}
