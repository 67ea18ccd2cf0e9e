/**
 * What qemu does for the serial listener, without qemu: listen on a domain's unix socket and carry
 * bytes between the listener and the "guest".
 *
 * - GuestPortSocket: the socket in this process; the test is the guest (sends requests, reads answers,
 *   closes the connection to make the daemon see an EOF).
 * - SocatSerialPort: socat listens on the socket and gives the guest end as a pty (the guest's ttyS1),
 *   for the real C `fence_virt -D <pty>`.
 * - GuestfwdBridge: a vmchannel guestfwd: the daemon's connection on the unix socket, the guest's TCP
 *   connections on 127.0.0.1:PORT for `fence_virt -A 127.0.0.1 -p PORT`, one guest connection at a
 *   time like a guest's TCP stream to qemu. Bytes the daemon writes while no guest is connected are
 *   dropped (a one-process socat bridge with fork hands them to whichever child reads first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { waitUntil } from './processes.js';
import {
  decodeHostRecord,
  decodeSerialResponse,
  encodeSerialRequest,
  HOST_RECORD_SIZE,
  MagicFramer,
  Response,
  SERIAL_RESPONSE_SIZE,
  type HostRecord,
  type SerialRequest,
} from '../../src/protocol/index.js';
import { StreamIO } from '../../src/util/stream-io.js';
import { nextSeqno } from './seqnos.js';

async function listenOn(server: Server, options: { path: string } | { port: number; host: string }): Promise<void> {
  server.listen(options);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
}

async function closeServer(server: Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export type GuestAnswer = { code: number } | { hosts: HostRecord[]; code: number; raw: Buffer[] };

/** A domain's socket served by this process; every connection the daemon makes is kept in order. */
export class GuestPortSocket {
  readonly connections: Socket[] = [];
  /** Hang up on every connection at once (a broken qemu end). */
  hangUp = false;
  private readonly server: Server;

  private constructor(readonly path: string) {
    this.server = createServer((socket) => {
      socket.on('error', () => undefined);
      this.connections.push(socket);
      if (this.hangUp) socket.destroy();
    });
  }

  static async listen(path: string): Promise<GuestPortSocket> {
    const port = new GuestPortSocket(path);
    await listenOn(port.server, { path });
    return port;
  }

  /** Connections the daemon has open now. */
  get open(): Socket[] {
    return this.connections.filter((s) => !s.destroyed && !s.readableEnded);
  }

  /** Waits for the daemon to have made its nth connection (1 = the first) and returns it. */
  async connection(n = 1, timeoutMs = 15_000): Promise<Socket> {
    await waitUntil(() => this.connections.length >= n, `connection ${n} to ${this.path}`, timeoutMs);
    return this.connections[n - 1] as Socket;
  }

  /** A request with a seqno unique in this process unless one is given (the daemon's history is one for all listeners). */
  request(fields: Partial<SerialRequest> & { request: number }): Buffer {
    return encodeSerialRequest({ flags: 0, domain: '', seqno: nextSeqno(), ...fields });
  }

  /** Stops accepting; open connections stay (qemu keeps serving its current client). */
  async stopListening(): Promise<void> {
    await closeServer(this.server);
  }

  async close(): Promise<void> {
    for (const s of this.connections) s.destroy();
    if (this.server.listening) await closeServer(this.server);
  }
}

/**
 * The guest side of one connection: writes raw bytes and reads answers (a code, or a host list with
 * its trailing code) by the magic, like an agent. One reader per connection.
 */
export class GuestLine {
  readonly io: StreamIO;
  private readonly framer = new MagicFramer(SERIAL_RESPONSE_SIZE, decodeSerialResponse);

  constructor(readonly socket: Duplex) {
    this.io = new StreamIO(socket);
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  async answer(timeoutMs = 10_000): Promise<GuestAnswer> {
    const code = await this.code(timeoutMs);
    if (code !== Response.HOSTLIST) return { code };
    const hosts: HostRecord[] = [];
    const raw: Buffer[] = [];
    for (;;) {
      const bytes = await this.io.read(HOST_RECORD_SIZE, timeoutMs, 'a host record');
      raw.push(bytes);
      const record = decodeHostRecord(bytes);
      if (record.terminator) break;
      hosts.push(record);
    }
    return { hosts, code: await this.code(timeoutMs), raw };
  }

  private async code(timeoutMs: number): Promise<number> {
    for (;;) {
      const byte = await this.io.read(1, timeoutMs, 'an answer');
      const frame = this.framer.push(byte).find((e) => e.type === 'frame');
      if (frame && frame.type === 'frame') return frame.value;
    }
  }

  /** True if nothing arrives within `ms` (a dropped request gets no answer). */
  async silentFor(ms: number): Promise<boolean> {
    try {
      await this.io.read(1, ms);
      return false;
    } catch {
      return true;
    }
  }
}

/** socat listening on the socket, the guest end a raw pty at `ptyPath` (made when the daemon connects). */
export class SocatSerialPort {
  private readonly exited: Promise<void>;
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly socketPath: string,
    readonly ptyPath: string,
  ) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = once(child, 'exit').then(() => undefined);
  }

  static async start(socketPath: string, ptyPath: string): Promise<SocatSerialPort> {
    const child = spawn('socat', [`UNIX-LISTEN:${socketPath}`, `PTY,link=${ptyPath},raw,echo=0`], { stdio: ['ignore', 'ignore', 'pipe'] });
    const port = new SocatSerialPort(child, socketPath, ptyPath);
    try {
      await waitUntil(() => existsSync(socketPath) || child.exitCode !== null, `socat listening on ${socketPath}`, 15_000);
      if (child.exitCode !== null) throw new Error(`socat exited: ${port.stderr}`);
    } catch (err) {
      await port.stop();
      throw err;
    }
    return port;
  }

  /** The pty exists once a daemon has connected to the socket. */
  async connected(timeoutMs = 15_000): Promise<void> {
    await waitUntil(() => existsSync(this.ptyPath), `a daemon connected to ${this.socketPath}`, timeoutMs);
  }

  /** Stops this socat by its PID. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

export class GuestfwdBridge {
  private daemonSide: Socket | undefined;
  private guestSide: Socket | undefined;
  private readonly unix = createServer((socket) => this.attachDaemon(socket));
  private readonly tcp = createServer((socket) => this.attachGuest(socket));

  private constructor(readonly port: number) {}

  static async start(socketPath: string, port: number): Promise<GuestfwdBridge> {
    const bridge = new GuestfwdBridge(port);
    await listenOn(bridge.unix, { path: socketPath });
    try {
      await listenOn(bridge.tcp, { port, host: '127.0.0.1' });
    } catch (err) {
      await closeServer(bridge.unix);
      throw err;
    }
    return bridge;
  }

  get connected(): boolean {
    return this.daemonSide !== undefined && !this.daemonSide.destroyed;
  }

  private attachDaemon(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.connected) {
      // qemu serves one client on a chardev socket at a time.
      socket.destroy();
      return;
    }
    this.daemonSide = socket;
    socket.on('data', (chunk: Buffer) => {
      const guest = this.guestSide;
      if (guest && !guest.destroyed) guest.write(chunk);
    });
  }

  private attachGuest(socket: Socket): void {
    socket.on('error', () => undefined);
    this.guestSide?.destroy();
    this.guestSide = socket;
    socket.on('data', (chunk: Buffer) => this.daemonSide?.write(chunk));
    socket.on('close', () => {
      if (this.guestSide === socket) this.guestSide = undefined;
    });
  }

  async stop(): Promise<void> {
    this.daemonSide?.destroy();
    this.guestSide?.destroy();
    await Promise.all([closeServer(this.unix), closeServer(this.tcp)]);
  }
}
