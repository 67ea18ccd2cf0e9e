/**
 * A late answer of fence_virtd to an earlier agent run that timed out waits in the serial channel. A
 * serial answer is only a magic and a code, with no sequence number, so an agent that reads it after
 * sending its own request takes it for its own answer. Ours discards what the channel holds before it
 * writes the request. The test plays the daemon on the host side of the channel: it puts a stale
 * SUCCESS there, then answers the request it receives with FAIL, so the exit code shows which answer
 * the agent took (success, 0, would be the dangerous mistake: a node reported fenced that was not).
 *
 * The C fence_virt is run in the same places and its observed behaviour asserted: it flushes a tty
 * once, when it opens it, and never drains a vmchannel connection. Last, in a real QEMU guest, the
 * late answer waits on the host side of a virtio-serial port while the guest has the port closed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import {
  decodeSerialRequest,
  encodeSerialResponse,
  Request,
  Response,
  SERIAL_REQUEST_SIZE,
  type SerialRequest,
} from '../../src/protocol/index.js';
import { fdTargets } from '../../src/util/proc-fds.js';
import { StreamIO } from '../../src/util/stream-io.js';
import { REPO, startTool, waitUntil, type RunningTool, type ToolResult } from '../support/processes.js';
import { SocatSerialPort } from '../support/qemu-stand-ins.js';
import { FENCE_CHANNEL, GuestBed, qemuUnavailableReason, repoRoot, shellCommand } from '../guests/harness.js';
import { C_AGENT } from './agents.js';

const STALE = encodeSerialResponse(Response.SUCCESS);
const FRESH = encodeSerialResponse(Response.FAIL);
/** Exit codes of `-o off`: the stale answer's and the fresh one's. */
const TOOK_STALE = 0;
const TOOK_FRESH = 1;
const DOMAIN = 'vm-stale';
const CALL = ['-o', 'off', '-H', DOMAIN, '-t', '5'];

const OURS = [process.execPath, '--import', 'tsx', `${REPO}src/bin/fence_virt.ts`];
const C = [C_AGENT.fence_virt];

const skip =
  [C_AGENT.fence_virt, '/usr/bin/socat', '/usr/bin/perl']
    .filter((path) => !existsSync(path))
    .map((path) => `${path} is not installed`)[0] ?? false;

/** Starts an agent and keeps its PID, so the test can see when it has opened the device. */
function startAgent(argv: readonly string[]): RunningTool {
  const [command, ...args] = argv as [string, ...string[]];
  return startTool(command, args);
}

/** Bytes waiting unread in a pty's input queue (FIONREAD), looked at without taking them. */
function pendingInput(pty: string): number {
  const script =
    'sysopen(my $f, $ARGV[0], O_RDONLY|O_NOCTTY|O_NONBLOCK) or die "$!"; my $n = pack("i", 0); ioctl($f, 0x541B, $n) or die "$!"; print unpack("i", $n)';
  return Number(execFileSync('perl', ['-MFcntl', '-e', script, pty]).toString());
}

async function connectUnix(path: string): Promise<Socket> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** The daemon's end of a channel: reads requests, writes answers. */
class HostEnd {
  private readonly io: StreamIO;

  constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    this.io = new StreamIO(socket);
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  async request(timeoutMs = 30_000): Promise<SerialRequest> {
    return decodeSerialRequest(await this.io.read(SERIAL_REQUEST_SIZE, timeoutMs, 'the agent request'));
  }
}

function assertOffRequest(request: SerialRequest): void {
  assert.equal(request.request, Request.OFF);
  assert.equal(request.domain, DOMAIN);
}

describe('a stale answer pending on a serial pty (socat standing in for the guest serial port)', { skip }, () => {
  let dir: string;
  let socat: SocatSerialPort;
  let host: HostEnd;
  let pty: string;
  let ptyDevice: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stale-answer-'));
    pty = join(dir, 'pty');
    socat = await SocatSerialPort.start(join(dir, 'port.sock'), pty);
    host = new HostEnd(await connectUnix(socat.socketPath));
    await socat.connected();
    ptyDevice = realpathSync(pty);
  });
  after(async () => {
    host?.socket.destroy();
    await socat?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Puts the stale answer into the pty and waits until it is in the pty's input queue. */
  async function staleAnswerPending(): Promise<void> {
    assert.equal(pendingInput(pty), 0, 'the channel starts empty');
    host.send(STALE);
    await waitUntil(() => pendingInput(pty) === STALE.length, 'the stale answer waiting in the pty');
  }

  it('written before the run: ours and the C agent both take the fresh answer (the C agent flushes when it opens the tty)', async () => {
    for (const agent of [OURS, C]) {
      await staleAnswerPending();
      const run = startAgent([...agent, '-D', pty, ...CALL]);
      assertOffRequest(await host.request());
      // Noise before the fresh answer (a partial magic): the answer is still found by its magic. Not
      // ending in 'a': the C agent's scanner would then miss the magic that follows.
      host.send(Buffer.concat([Buffer.from('ab\x00\x7f'), FRESH]));
      const result = await run.result;
      assert.equal(result.code, TOOK_FRESH, `${agent.join(' ')}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      assert.equal(result.stdout, 'Operation failed\n');
      assert.equal(pendingInput(pty), 0);
    }
  });

  it('arriving after the open, during the modem-line drop, before the request: ours takes the fresh answer', async () => {
    // The C agent cannot be caught in this window on a pty: its modem-line ioctls fail at once there,
    // so its request follows its flush immediately (on a real UART it sleeps 300 ms between them).
    const run = startAgent([...OURS, '-D', pty, ...CALL]);
    await waitUntil(() => [...fdTargets(run.pid).values()].includes(ptyDevice), 'our agent opening the pty');
    host.send(STALE);
    assertOffRequest(await host.request());
    host.send(FRESH);
    const result = await run.result;
    assert.equal(result.code, TOOK_FRESH, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
    assert.equal(pendingInput(pty), 0);
  });
});

/**
 * A vmchannel as QEMU's guestfwd serves it: what the daemon wrote while no guest connection existed
 * stays in the chardev socket and reaches the next guest connection right after it is set up, ahead
 * of the answer to that connection's request.
 */
class StaleChannel {
  readonly requests: SerialRequest[] = [];
  private readonly server: Server;
  private readonly sockets: Socket[] = [];

  private constructor(staleAfterMs: number) {
    this.server = createServer((socket) => {
      this.sockets.push(socket);
      const host = new HostEnd(socket);
      // At once means in this callback, ahead of any answer (a timer could fire after the request).
      if (staleAfterMs === 0) host.send(STALE);
      else setTimeout(() => host.send(STALE), staleAfterMs);
      void host
        .request()
        .then((request) => {
          this.requests.push(request);
          host.send(FRESH);
        })
        .catch(() => socket.destroy());
    });
  }

  static async start(staleAfterMs: number): Promise<StaleChannel> {
    const channel = new StaleChannel(staleAfterMs);
    await new Promise<void>((resolve, reject) => channel.server.once('error', reject).listen({ host: '127.0.0.1', port: 0 }, resolve));
    return channel;
  }

  get args(): string[] {
    return ['-A', '127.0.0.1', '-p', String((this.server.address() as AddressInfo).port)];
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('a stale answer handed to a new vmchannel connection', { skip }, () => {
  async function runOn(agent: readonly string[], staleAfterMs: number): Promise<ToolResult> {
    const channel = await StaleChannel.start(staleAfterMs);
    try {
      const result = await startAgent([...agent, ...channel.args, ...CALL]).result;
      assert.equal(channel.requests.length, 1, `one request\nstderr: ${result.stderr}`);
      assertOffRequest(channel.requests[0] as SerialRequest);
      return result;
    } finally {
      await channel.close();
    }
  }

  it('the C agent never drains the connection: it takes the stale answer', async () => {
    const result = await runOn(C, 0);
    assert.equal(result.code, TOOK_STALE, `stdout: ${result.stdout}\nstderr: ${result.stderr}`);
    assert.equal(result.stdout, '');
  });

  it('ours waits for the channel to go quiet and drops what came: it takes the fresh answer', async () => {
    for (const staleAfterMs of [0, 100]) {
      const result = await runOn(OURS, staleAfterMs);
      assert.equal(result.code, TOOK_FRESH, `stale after ${staleAfterMs} ms\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
      assert.equal(result.stdout, 'Operation failed\n');
      assert.match(result.stderr, new RegExp(`discarded ${STALE.length} byte`));
    }
  });
});

test(
  'a stale answer held by QEMU for a closed virtio-serial port, in a real guest: ours takes the fresh answer',
  { skip: (await qemuUnavailableReason()) ?? false },
  async (t) => {
    const bed = await GuestBed.create();
    t.after(() => bed.cleanup());
    const guest = await bed.startGuest({ role: 'a', hostRoot: true, channels: [FENCE_CHANNEL], interactive: true });
    await guest.ready();
    const host = new HostEnd(await connectUnix(guest.channelPaths.get(FENCE_CHANNEL) as string));
    t.after(() => host.socket.destroy());
    const port = `/dev/virtio-ports/${FENCE_CHANNEL}`;

    // QEMU reads nothing from the host side while the guest has the port closed: the answer written
    // then is handed to the next program that opens the port, after its open.
    host.send(STALE);
    const held = await guest.exec(`timeout 60 head -c ${STALE.length} ${shellCommand([port])} | od -An -tx1`);
    assert.equal(held.output.trim(), [...STALE].map((b) => b.toString(16).padStart(2, '0')).join(' '));

    // Ours takes the fresh answer. Which step drops the stale one depends on when QEMU hands it over:
    // the guest kernel drops what a port holds when it is closed (so the short open that tells a tty
    // from a character device may take it along), our agent what comes after its own open.
    host.send(STALE);
    const agent = shellCommand([
      process.execPath,
      '--import',
      'tsx',
      'src/bin/fence_virt.ts',
      '-D',
      port,
      '-o',
      'off',
      '-H',
      DOMAIN,
      '-t',
      '30',
    ]);
    const run = guest.exec(`cd ${shellCommand([repoRoot])} && ${agent} 2>&1`);
    assertOffRequest(await host.request(120_000));
    host.send(FRESH);
    const result = await run;
    assert.equal(result.exitCode, TOOK_FRESH, result.output);
    assert.match(result.output, /^Operation failed$/m);
  },
);
