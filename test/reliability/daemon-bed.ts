/**
 * The built fence_virtd (dist/fence_virtd, as installed) in the foreground with a TCP listener on
 * loopback, its own key, configuration and pid file in a temp dir, for fault tests that signal, kill and
 * restart it by its PID. Requests go through our client core (test/support/raw-client.ts), so a test can
 * tell a refused request from a failure answer and count answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Hash, Request } from '../../src/protocol/index.js';
import { configText, type ConfigTextOptions } from '../support/daemon-config-text.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { OUR_DAEMON_BUNDLE } from '../support/processes.js';
import { signedRequest, tcpExchange, type Outcome } from '../support/raw-client.js';

export interface BedOptions {
  port: number;
  backendUri: string;
  groups?: ConfigTextOptions['groups'];
  /** More listeners besides `tcp`, as configText takes them. */
  listeners?: ConfigTextOptions['listeners'];
  /** Options before -F -f -p, e.g. ['-w'] or ['-d', '1']. */
  args?: string[];
  /** Node options before the daemon's script, e.g. GC_PROBE_ARGS. */
  nodeArgs?: string[];
}

export class DaemonBed {
  readonly dir = mkdtempSync(join(tmpdir(), 'fvd-reliability-'));
  readonly conf = join(this.dir, 'fence_virt.conf');
  readonly keyFile = join(this.dir, 'key');
  readonly pidFile = join(this.dir, 'fence_virtd.pid');
  readonly key = new AuthKey(Buffer.from(`reliability key ${process.pid}`));
  daemon: DaemonProcess | undefined;

  constructor(readonly options: BedOptions) {
    writeFileSync(this.keyFile, this.key.bytes, { mode: 0o600 });
    this.writeConfig();
  }

  /** (Re)writes the configuration: the bed's TCP listener with `keyFile`, and the given groups. */
  writeConfig(change: { keyFile?: string; groups?: ConfigTextOptions['groups']; text?: string } = {}): void {
    const { port, backendUri, listeners } = this.options;
    const text =
      change.text ??
      configText({
        listeners: { tcp: { address: '127.0.0.1', port: String(port), key_file: change.keyFile ?? this.keyFile }, ...listeners },
        backendUri,
        groups: change.groups ?? this.options.groups,
      });
    writeFileSync(this.conf, text, { mode: 0o600 });
  }

  /** Starts the daemon (again) and waits until it answers a status request for `probe`. */
  async start(probe = 'test'): Promise<DaemonProcess> {
    this.daemon = this.spawn();
    await this.daemon.waitUntil(async () => (await this.ask(Request.STATUS, probe, 1_000)).kind === 'code', 'answering a status request');
    return this.daemon;
  }

  /** Starts the daemon without waiting for anything. */
  spawn(args = this.options.args ?? []): DaemonProcess {
    this.daemon = DaemonProcess.start(OUR_DAEMON_BUNDLE.command, [
      ...(this.options.nodeArgs ?? []),
      ...OUR_DAEMON_BUNDLE.args,
      ...args,
      '-F',
      '-f',
      this.conf,
      '-p',
      this.pidFile,
    ]);
    return this.daemon;
  }

  get pid(): number {
    if (!this.daemon) throw new Error('the daemon was never started');
    return this.daemon.pid;
  }

  /** One signed request over TCP; 'closed' when the daemon refused or dropped it. */
  ask(request: number, domain = 'test', timeoutMs = 5_000, key = this.key, seqno?: number): Promise<Outcome> {
    const packet = signedRequest({ request, domain, ...(seqno === undefined ? {} : { seqno }) }, key);
    return tcpExchange(this.options.port, packet, key, Hash.SHA256, timeoutMs);
  }

  async cleanup(): Promise<void> {
    await this.daemon?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether a TCP connection to address:port is accepted. */
export function accepts(port: number, address = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, address);
    s.once('connect', () => resolve(true)).once('error', () => resolve(false));
    s.once('connect', () => s.destroy());
  });
}
