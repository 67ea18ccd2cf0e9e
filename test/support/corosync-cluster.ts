/**
 * A corosync cluster of real hosts on this machine: each host is a network namespace with one corosync,
 * all joined by a bridge in a "switch" namespace through one veth pair per host. Addresses are on a
 * private /24 that exists only inside these namespaces, so nothing reaches the machine's own network.
 *
 * Named namespaces (`ip netns add`) work from inside the tests' own `unshare -n` namespace: they are
 * bind mounts under /run/netns made by root, independent of the namespace `ip` runs in. Names carry
 * this process's PID and a random part, as /run/netns is shared with every other run on the machine.
 *
 * Each corosync gets its own /run (a tmpfs in a private mount namespace: it keeps a pid lock there) and
 * its own state_dir; knet transport without crypto, votequorum. Its client IPC sockets are abstract
 * unix sockets, which belong to the network namespace: a client started with `host.spawn` talks to
 * that host's corosync and no other. Everything made here (processes by PID, namespaces by name, the
 * temp dir) is removed by `cleanup()`, and by an exit hook if a test run dies first.
 */
import { needsRoot, needsTools } from './requirement.js';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killChild, runTool, waitUntil, type ToolOptions, type ToolResult } from './processes.js';

const SUBNET = '192.168.213';
/** How long one corosync-quorumtool may wait for its corosync before it counts as no answer. */
const QUORUMTOOL_TIMEOUT_MS = 5_000;

export interface CorosyncClusterOptions {
  /** Number of hosts (node ids 1..n); default 3. */
  hosts?: number;
  /** totem token timeout in ms: how long a dead member takes to be noticed. Default 1000. */
  tokenMs?: number;
}

/** Exit-hook bookkeeping: what a dying test process still has to remove, synchronously. */
const live = new Set<CorosyncCluster>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const cluster of live) cluster.cleanupSync();
  });
}

function ip(args: readonly string[]): Promise<ToolResult> {
  return runTool('ip', args, { timeoutMs: 10_000 });
}

async function mustIp(...args: string[]): Promise<void> {
  const result = await ip(args);
  if (result.code !== 0) throw new Error(`ip ${args.join(' ')} failed: ${result.stderr.trim()}`);
}

export class CorosyncHost {
  /** The corosync node id, 1-based. */
  readonly nodeId: number;
  readonly netns: string;
  readonly address: string;
  readonly dir: string;
  private child: ChildProcess | null = null;
  /** Every corosync PID this host has run, for removing what each left in /dev/shm. */
  private readonly pids: number[] = [];

  constructor(
    readonly cluster: CorosyncCluster,
    nodeId: number,
  ) {
    this.nodeId = nodeId;
    this.netns = `${cluster.prefix}-h${nodeId}`;
    this.address = `${SUBNET}.${nodeId}`;
    this.dir = join(cluster.dir, `h${nodeId}`);
    mkdirSync(join(this.dir, 'state'), { recursive: true });
  }

  get configPath(): string {
    return join(this.dir, 'corosync.conf');
  }

  get logPath(): string {
    return join(this.dir, 'corosync.log');
  }

  /** The PID of this host's corosync while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Argument vector that runs `command args` inside this host's network namespace. */
  wrap(command: string, args: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.netns, command, ...args]];
  }

  /** Starts a process inside this host (its corosync is the one it sees). */
  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const [wrapped, wrappedArgs] = this.wrap(command, args);
    return spawn(wrapped, wrappedArgs, options);
  }

  /** Runs a command inside this host to completion (bounded by timeoutMs, default 20 s). */
  exec(command: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
    const [wrapped, wrappedArgs] = this.wrap(command, args);
    return runTool(wrapped, wrappedArgs, { timeoutMs: 20_000, ...options });
  }

  /** Starts corosync and waits until its client IPC answers. */
  async start(): Promise<void> {
    if (this.child) throw new Error(`corosync on host ${this.nodeId} already running`);
    const log = openSync(this.logPath, 'a');
    // ip netns exec, unshare and sh each exec the next, so the spawned PID ends up being corosync's.
    const script = 'mount -t tmpfs tmpfs /run && mkdir -p /run/corosync && exec corosync -f -c "$1"';
    const child = this.spawn('unshare', ['-m', 'sh', '-c', script, 'corosync-host', this.configPath], {
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.child = child;
    if (child.pid) this.pids.push(child.pid);
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    await waitUntil(async () => {
      if (this.child !== child) throw new Error(`corosync on host ${this.nodeId} exited during start-up:\n${this.logTail()}`);
      // 0 quorate, 2 not quorate: either way it answered.
      const status = await this.quorumtool(QUORUMTOOL_TIMEOUT_MS);
      return status.code === 0 || status.code === 2;
    }, `corosync on host ${this.nodeId} answering`);
  }

  /** Sends a signal to corosync by its PID (SIGSTOP/SIGCONT hang and resume it). */
  signal(signal: NodeJS.Signals): void {
    if (!this.child) throw new Error(`corosync on host ${this.nodeId} is not running`);
    this.child.kill(signal);
  }

  /** Kills corosync by its PID (default SIGKILL: a crash, not a clean leave) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child) await killChild(this.child, signal);
  }

  /** A clean stop (SIGTERM): corosync tells the others it leaves. */
  stop(): Promise<void> {
    return this.kill('SIGTERM');
  }

  /** `corosync-quorumtool -s` inside this host, killed after `timeoutMs`. */
  private quorumtool(timeoutMs: number): Promise<ToolResult> {
    return this.exec('corosync-quorumtool', ['-s'], { timeoutMs });
  }

  /**
   * This host's quorum as its corosync reports it now (corosync-quorumtool's exit status), or "no answer"
   * when the tool had none within `toolTimeoutMs` and was killed: a corosync busy with a membership change
   * on a loaded machine can hold its clients that long, which is "not yet", not a broken host. Any other
   * failure of the tool throws.
   */
  async quorum(toolTimeoutMs = QUORUMTOOL_TIMEOUT_MS): Promise<'quorate' | 'inquorate' | 'no answer'> {
    const status = await this.quorumtool(toolTimeoutMs);
    if (status.code === 0) return 'quorate';
    if (status.code === 2) return 'inquorate';
    if (status.timedOut) return 'no answer';
    throw new Error(`corosync-quorumtool on host ${this.nodeId} failed (${status.code}): ${status.stderr.trim()}`);
  }

  /** Waits until this host reports itself quorate (or not), asking again while it does not answer. */
  waitForQuorum(quorate: boolean, timeoutMs = 30_000, toolTimeoutMs = QUORUMTOOL_TIMEOUT_MS): Promise<void> {
    const wanted = quorate ? 'quorate' : 'inquorate';
    return waitUntil(async () => (await this.quorum(toolTimeoutMs)) === wanted, `host ${this.nodeId} ${wanted}`, timeoutMs);
  }

  /** Takes this host's cable out of the switch (or puts it back): a network partition, not a crash. */
  async setLink(up: boolean): Promise<void> {
    await mustIp('-n', this.cluster.switchNetns, 'link', 'set', `port${this.nodeId}`, up ? 'up' : 'down');
  }

  logTail(lines = 20): string {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** For the exit hook: kill by PID without waiting. */
  killSync(): void {
    this.child?.kill('SIGKILL');
  }

  /**
   * Removes the client connections' shared-memory directories that libqb names after the server's PID
   * (qb-PID-CLIENT-...): a corosync killed mid-connection, as tests do, leaves them in /dev/shm.
   */
  removeShmLeftovers(): void {
    const prefixes = this.pids.map((pid) => `qb-${pid}-`);
    for (const name of readdirSync('/dev/shm')) {
      if (prefixes.some((p) => name.startsWith(p))) rmSync(join('/dev/shm', name), { recursive: true, force: true });
    }
  }
}

/**
 * A guest stand-in on the cluster's network: a namespace of its own on the switch, without corosync,
 * whose multicast goes out on that network (to every host).
 */
export class ClusterGuest {
  constructor(
    readonly netns: string,
    readonly address: string,
  ) {}

  /** Runs a command inside the guest to completion (bounded by timeoutMs, default 20 s). */
  exec(command: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<ToolResult> {
    return runTool('ip', ['netns', 'exec', this.netns, command, ...args], { timeoutMs: 20_000, ...options });
  }
}

export class CorosyncCluster {
  readonly prefix = `fvc${process.pid}${randomBytes(2).toString('hex')}`;
  readonly switchNetns = `${this.prefix}-sw`;
  readonly dir = mkdtempSync(join(tmpdir(), 'corosync-cluster-'));
  readonly hosts: CorosyncHost[] = [];
  private readonly namespaces: string[] = [];
  private guests = 0;

  private constructor(private readonly options: Required<CorosyncClusterOptions>) {}

  /** Why this machine cannot run the cluster (not root, a tool missing), or undefined. */
  static unavailable(): string | undefined {
    return needsRoot('network namespaces and corosync') ?? needsTools('corosync', 'corosync-quorumtool', 'ip', 'unshare');
  }

  /** Builds the network, starts corosync on every host and waits until all of them are quorate. */
  static async start(options: CorosyncClusterOptions = {}): Promise<CorosyncCluster> {
    const cluster = new CorosyncCluster({ hosts: 3, tokenMs: 1000, ...options });
    live.add(cluster);
    installExitHook();
    try {
      await cluster.buildNetwork();
      await Promise.all(cluster.hosts.map((host) => host.start()));
      await Promise.all(cluster.hosts.map((host) => host.waitForQuorum(true)));
    } catch (err) {
      await cluster.cleanup();
      throw err;
    }
    return cluster;
  }

  host(nodeId: number): CorosyncHost {
    const host = this.hosts[nodeId - 1];
    if (!host) throw new Error(`no host ${nodeId} in this cluster`);
    return host;
  }

  /** Plugs a guest stand-in into the switch (addresses from .101 up); removed by cleanup(). */
  async addGuest(): Promise<ClusterGuest> {
    const n = ++this.guests;
    const guest = new ClusterGuest(`${this.prefix}-g${n}`, `${SUBNET}.${100 + n}`);
    await this.addNetns(guest.netns);
    await this.plug(guest.netns, `gport${n}`, guest.address);
    await mustIp('-n', guest.netns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
    return guest;
  }

  /** One veth pair from the switch's bridge (`port`) to `eth0` of namespace `netns`, which gets `address`. */
  private async plug(netns: string, port: string, address: string): Promise<void> {
    await mustIp('-n', this.switchNetns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    await mustIp('-n', this.switchNetns, 'link', 'set', port, 'master', 'br0', 'up');
    await mustIp('-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    await mustIp('-n', netns, 'link', 'set', 'eth0', 'up');
  }

  private async addNetns(name: string): Promise<void> {
    await mustIp('netns', 'add', name);
    this.namespaces.push(name);
    await mustIp('-n', name, 'link', 'set', 'lo', 'up');
  }

  private async buildNetwork(): Promise<void> {
    await this.addNetns(this.switchNetns);
    await mustIp('-n', this.switchNetns, 'link', 'add', 'br0', 'type', 'bridge');
    await mustIp('-n', this.switchNetns, 'link', 'set', 'br0', 'up');
    for (let nodeId = 1; nodeId <= this.options.hosts; nodeId++) {
      const host = new CorosyncHost(this, nodeId);
      this.hosts.push(host);
      await this.addNetns(host.netns);
      await this.plug(host.netns, `port${nodeId}`, host.address);
    }
    for (const host of this.hosts) writeFileSync(host.configPath, this.config(host));
  }

  private config(host: CorosyncHost): string {
    const nodes = this.hosts
      .map((h) => `  node {\n    ring0_addr: ${h.address}\n    nodeid: ${h.nodeId}\n    name: h${h.nodeId}\n  }\n`)
      .join('');
    return [
      'totem {',
      '  version: 2',
      `  cluster_name: ${this.prefix}`,
      '  transport: knet',
      '  crypto_cipher: none',
      '  crypto_hash: none',
      `  token: ${this.options.tokenMs}`,
      '}',
      'nodelist {',
      nodes + '}',
      'quorum {',
      '  provider: corosync_votequorum',
      '}',
      'logging {',
      // Otherwise each corosync leaves an 8 MB flight recorder in /dev/shm, shared with the machine.
      '  blackbox: off',
      '  to_stderr: yes',
      '  to_syslog: no',
      '  to_logfile: no',
      '  timestamp: on',
      '}',
      'system {',
      `  state_dir: ${join(host.dir, 'state')}`,
      '}',
      '',
    ].join('\n');
  }

  /** Stops every corosync (by PID), deletes the namespaces and the temp dir. Idempotent. */
  async cleanup(): Promise<void> {
    await Promise.all(this.hosts.map((host) => host.kill()));
    for (const host of this.hosts) host.removeShmLeftovers();
    for (const name of this.namespaces.splice(0)) await ip(['netns', 'delete', name]);
    rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }

  /** The exit hook's cleanup: no waiting possible, so SIGKILL and synchronous deletes. */
  cleanupSync(): void {
    for (const host of this.hosts) host.killSync();
    for (const host of this.hosts) host.removeShmLeftovers();
    for (const name of this.namespaces.splice(0)) spawnSync('ip', ['netns', 'delete', name]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
