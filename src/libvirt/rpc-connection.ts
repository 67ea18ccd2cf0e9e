/**
 * One socket to a libvirt daemon: numbered calls with many in flight, per-call timeouts, replies and
 * errors matched by serial, server messages (events) handed up, keepalive PING/PONG. It knows nothing
 * about reconnecting: when the socket goes away it fails what is pending and reports once via onClose.
 */
import type { Socket } from 'node:net';
import { connectWithin } from '../util/connect.js';
import { DirectReads } from '../util/direct-reads.js';
import { EarliestDeadlineTimer } from '../util/earliest-deadline-timer.js';
import type { Logger } from '../util/log.js';
import { LibvirtConnectionError, LibvirtProtocolError, LibvirtTimeoutError } from './errors.js';
import { KeepaliveMonitor, type KeepaliveOptions } from './keepalive.js';
import { encodePacket, MessageStatus, MessageType, PacketDecoder, type Packet, type PacketHeader } from './packet.js';
import { KEEPALIVE_PROGRAM, KEEPALIVE_PROTOCOL_VERSION, KeepaliveProc, REMOTE_PROGRAM, REMOTE_PROTOCOL_VERSION } from './protocol.js';
import { readRemoteError } from './remote-types.js';
import { XdrError, XdrReader } from './xdr.js';

export type Decoder<T> = (r: XdrReader) => T;

export interface RpcHandlers {
  /** A server-initiated message of the remote program (an event). */
  onMessage(procedure: number, payload: XdrReader): void;
  /** The socket is gone (peer closed, error, protocol violation, keepalive death or destroy()). */
  onClose(reason: Error): void;
}

interface Pending {
  procedure: number;
  decode: Decoder<unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Date.now() ms after which the call fails with a timeout. */
  deadline: number;
  timeoutMs: number;
}

const MAX_SERIAL = 0xffffffff;

export class RpcConnection {
  private readonly decoder = new PacketDecoder();
  private readonly pending = new Map<number, Pending>();
  private serial = 0;
  private closedWith: Error | null = null;
  private keepalive: KeepaliveMonitor | null = null;
  /**
   * One timer for every call's deadline, armed for the earliest and left armed when calls are
   * answered: when it fires it fails the calls whose time is up and re-arms for the next. A status
   * makes two calls; none of them sets or clears a timer of its own.
   */
  private readonly deadlineTimer = new EarliestDeadlineTimer(() => this.expireCalls());
  /**
   * Packets sent in one turn of the event loop, written together once it ends: a status asks for the
   * lookup and the state at once, and one write of both costs one system call and one wake-up of
   * libvirtd instead of two of each.
   */
  private outgoing: Buffer[] = [];
  private readonly flush = (): void => {
    const packets = this.outgoing;
    this.outgoing = [];
    if (!this.closedWith) this.socket.write(packets.length === 1 ? (packets[0] as Buffer) : Buffer.concat(packets));
  };

  private constructor(
    private readonly socket: Socket,
    reads: DirectReads,
    private readonly uri: string,
    private readonly log: Logger,
    private readonly handlers: RpcHandlers,
  ) {
    socket.setNoDelay(true);
    reads.readTo((chunk) => this.receive(chunk));
    socket.on('error', (err) =>
      this.fail(new LibvirtConnectionError(`connection to libvirt '${uri}' failed: ${err.message}`, uri, { cause: err })),
    );
    socket.on('close', () => this.fail(new LibvirtConnectionError(`connection to libvirt '${uri}' closed by the daemon`, uri)));
  }

  /** Dials the unix socket; rejects with LibvirtConnectionError naming the socket and the URI. */
  static async open(socketPath: string, uri: string, log: Logger, handlers: RpcHandlers, timeoutMs: number): Promise<RpcConnection> {
    let socket: Socket;
    const reads = new DirectReads();
    try {
      socket = await connectWithin({ path: socketPath, onread: reads.onread }, timeoutMs);
    } catch (err) {
      throw new LibvirtConnectionError(`cannot connect to libvirt socket ${socketPath} for '${uri}': ${(err as Error).message}`, uri, {
        cause: err,
      });
    }
    return new RpcConnection(socket, reads, uri, log, handlers);
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  /** Sends a call of the remote program and resolves with its decoded reply. */
  call<T>(procedure: number, args: Uint8Array | undefined, decode: Decoder<T>, timeoutMs: number): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const serial = this.nextSerial();
    return new Promise<T>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      this.pending.set(serial, { procedure, decode, resolve: resolve as (v: unknown) => void, reject, deadline, timeoutMs });
      this.deadlineTimer.arm(deadline);
      this.send(
        { program: REMOTE_PROGRAM, version: REMOTE_PROTOCOL_VERSION, procedure, type: MessageType.Call, serial, status: MessageStatus.Ok },
        args,
      );
    });
  }

  /** Starts our side of keepalive (only once the daemon said it speaks the keepalive program). */
  startKeepalive(options: KeepaliveOptions): void {
    this.keepalive = new KeepaliveMonitor(
      options,
      () => this.sendKeepalive(KeepaliveProc.Ping),
      (silentMs) =>
        this.destroy(new LibvirtConnectionError(`libvirt '${this.uri}' stopped answering keepalive (silent for ${silentMs} ms)`, this.uri)),
    );
    this.keepalive.start();
  }

  /** Closes the socket; pending calls fail with `reason`. */
  destroy(reason: Error = new LibvirtConnectionError(`connection to libvirt '${this.uri}' closed`, this.uri)): void {
    this.fail(reason);
  }

  private expireCalls(): void {
    this.deadlineTimer.expirePassed(
      this.pending,
      ([, call]) => call.deadline,
      ([serial, call]) => {
        this.pending.delete(serial);
        call.reject(new LibvirtTimeoutError(call.procedure, call.timeoutMs, this.uri));
      },
    );
  }

  private nextSerial(): number {
    this.serial = this.serial >= MAX_SERIAL ? 1 : this.serial + 1;
    return this.serial;
  }

  private send(header: PacketHeader, payload?: Uint8Array): void {
    if (this.outgoing.length === 0) process.nextTick(this.flush);
    this.outgoing.push(encodePacket(header, payload));
  }

  private sendKeepalive(procedure: number): void {
    if (this.closedWith) return;
    this.send({
      program: KEEPALIVE_PROGRAM,
      version: KEEPALIVE_PROTOCOL_VERSION,
      procedure,
      type: MessageType.Message,
      serial: 0,
      status: MessageStatus.Ok,
    });
  }

  private receive(chunk: Buffer): void {
    if (this.closedWith) return;
    this.keepalive?.seen();
    try {
      for (const packet of this.decoder.push(chunk)) this.dispatch(packet);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      this.log.error(`libvirt '${this.uri}': protocol violation, dropping the connection: ${why}`);
      this.fail(new LibvirtProtocolError(`libvirt '${this.uri}' sent an invalid packet: ${why}`, { cause: err }));
    }
  }

  private dispatch({ header, payload }: Packet): void {
    if (header.program === KEEPALIVE_PROGRAM) {
      this.checkVersion(header.version, KEEPALIVE_PROTOCOL_VERSION, 'keepalive');
      const ping = header.procedure === KeepaliveProc.Ping;
      this.log.trace(`keepalive ${ping ? 'PING' : 'PONG'} received`);
      if (ping) this.sendKeepalive(KeepaliveProc.Pong);
      return;
    }
    if (header.program !== REMOTE_PROGRAM) {
      throw new LibvirtProtocolError(`unexpected program 0x${header.program.toString(16)}`);
    }
    this.checkVersion(header.version, REMOTE_PROTOCOL_VERSION, 'remote');
    switch (header.type) {
      case MessageType.Reply:
        this.settle(header, payload);
        return;
      case MessageType.Message:
        this.handlers.onMessage(header.procedure, new XdrReader(payload));
        return;
      default:
        throw new LibvirtProtocolError(`unexpected message type ${header.type} for procedure ${header.procedure}`);
    }
  }

  private checkVersion(got: number, want: number, program: string): void {
    if (got !== want) throw new LibvirtProtocolError(`unsupported ${program} protocol version ${got}`);
  }

  private settle(header: PacketHeader, payload: Buffer): void {
    const call = this.pending.get(header.serial);
    if (!call) {
      // A reply that arrives after its call timed out.
      this.log.debug(`libvirt '${this.uri}': dropping reply to unknown serial ${header.serial}`);
      return;
    }
    this.pending.delete(header.serial);
    // Left armed (it re-arms or stops when it fires), but not holding the process once no call waits.
    if (this.pending.size === 0) this.deadlineTimer.release();
    if (header.procedure !== call.procedure) {
      call.reject(new LibvirtProtocolError(`reply for procedure ${header.procedure} to a call of procedure ${call.procedure}`));
      return;
    }
    const r = new XdrReader(payload);
    try {
      if (header.status === MessageStatus.Ok) {
        const value = call.decode(r);
        r.end();
        call.resolve(value);
      } else if (header.status === MessageStatus.Error) {
        call.reject(readRemoteError(r));
      } else {
        call.reject(new LibvirtProtocolError(`unexpected reply status ${header.status}`));
      }
    } catch (err) {
      if (!(err instanceof XdrError)) throw err;
      call.reject(new LibvirtProtocolError(`malformed reply to procedure ${call.procedure}: ${err.message}`, { cause: err }));
    }
  }

  private fail(reason: Error): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    this.keepalive?.stop();
    this.socket.destroy();
    this.deadlineTimer.stop();
    for (const call of this.pending.values()) call.reject(reason);
    this.pending.clear();
    this.handlers.onClose(reason);
  }
}
