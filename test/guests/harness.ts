/**
 * Real qemu guests under the running libvirtd for end-to-end tests of the serial/vmchannel paths.
 *
 *   const bed = await GuestBed.create();          // temp dir, unique names; t.after(() => bed.cleanup())
 *   const b = await bed.startGuest({ role: 'b', serial: true });              // idles: a fencing target
 *   const a = await bed.startGuest({ role: 'a', serial: true, interactive: true });
 *   await a.exec('fence_virt -D /dev/ttyS1 -o list');                         // { exitCode, output }
 *   await runInGuest(bed, { command: shellCommand([process.execPath, '-v']), hostRoot: true });
 *
 * Each guest's ttyS1 socket and virtio-serial channel sockets lie in `bed.socketDir`, the directory a
 * serial listener is configured with. Commands run in the initramfs's busybox (which holds the C
 * fence_virt) or, with `hostRoot`, chrooted into the host's root shared read-only, so host programs
 * such as Node and this checkout (`repoRoot`, same path inside) run in the guest unchanged.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { commandResult, readConsole, readMarkers, type CommandResult, type Marker } from './console.js';
import { domainXml } from './domain-xml.js';
import { ensureGuestImage, type GuestImage } from './image.js';
import { domainState, removeDomain, virsh } from './virsh.js';

export type { CommandResult } from './console.js';
export { qemuUnavailableReason } from './virsh.js';

/** This checkout; the same path works inside a `hostRoot` guest. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The virtio-serial channel name fence_virt and fence_virtd use by default. */
export const FENCE_CHANNEL = 'org.fence-virt.0';

const BOOT_TIMEOUT_MS = 120_000;
const COMMAND_TIMEOUT_MS = 120_000;
// x86 COMMAND_LINE_SIZE is 2048; leave room for the fixed parameters.
const MAX_CMDLINE = 2000;

export interface GuestOptions {
  /** Short distinct name part ([a-z0-9]+); the domain is named `<bed tag>-<role>`. */
  readonly role: string;
  /** Shell command run once after boot; its result is `guest.result()`. */
  readonly command?: string;
  /** Serve `guest.exec()` on a command port (ttyS2). */
  readonly interactive?: boolean;
  /** Idle when done instead of powering off. Default: only a one-shot command guest powers off. */
  readonly stay?: boolean;
  /** Run commands chrooted into the host's root (virtio-9p, read-only). */
  readonly hostRoot?: boolean;
  /**
   * Load vsock with only its loopback transport: CID 1 is the guest itself. The guest has no
   * virtio-vsock device, so no vsock connection can leave it.
   */
  readonly vsock?: boolean;
  /** ttyS1 as a unix socket in the socket dir (what the serial listener connects to). */
  readonly serial?: boolean;
  /** virtio-serial channel names: each a unix socket in the socket dir, `/dev/virtio-ports/NAME` inside. */
  readonly channels?: readonly string[];
  readonly memoryMiB?: number;
}

export interface RunResult extends CommandResult {
  /** The whole console log of the guest (kernel messages and markers included). */
  readonly console: string;
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A shell command line running exactly `argv`. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

export class Guest {
  private control: Socket | undefined;
  private nextCommand = 1;

  constructor(
    readonly name: string,
    readonly uuid: string,
    readonly consolePath: string,
    /** ttyS1's socket, if `serial` was asked for. */
    readonly serialPath: string | undefined,
    /** Channel name → its unix socket on the host. */
    readonly channelPaths: ReadonlyMap<string, string>,
    private readonly controlPath: string | undefined,
  ) {}

  async console(): Promise<string> {
    return readConsole(this.consolePath);
  }

  async state(): Promise<string> {
    return domainState(this.name);
  }

  /** Waits until boot number `boot` (1 = the first; a restarted guest boots again) has finished setup. */
  async ready(boot = 1, timeoutMs = BOOT_TIMEOUT_MS): Promise<void> {
    await this.waitFor(`boot ${boot} ready`, timeoutMs, (markers) =>
      markers.filter((m) => m.kind === 'READY').length >= boot ? true : undefined,
    );
  }

  /** The result of the boot command (`command` option). */
  async result(timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
    return this.waitFor('the boot command', timeoutMs, (markers, text) => commandResult(markers, text, 0));
  }

  /** Runs a command in an `interactive` guest and waits for its result. */
  async exec(command: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
    if (this.controlPath === undefined) throw new Error(`guest ${this.name} was not started interactive`);
    // The guest drops bytes that arrive before it opens its command port.
    await this.ready();
    this.control ??= await openControl(this.controlPath);
    const n = this.nextCommand++;
    this.control.write(`${n} ${Buffer.from(command).toString('base64')}\n`);
    return this.waitFor(`command ${n} (${command})`, timeoutMs, (markers, text) => commandResult(markers, text, n));
  }

  /**
   * Kills the guest's qemu with SIGKILL, by the PID libvirtd recorded for it (checked to be a qemu
   * process first): a crash under libvirtd, not a shutdown libvirt asked for. Returns the PID.
   */
  async killQemu(): Promise<number> {
    const pid = Number((await readFile(`/run/libvirt/qemu/${this.name}.pid`, 'utf8')).trim());
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    if (!Number.isInteger(pid) || pid <= 1 || !comm.startsWith('qemu')) {
      throw new Error(`${this.name}: libvirt's pid file names ${pid} (${comm}), not a qemu process`);
    }
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  /** Destroys (if running) and undefines the domain. */
  async remove(): Promise<void> {
    this.control?.destroy();
    this.control = undefined;
    await removeDomain(this.name);
  }

  /** Polls the console until `check` returns a value; a setup error or power-off ends the wait early. */
  private async waitFor<T>(what: string, timeoutMs: number, check: (markers: Marker[], text: string) => T | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await this.console();
      // The domain name is the guest's marker tag (fvt.id).
      const markers = readMarkers(text, this.name);
      const found = check(markers, text);
      if (found !== undefined) return found;
      const fatal = markers.find((m) => m.kind === 'ERROR' || m.kind === 'POWEROFF');
      const why = fatal ? `the guest reported ${fatal.kind} ${fatal.arg}` : Date.now() > deadline && 'timed out';
      if (why) throw new Error(`guest ${this.name}: waiting for ${what}: ${why}; console:\n${text.slice(-4000)}`);
      await delay(100);
    }
  }
}

async function openControl(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      // Destroying the guest resets the connection; the command waits notice through the console.
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

// Not /tmp: a hostRoot guest has its own tmpfs there, while this directory stays visible (read-only) in
// it at the same path, so tests can hand files (configs, keys, scripts) to guest commands.
const BEDS_DIR = '/var/tmp';

// A bed's tag names the test process, so a later run can tell beds whose process died (a killed run, a
// CI timeout) from beds of runs still going: all runs share one libvirtd.
const BED_TAG = /^fvt-(\d+)-[0-9a-f]{6}$/;

function isStaleTag(tag: string): boolean {
  const pid = Number(BED_TAG.exec(tag)?.[1] ?? NaN);
  if (!Number.isInteger(pid)) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Removes guests and files left by beds whose test process is gone. */
async function removeStaleBeds(): Promise<void> {
  const domains = (await virsh('list', '--all', '--name')).split('\n').filter(Boolean);
  const dirs = await readdir(BEDS_DIR);
  await Promise.all([
    ...domains.filter((name) => isStaleTag(name.replace(/-[a-z0-9]+$/, ''))).map(removeDomain),
    ...dirs.filter(isStaleTag).map((d) => rm(join(BEDS_DIR, d), { recursive: true, force: true })),
  ]);
}

export class GuestBed {
  private readonly guests: Guest[] = [];

  private constructor(
    /** Prefix of every domain name of this bed and its directory's name, e.g. "fvt-4242-3fa2c1". */
    readonly tag: string,
    /** This bed's files; hostRoot guests see it read-only at the same path. */
    readonly dir: string,
    /** Where the guests' ttyS1 and channel sockets are: the serial listener's `path`. */
    readonly socketDir: string,
    private readonly image: GuestImage,
  ) {}

  static async create(): Promise<GuestBed> {
    const [image] = await Promise.all([ensureGuestImage(), removeStaleBeds()]);
    const tag = `fvt-${process.pid}-${randomBytes(3).toString('hex')}`;
    const dir = join(BEDS_DIR, tag);
    // mkdir without `recursive` fails on a (vanishingly unlikely) clash instead of sharing a dir.
    await mkdir(dir, { mode: 0o700 });
    await Promise.all(['sock', 'ctl', 'log', 'xml'].map((d) => mkdir(join(dir, d))));
    return new GuestBed(tag, dir, join(dir, 'sock'), image);
  }

  /** Defines and starts a persistent domain (persistent so a fence "on" can start it again). */
  async startGuest(options: GuestOptions): Promise<Guest> {
    if (!/^[a-z0-9]+$/.test(options.role)) throw new Error(`bad guest role "${options.role}"`);
    const name = `${this.tag}-${options.role}`;
    const uuid = randomUUID();
    const channels = (options.channels ?? []).map((ch, i) => ({
      name: ch,
      socket: join(this.socketDir, `${name}.ch${i === 0 ? '' : i}`),
    }));
    const serialSocket = options.serial ? join(this.socketDir, name) : undefined;
    const controlSocket = options.interactive ? join(this.dir, 'ctl', name) : undefined;
    const stay = options.stay ?? !(options.command !== undefined && !options.interactive);
    const cmdline = [
      'console=ttyS0 quiet panic=-1',
      `fvt.id=${name}`,
      channels.length ? `fvt.ports=${channels.map((c) => c.name).join(',')}` : '',
      options.hostRoot ? 'fvt.host=1' : '',
      options.vsock ? 'fvt.vsock=1' : '',
      options.command === undefined ? '' : `fvt.cmd=${Buffer.from(options.command).toString('base64')}`,
      controlSocket ? 'fvt.ctl=ttyS2' : '',
      stay ? 'fvt.stay=1' : '',
    ]
      .filter(Boolean)
      .join(' ');
    if (cmdline.length > MAX_CMDLINE) {
      throw new Error(`command too long for the kernel command line (${cmdline.length} bytes): use exec()`);
    }
    const consolePath = join(this.dir, 'log', `${name}.console`);
    const xmlPath = join(this.dir, 'xml', `${name}.xml`);
    await writeFile(
      xmlPath,
      domainXml({
        name,
        uuid,
        kernel: this.image.kernel,
        initrd: this.image.initrd,
        cmdline,
        memoryMiB: options.memoryMiB ?? (options.hostRoot ? 384 : 128),
        consolePath,
        serialSocket,
        controlSocket,
        channels,
        hostRoot: options.hostRoot ?? false,
        restartOnReboot: stay,
      }),
    );
    const guest = new Guest(name, uuid, consolePath, serialSocket, new Map(channels.map((c) => [c.name, c.socket])), controlSocket);
    await virsh('define', xmlPath);
    // Registered before start, so cleanup also undefines a guest that failed to start.
    this.guests.push(guest);
    await virsh('start', name);
    return guest;
  }

  /** Destroys and undefines every guest of this bed and removes its files; safe to call twice. */
  async cleanup(): Promise<void> {
    await Promise.all(this.guests.splice(0).map((g) => g.remove()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Boots a guest that runs `command` once, returns its result and removes the guest. */
export async function runInGuest(
  bed: GuestBed,
  options: Omit<GuestOptions, 'role' | 'command' | 'interactive' | 'stay'> & {
    readonly command: string;
    readonly role?: string;
    readonly timeoutMs?: number;
  },
): Promise<RunResult> {
  const guest = await bed.startGuest({ ...options, role: options.role ?? 'run' });
  try {
    const result = await guest.result(options.timeoutMs);
    return { ...result, console: await guest.console() };
  } finally {
    await guest.remove();
  }
}
