/**
 * Garbage from the socket. libvirtd never sends malformed packets, so these tests put a fake server on a
 * real unix socket: a mock, on purpose, for a fault the real daemon cannot be made to produce. It speaks
 * just enough of the protocol (auth list, open, supports-feature) to get a client connected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { LibvirtBackend } from '../../src/backends/libvirt/backend.js';
import { LibvirtClient, type LibvirtClientOptions } from '../../src/libvirt/client.js';
import { LibvirtConnectionError, LibvirtProtocolError } from '../../src/libvirt/errors.js';
import { encodePacket, MessageStatus, MessageType, PacketDecoder, type Packet } from '../../src/libvirt/packet.js';
import { ErrorCode, KEEPALIVE_PROGRAM, Proc, REMOTE_PROGRAM } from '../../src/libvirt/protocol.js';
import { readDomain, writeDomain, type Domain } from '../../src/libvirt/remote-types.js';
import { XdrReader, XdrWriter } from '../../src/libvirt/xdr.js';
import { CapturedLog } from '../support/captured-log.js';
import { nextEvent } from './support.js';

/** What the fake server sends for one received call: bytes, or nothing at all. */
type Script = (call: Packet, socket: Socket) => Buffer | null;

function reply(call: Packet, payload: Buffer = Buffer.alloc(0), overrides: Partial<Packet['header']> = {}): Buffer {
  return encodePacket({ ...call.header, type: MessageType.Reply, status: MessageStatus.Ok, ...overrides }, payload);
}

/** A well-behaved handshake: no auth, open succeeds, no keepalive; close succeeds. Returns null for other calls. */
function handshake(call: Packet): Buffer | null {
  switch (call.header.procedure) {
    case Proc.AuthList:
      return reply(call, new XdrWriter().uint(1).int(0).finish());
    case Proc.ConnectOpen:
    case Proc.ConnectClose:
      return reply(call);
    case Proc.ConnectSupportsFeature:
      return reply(call, new XdrWriter().int(0).finish());
    default:
      return null;
  }
}

/** An error reply (remote_error) with libvirt's `code` and `message`, from the remote driver (domain 10). */
function errorReply(call: Packet, code: number, message: string): Buffer {
  const error = new XdrWriter().int(code).int(10);
  error.optional(message, (x, m) => x.string(m));
  error.int(2).optional(null, writeDomain);
  for (let i = 0; i < 3; i++) error.optional(null, (x, m: string) => x.string(m));
  error
    .int(0)
    .int(0)
    .optional(null, (x, m: string) => x.string(m));
  return reply(call, error.finish(), { status: MessageStatus.Error });
}

const lengthWord = (n: number): Buffer => new XdrWriter().uint(n).finish();

describe('LibvirtClient against a fake server sending garbage', () => {
  let dir: string;
  let server: Server;
  let script: Script = handshake;
  const sockets = new Set<Socket>();
  const socketPath = (): string => join(dir, 'fake-sock');
  const open = (options: Partial<LibvirtClientOptions> = {}): Promise<LibvirtClient> =>
    LibvirtClient.open({
      uri: `test+unix:///default?socket=${socketPath()}`,
      reconnectMinDelayMs: 60_000,
      connectTimeoutMs: 2_000,
      ...options,
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'libvirt-faults-'));
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      const decoder = new PacketDecoder();
      socket.on('data', (chunk) => {
        for (const call of decoder.push(chunk)) {
          const out = script(call, socket);
          if (out) socket.write(out);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath(), resolve));
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const garbageOnFirstCall: [string, (call: Packet) => Buffer, RegExp][] = [
    ['a length beyond libvirt’s 16 MiB limit', () => lengthWord(0xffffffff), /exceeds libvirt's limit/],
    ['a length shorter than a header', () => Buffer.concat([lengthWord(8), Buffer.alloc(4)]), /smaller than the 28-byte minimum/],
    [
      'an unknown program',
      (call) => encodePacket({ ...call.header, program: 0x12345678, type: MessageType.Reply }),
      /unexpected program 0x12345678/,
    ],
    ['a wrong protocol version', (call) => reply(call, undefined, { version: 7 }), /unsupported remote protocol version 7/],
    ['an unknown message type', (call) => reply(call, undefined, { type: 9 }), /unexpected message type 9/],
  ];
  for (const [what, bytes, message] of garbageOnFirstCall) {
    it(`fails to open with LibvirtProtocolError on ${what}`, async () => {
      script = bytes;
      await assert.rejects(open(), (err: unknown) => err instanceof LibvirtProtocolError && message.test(err.message));
    });
  }

  it('fails to open with a connection error when the server hangs up', async () => {
    script = (_call, socket) => (socket.end(), null);
    await assert.rejects(open(), LibvirtConnectionError);
  });

  it('fails only the call whose reply payload is malformed, and keeps the connection', async () => {
    script = (call) => {
      if (call.header.procedure === Proc.DomainLookupByName) return reply(call, Buffer.from([0, 0, 0]));
      if (call.header.procedure === Proc.ConnectNumOfDomains) return reply(call, new XdrWriter().int(3).int(99).finish());
      if (call.header.procedure === Proc.ConnectGetUri) return reply(call, new XdrWriter().string('test:///default').finish());
      return handshake(call);
    };
    const client = await open();
    try {
      await assert.rejects(
        client.lookupByName('x'),
        (err: unknown) => err instanceof LibvirtProtocolError && /malformed reply to procedure 23/.test(err.message),
      );
      await assert.rejects(client.numOfDomains(), /4 unexpected trailing bytes/);
      assert.equal(await client.getUri(), 'test:///default');
      assert.equal(client.isConnected, true);
    } finally {
      await client.close();
    }
  });

  it('drops the connection on garbage after the handshake: pending calls fail, disconnected is emitted, nothing crashes', async () => {
    script = (call) => (call.header.procedure === Proc.ConnectNumOfDomains ? lengthWord(3) : handshake(call));
    const client = await open();
    try {
      const disconnected = nextEvent(client, 'disconnected');
      await assert.rejects(client.numOfDomains(), LibvirtProtocolError);
      const [reason] = await disconnected;
      assert.ok(reason instanceof LibvirtProtocolError);
      assert.equal(client.isConnected, false);
      await assert.rejects(
        client.numOfDomains(),
        (err: unknown) => err instanceof LibvirtConnectionError && /not connected/.test(err.message),
      );
    } finally {
      await client.close();
    }
  });

  it('drops a reply to a call that already timed out, and ignores replies to unknown serials', async () => {
    let held: Packet | null = null;
    script = (call, socket) => {
      if (call.header.procedure === Proc.ConnectNumOfDomains && !held) {
        held = call; // answered late, below
        return null;
      }
      if (call.header.procedure === Proc.ConnectGetUri) {
        socket.write(reply({ ...call, header: { ...call.header, serial: 4242 } }, new XdrWriter().string('stray').finish()));
        if (held) socket.write(reply(held, new XdrWriter().int(5).finish()));
        return reply(call, new XdrWriter().string('test:///default').finish());
      }
      return handshake(call);
    };
    const client = await open();
    try {
      await assert.rejects(client.numOfDomains({ timeoutMs: 50 }), { name: 'LibvirtTimeoutError' });
      assert.equal(await client.getUri(), 'test:///default');
      assert.equal(client.isConnected, true);
    } finally {
      await client.close();
    }
  });

  it('serves calls while its keepalive probe is unanswered, and pings only once libvirtd has said it speaks keepalive', async () => {
    let probe: { call: Packet; socket: Socket } | undefined;
    let pings = 0;
    script = (call, socket) => {
      if (call.header.program === KEEPALIVE_PROGRAM) return (pings++, null);
      if (call.header.procedure === Proc.ConnectSupportsFeature) return ((probe = { call, socket }), null);
      if (call.header.procedure === Proc.ConnectGetUri) return reply(call, new XdrWriter().string('test:///default').finish());
      return handshake(call);
    };
    // The server reads one socket in order: a ping sent before a call reaches it before that call.
    const roundTrip = async (client: LibvirtClient): Promise<void> => assert.equal(await client.getUri(), 'test:///default');
    await onMockedClock(
      async (client) => {
        await roundTrip(client);
        assert.ok(probe, 'the keepalive probe was sent');
        mock.timers.tick(3_000);
        await roundTrip(client);
        assert.equal(pings, 0, 'no keepalive before libvirtd has answered the probe');
        probe.socket.write(reply(probe.call, new XdrWriter().int(1).finish()));
        await roundTrip(client); // the probe's answer arrived before this reply
        mock.timers.tick(1_000);
        await roundTrip(client);
        assert.equal(pings, 1, 'keepalive runs once the probe said yes');
        assert.equal(client.isConnected, true);
      },
      { keepaliveIntervalMs: 1_000, connectTimeoutMs: 60_000 },
      ['setTimeout', 'setInterval', 'Date'],
    );
  });

  it('ends the connection, to reconnect, when libvirtd leaves the keepalive probe unanswered for the connect timeout', async () => {
    script = (call) => (call.header.procedure === Proc.ConnectSupportsFeature ? null : handshake(call));
    await onMockedClock(async (client) => {
      const disconnected = nextEvent(client, 'disconnected');
      await settlesAfter(disconnected, 2_000, 'the disconnect');
      const [reason] = await disconnected;
      assert.match(reason.message, /failed the keepalive probe: .*2000 ms/);
      assert.equal(client.isConnected, false);
    });
  });

  it('ends the connection, to reconnect, when libvirtd fails the keepalive probe', async () => {
    script = (call) =>
      call.header.procedure === Proc.ConnectSupportsFeature ? errorReply(call, ErrorCode.InternalError, 'probe broken') : handshake(call);
    const log = new CapturedLog(0);
    const client = await open({ logger: log.logger });
    try {
      const [reason] = await nextEvent(client, 'disconnected');
      assert.ok(reason instanceof LibvirtConnectionError);
      assert.match(reason.message, /failed the keepalive probe: probe broken/);
      assert.equal(client.isConnected, false);
      assert.equal(log.matching(/connection lost: .*failed the keepalive probe/).length, 1);
    } finally {
      await client.close();
    }
  });

  let held: { call: Packet; socket: Socket }[] = [];
  /** Holds every count call unanswered, except the first when `answerFirst` (answered 3 at once). */
  const holdCounts =
    (answerFirst: boolean): Script =>
    (call, socket) => {
      if (call.header.procedure !== Proc.ConnectNumOfDomains) return handshake(call);
      held.push({ call, socket });
      return answerFirst && held.length === 1 ? reply(call, new XdrWriter().int(3).finish()) : null;
    };

  /**
   * Until `n` calls are held at the server. Polled between turns of the event loop, not on a timer: the
   * deadline tests below run on mocked timers, where a timer fires only when the test moves the clock.
   */
  async function untilHeld(n: number): Promise<void> {
    const giveUp = performance.now() + 20_000;
    while (held.length < n) {
      if (performance.now() > giveUp) throw new Error(`${n} calls did not reach the server`);
      await setImmediate();
    }
  }

  /**
   * Runs `test` on a client whose deadlines follow a mocked clock (setTimeout and Date): a deadline
   * passes only when the test moves the clock, so what is checked is which call fails at which moment,
   * not how fast this machine is.
   */
  async function onMockedClock(
    test: (client: LibvirtClient) => Promise<void>,
    options: Partial<LibvirtClientOptions> = {},
    apis: ('setTimeout' | 'setInterval' | 'Date')[] = ['setTimeout', 'Date'],
  ): Promise<void> {
    mock.timers.enable({ apis });
    try {
      const client = await open(options);
      try {
        await test(client);
      } finally {
        // On the mocked clock too: the client's one deadline timer is a mocked one from here on.
        await client.close();
      }
    } finally {
      mock.timers.reset();
    }
  }

  /** Whether `p` has settled by the end of this turn of the event loop. */
  async function settled(p: Promise<unknown>): Promise<boolean> {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await setImmediate();
    return done;
  }

  /** Moves the mocked clock `ms` on, in two steps: `p` (`what`) must be pending 1 ms before, settled at `ms`. */
  async function settlesAfter(p: Promise<unknown>, ms: number, what: string): Promise<void> {
    mock.timers.tick(ms - 1);
    assert.equal(await settled(p), false, `${what} settled before its deadline`);
    mock.timers.tick(1);
    assert.equal(await settled(p), true, `${what} still pending at its deadline`);
  }

  it('times out a call at its own deadline (one timer for all calls) while an earlier call with a later deadline waits', async () => {
    held = [];
    script = holdCounts(false);
    await onMockedClock(async (client) => {
      const slow = client.numOfDomains({ timeoutMs: 10_000 });
      const fast = client.numOfDomains({ timeoutMs: 100 });
      await untilHeld(2);
      await settlesAfter(fast, 100, 'the 100 ms call');
      await assert.rejects(fast, { name: 'LibvirtTimeoutError' });
      assert.equal(await settled(slow), false, 'the call with the later deadline failed with it');
      const { call, socket } = held[0]!;
      socket.write(reply(call, new XdrWriter().int(7).finish()));
      assert.equal(await slow, 7);
    });
  });

  it('keeps a call waiting past the deadline of an earlier call that was answered', async () => {
    held = [];
    script = holdCounts(true);
    await onMockedClock(async (client) => {
      assert.equal(await client.numOfDomains({ timeoutMs: 100 }), 3);
      const second = client.numOfDomains({ timeoutMs: 500 });
      await untilHeld(2);
      // The timer armed for the first call fires now and must not fail this one.
      mock.timers.tick(100);
      assert.equal(await settled(second), false, "failed at the answered call's deadline");
      await settlesAfter(second, 400, 'the 500 ms call');
      await assert.rejects(second, { name: 'LibvirtTimeoutError' });
    });
  });

  it('gives up on a close the server leaves unanswered at its 250 ms deadline: a hung libvirtd does not hold up an exit', async () => {
    script = (call) => (call.header.procedure === Proc.ConnectClose ? null : handshake(call));
    await onMockedClock(async (client) => {
      const closing = client.close();
      await settlesAfter(closing, 250, 'the close');
      await closing;
    });
  });

  it('asks virDomainGetInfo the state of a domain whose statistics carry no state it could give, or that the statistics leave out', async () => {
    // libvirtd sends state.state as an int; each other case is a broken reply, whose value must not
    // become the domain's state (the host list's byte, the cpg record, which refuses it).
    const domains = [
      { name: 'vm-int', state: 3, param: (w: XdrWriter) => w.int(1).int(3) },
      { name: 'vm-negative', state: 5, param: (w: XdrWriter) => w.int(1).int(-1) },
      { name: 'vm-double', state: 1, param: (w: XdrWriter) => w.int(5).fixedOpaque(Buffer.from([0x3f, 0xf8, 0, 0, 0, 0, 0, 0])) },
      { name: 'vm-huge', state: 4, param: (w: XdrWriter) => w.int(2).uint(0x80000000) },
      { name: 'vm-llong', state: 2, param: (w: XdrWriter) => w.int(3).hyper(2n) },
      // Listed, but left out of the statistics (libvirt's access control filters them by domain:read).
      { name: 'vm-unreadable', state: 1, param: null },
    ].map((d, i) => ({ ...d, dom: { name: d.name, uuid: `6a7e0001-0000-4000-8000-0000000000a${i}`, id: i + 1 } }));
    const infos: string[] = [];
    script = (call) => {
      if (call.header.procedure === Proc.ConnectListAllDomains) return reply(call, writeDomainList(domains.map((d) => d.dom)));
      if (call.header.procedure === Proc.ConnectGetAllDomainStats) {
        const inStats = domains.filter((d) => d.param !== null);
        const w = new XdrWriter().uint(inStats.length);
        for (const d of inStats) {
          writeDomain(w, d.dom);
          d.param?.(w.uint(1).string('state.state'));
        }
        return reply(call, w.finish());
      }
      if (call.header.procedure === Proc.DomainGetInfo) {
        const asked = readDomain(new XdrReader(call.payload));
        infos.push(asked.name);
        const state = domains.find((d) => d.dom.uuid === asked.uuid)?.state ?? 0;
        return reply(call, new XdrWriter().uint(state).uhyper(0n).uhyper(0n).uint(1).uhyper(0n).finish());
      }
      return handshake(call);
    };
    const backend = await LibvirtBackend.open([`test+unix:///default?socket=${socketPath()}`], new CapturedLog(3).logger, {
      client: { reconnectMinDelayMs: 60_000, connectTimeoutMs: 2_000 },
    });
    try {
      const list = await backend.hostList({ source: 'test', seqno: 1 });
      assert.equal(list.code, 0);
      assert.deepEqual(
        list.hosts.map((h) => [h.name, h.state]),
        domains.map((d) => [d.name, d.state]).sort(([a], [b]) => String(a).localeCompare(String(b))),
      );
      assert.deepEqual(infos.sort(), ['vm-double', 'vm-huge', 'vm-llong', 'vm-negative', 'vm-unreadable'], 'only those asked one by one');
    } finally {
      await backend.close();
    }
  });

  it('lists one by one where the driver answers that it does not support domain statistics, and asks them only once', async () => {
    // As a driver without connectGetAllDomainStats answers (VIR_ERR_NO_SUPPORT); the test driver has it.
    const dom = { name: 'vm-a', uuid: '6a7e0001-0000-4000-8000-0000000000b1', id: 1 };
    const asked = new Map<number, number>();
    script = (call) => {
      const proc = call.header.procedure;
      asked.set(proc, (asked.get(proc) ?? 0) + 1);
      if (proc === Proc.ConnectListAllDomains) return reply(call, writeDomainList([dom]));
      if (proc === Proc.DomainGetInfo) return reply(call, new XdrWriter().uint(1).uhyper(0n).uhyper(0n).uint(1).uhyper(0n).finish());
      if (proc === Proc.ConnectGetAllDomainStats) {
        return errorReply(call, ErrorCode.NoSupport, 'this function is not supported by the connection driver');
      }
      return handshake(call);
    };
    const log = new CapturedLog(3);
    const backend = await LibvirtBackend.open([`test+unix:///default?socket=${socketPath()}`], log.logger, {
      client: { reconnectMinDelayMs: 60_000, connectTimeoutMs: 2_000 },
    });
    try {
      for (let i = 0; i < 2; i++) {
        const list = await backend.hostList({ source: 'test', seqno: i });
        assert.equal(list.code, 0);
        assert.deepEqual(
          list.hosts.map((h) => [h.name, h.state]),
          [['vm-a', 1]],
        );
      }
      assert.equal(asked.get(Proc.ConnectGetAllDomainStats), 1, 'not asked again on that connection');
      assert.equal(asked.get(Proc.DomainGetInfo), 2);
      assert.equal(log.matching(/one by one: domain statistics failed: this function is not supported/).length, 1);
    } finally {
      await backend.close();
    }
  });
});

/** remote_connect_list_all_domains_ret. */
function writeDomainList(domains: readonly Domain[]): Buffer {
  const w = new XdrWriter().uint(domains.length);
  for (const d of domains) writeDomain(w, d);
  return w.uint(domains.length).finish();
}

describe('REMOTE_PROGRAM constant', () => {
  it('is libvirt’s program number', () => assert.equal(REMOTE_PROGRAM, 0x20008086));
});
