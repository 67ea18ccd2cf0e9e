/**
 * Our daemon in-process on a test-driver node whose domains have unix-socket serial ports and channels,
 * each socket served by a GuestPortSocket in this process standing in for qemu. The daemon's backend
 * and its serial listeners share one libvirt connection, so fencing through a guest's socket changes
 * what the listeners see (domain events on that same connection).
 *
 *   const bed = await SerialBed.create((sock) => [{ name: 'vm-guest', uuid, serial: [`${sock}/guest`] }], {
 *     listeners: { serial: { mode: 'serial' } },
 *   });
 *   const line = await bed.line(`${bed.socketDir}/guest`);   // the daemon's first connection to it
 *   line.send(bed.port(...).request({ request: Request.STATUS, domain: 'vm-a' }));
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { toDaemonConfig } from '../../src/daemon-config/index.js';
import { FenceDaemon } from '../../src/daemon/fence-daemon.js';
import { CapturedLog } from '../support/captured-log.js';
import { configText, type ConfigTextOptions } from '../support/daemon-config-text.js';
import { nodeXml, type TestDomain } from './node-xml.js';
import { GuestLine, GuestPortSocket } from '../support/qemu-stand-ins.js';

export interface SerialBedOptions {
  /** Listener blocks; serial ones get this bed's uri and path unless they set their own. */
  listeners: Record<string, Record<string, string>>;
  groups?: ConfigTextOptions['groups'];
  /** libvirt URI for a node file path; default: the shared libvirtd (`test+unix://PATH`). */
  uriFor?: (nodePath: string) => string;
  /** Socket paths that get no stand-in (default: every bind path of every domain gets one). */
  noStandIn?: (path: string) => boolean;
}

export function domainUuid(n: number): string {
  return `5e000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export class SerialBed {
  /** The daemon's log; SERIAL_BED_LOG=1 echoes it to stderr. */
  private readonly log = new CapturedLog(2, Boolean(process.env.SERIAL_BED_LOG));
  readonly ports = new Map<string, GuestPortSocket>();
  private readonly lines = new WeakMap<Socket, GuestLine>();
  daemon: FenceDaemon | undefined;
  uri = '';

  private constructor(
    readonly dir: string,
    readonly socketDir: string,
  ) {}

  static async create(domains: (socketDir: string, dir: string) => TestDomain[], options: SerialBedOptions): Promise<SerialBed> {
    const dir = await mkdtemp(join(tmpdir(), 'fvd-serial-'));
    const bed = new SerialBed(dir, join(dir, 'sock'));
    try {
      await bed.setUp(domains(bed.socketDir, dir), options);
    } catch (err) {
      await bed.cleanup();
      throw err;
    }
    return bed;
  }

  private async setUp(domains: TestDomain[], options: SerialBedOptions): Promise<void> {
    await mkdir(this.socketDir);
    const node = join(this.dir, 'node.xml');
    await writeFile(node, nodeXml(domains));
    this.uri = options.uriFor?.(node) ?? `test+unix://${node}`;
    const paths = domains.flatMap((d) => [...(d.serial ?? []), ...(d.channels ?? []), ...(d.guestfwd ?? []), ...(d.connectSerial ?? [])]);
    for (const path of paths) {
      if (options.noStandIn?.(path)) continue;
      await mkdir(join(path, '..'), { recursive: true });
      this.ports.set(path, await GuestPortSocket.listen(path));
    }
    const listeners = Object.fromEntries(
      Object.entries(options.listeners).map(([name, keys]) => {
        const serial = (keys.module ?? name) === 'serial';
        return [name, serial ? { uri: this.uri, path: this.socketDir, ...keys } : keys];
      }),
    );
    const text = configText({ listeners, backendUri: this.uri, ...(options.groups ? { groups: options.groups } : {}) });
    this.daemon = await FenceDaemon.start(toDaemonConfig(parseConfig(text, join(this.dir, 'fence_virt.conf'))), this.log.logger);
  }

  port(path: string): GuestPortSocket {
    const port = this.ports.get(path);
    if (!port) throw new Error(`no stand-in for ${path}`);
    return port;
  }

  /** The guest end of the daemon's nth connection to `path`. */
  async line(path: string, n = 1): Promise<GuestLine> {
    const socket = await this.port(path).connection(n);
    let line = this.lines.get(socket);
    if (!line) {
      line = new GuestLine(socket);
      this.lines.set(socket, line);
    }
    return line;
  }

  /** Log lines matching `pattern`. */
  logged(pattern: RegExp): string[] {
    return this.log.matching(pattern);
  }

  async cleanup(): Promise<void> {
    await this.daemon?.stop();
    await Promise.all([...this.ports.values()].map((p) => p.close()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
