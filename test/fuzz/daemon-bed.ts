/**
 * The built daemon (dist/fence_virtd) as the fuzzer and the flood test meet it: TCP on 127.0.0.1,
 * multicast on lo, and the serial listener on two test-driver guests whose sockets this process serves
 * in qemu's place. Needs a network namespace with lo up and 224.0.0.0/4 routed to it.
 *
 * Permissions: the host's own addresses (the harness's sources) may act on every fixture domain; each
 * serial guest only on the serial guests. A connect-back trap plays the multicast client with the right
 * key for every call the daemon makes, so a wrongly admitted datagram would be executed and seen.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Family, Hash, Request } from '../../src/protocol/index.js';
import { StreamIO } from '../../src/util/stream-io.js';
import { configText } from '../support/daemon-config-text.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { OUR_DAEMON_BUNDLE, procStatusNumber } from '../support/processes.js';
import { GuestLine, GuestPortSocket } from '../support/qemu-stand-ins.js';
import { multicastExchange, sendToGroup, signedRequest, type Outcome } from '../support/raw-client.js';
import { HOST_GROUP_TARGETS, KEY, SERIAL_GUESTS, TARGETS, writeNode } from './fixture.js';
import { PROBE_SEQNO_BASE, TRAP_ADDRESS } from './inputs.js';
import { LogFollower } from './log-scan.js';
import { actAsClient, sendPieces, type StreamOutcome } from './stream-client.js';

export interface BedPorts {
  tcp: number;
  multicast: number;
  /** Where fuzzed multicast requests ask to be called back. */
  trap: number;
  /** Where the harness's own multicast probes are called back. */
  probe: number;
}

/** The harness's own requests come from here; fuzz traffic from the others (connections are bounded per source). */
const PROBE_SOURCE = '127.0.0.1';
export const FUZZ_SOURCES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'];

let probeSeqno = PROBE_SEQNO_BASE;
/** A seqno no fuzzed request uses, so a probe is never a duplicate. */
export function nextProbeSeqno(): number {
  return probeSeqno++;
}

/** Calls back from the daemon for multicast requests, answered as a client holding the right key. */
export class ConnectBackTrap {
  connections = 0;
  answered = 0;

  private constructor(private readonly server: Server) {}

  static async listen(port: number): Promise<ConnectBackTrap> {
    const server = createServer();
    const trap = new ConnectBackTrap(server);
    server.on('connection', (socket) => {
      socket.on('error', () => undefined);
      trap.connections++;
      void actAsClient(new StreamIO(socket), 5_000).then((o) => {
        if (o.kind === 'answered') trap.answered++;
      });
    });
    server.listen(port, TRAP_ADDRESS);
    await once(server, 'listening');
    return trap;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export class DaemonBed {
  readonly log: LogFollower;
  private constructor(
    readonly dir: string,
    readonly ports: BedPorts,
    readonly daemon: DaemonProcess,
    readonly serialPorts: GuestPortSocket[],
    readonly trap: ConnectBackTrap,
  ) {
    this.log = new LogFollower(() => daemon.output());
  }

  /**
   * `verbosity`: the daemon's -d. The fuzzer runs it at 1, so that every request executed and every
   * connection closed (and why) is in the log when something seen from outside needs explaining.
   */
  static async start(ports: BedPorts, verbosity = 0): Promise<DaemonBed> {
    const dir = await mkdtemp(join(tmpdir(), 'fvd-fuzz-'));
    const started: { daemon?: DaemonProcess; serial: GuestPortSocket[]; trap?: ConnectBackTrap } = { serial: [] };
    try {
      const socketDir = join(dir, 'sock');
      await mkdir(socketDir);
      const uri = `test+unix://${await writeNode(dir, socketDir)}`;
      for (const guest of SERIAL_GUESTS) started.serial.push(await GuestPortSocket.listen(join(socketDir, guest.name)));
      started.trap = await ConnectBackTrap.listen(ports.trap);
      const keyFile = join(dir, 'key');
      await writeFile(keyFile, KEY.bytes, { mode: 0o600 });
      const conf = join(dir, 'fence_virt.conf');
      const text = configText({
        listeners: {
          tcp: { address: '127.0.0.1', port: String(ports.tcp), key_file: keyFile },
          multicast: { interface: 'lo', port: String(ports.multicast), key_file: keyFile },
          serial: { uri, path: socketDir, mode: 'serial' },
        },
        backendUri: uri,
        groups: [
          { name: 'host', ip: [PROBE_SOURCE, ...FUZZ_SOURCES], uuid: [...HOST_GROUP_TARGETS] },
          { name: 'guests', uuid: SERIAL_GUESTS.map((g) => g.uuid) },
        ],
      });
      await writeFile(conf, text, { mode: 0o600 });
      const args = [...OUR_DAEMON_BUNDLE.args, '-d', String(verbosity), '-F', '-f', conf, '-p', join(dir, 'fence_virtd.pid')];
      const daemon = DaemonProcess.start(OUR_DAEMON_BUNDLE.command, args);
      started.daemon = daemon;
      const bed = new DaemonBed(dir, ports, daemon, started.serial, started.trap);
      await daemon.waitUntil(async () => {
        const o = await bed.tcp(Request.STATUS, TARGETS[0]?.name ?? '');
        return o.kind === 'answered';
      }, 'answering over TCP');
      await daemon.waitUntil(() => started.serial.every((p) => p.open.length > 0), 'connected to both serial guests');
      return bed;
    } catch (err) {
      await started.daemon?.stop();
      await Promise.all(started.serial.map((p) => p.close()));
      await started.trap?.close();
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A legitimate request over TCP from the probe source. */
  tcp(request: number, domain: string): Promise<StreamOutcome> {
    const packet = signedRequest({ request, domain, seqno: nextProbeSeqno() }, KEY);
    return sendPieces({ port: this.ports.tcp, localAddress: PROBE_SOURCE }, [packet], [0], 5_000);
  }

  /**
   * A legitimate status request over multicast, called back on the probe port. Like fence_xvm, the
   * request goes again every second (same seqno) until the daemon calls back: one datagram lost in a
   * full receive queue is not the end of a request.
   */
  async multicastStatus(domain: string): Promise<Outcome> {
    const seqno = nextProbeSeqno();
    const port = this.ports.multicast;
    const datagram = () =>
      signedRequest({ request: Request.STATUS, domain, family: Family.INET, address: '127.0.0.1', port: this.ports.probe, seqno }, KEY);
    let again: NodeJS.Timeout | undefined;
    const send = async (first: Buffer) => {
      await sendToGroup(first, port);
      again = setInterval(() => void sendToGroup(datagram(), port).catch(() => undefined), 1_000);
    };
    try {
      return await multicastExchange(send, datagram(), this.ports.probe, KEY, Hash.SHA256, 5_000);
    } finally {
      clearInterval(again);
    }
  }

  /** The guest end of the daemon's current connection to a serial guest's socket. */
  serialLine(guest: number): GuestLine | undefined {
    const socket = this.serialPorts[guest]?.open.at(-1);
    return socket && lineOf(socket);
  }

  /** Resident memory of the daemon process (kB). */
  rssKb(): number {
    return rssOf(this.daemon.pid);
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
    await Promise.all(this.serialPorts.map((p) => p.close()));
    await this.trap.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

// One GuestLine per connection: it owns the socket's reader.
const lines = new WeakMap<object, GuestLine>();
function lineOf(socket: ConstructorParameters<typeof GuestLine>[0]): GuestLine {
  let line = lines.get(socket);
  if (!line) {
    line = new GuestLine(socket);
    lines.set(socket, line);
  }
  return line;
}

/** VmRSS of a process, in kB (0 once it is gone). */
function rssOf(pid: number): number {
  try {
    return procStatusNumber(pid, 'VmRSS') ?? 0;
  } catch {
    return 0;
  }
}
