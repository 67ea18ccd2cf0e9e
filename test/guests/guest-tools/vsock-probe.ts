/**
 * Runs inside a vsock guest (bundled by bundleGuestTool; host root, loopback transport only): drives
 * the native addon through src/native/vsock.ts over real AF_VSOCK connections to CID 1, the guest
 * itself, and prints what it saw as one JSON line for the host test to judge.
 *   vsock-probe.ts PORT C_AGENT KEY_FILE      (uses PORT and PORT + 1)
 * C_AGENT is the C fence_virt: a real process that connects, sends its request and is killed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { connectVsock, listenVsock, vsockLocalCid, type VsockAddress } from '../../../src/native/vsock.js';
import { fdsOpenedSince, openFds, readBytes, readToEnd } from '../../transport/helpers.js';

const [portArg, cAgent, keyFile] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || cAgent === undefined || keyFile === undefined) {
  console.error('usage: vsock-probe.ts PORT C_AGENT KEY_FILE');
  process.exit(64);
}
/** What the probe saw; an error code, or 'none' for an operation that succeeded. */
export interface ProbeReport {
  localCid: number;
  /** 1 MiB sent each way over one connection. */
  exchange: { peer: VsockAddress; bytes: number; same: boolean };
  secondListener: string;
  /** A connect to a port nobody listens on. */
  refused: string;
  /** The accepting side of a connection whose agent process was killed. */
  agentGone: { peer: VsockAddress; received: number; end: string; unread: number; write: string };
  /** The connecting side of a connection the accepting side closed. */
  serverGone: { end: string; unread: number; write: string };
  afterClose: { connect: string; listenAgain: string };
  /** Descriptors open at the end that were not at the start. */
  leakedFds: string[];
}

const REQUEST_SIZE = 176;
/** The agent's challenge, sent right behind its request. */
const CHALLENGE_SIZE = 64;

/** The error code an operation failed with, or 'none'. */
async function failureOf(operation: () => unknown): Promise<string> {
  try {
    await operation();
    return 'none';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** How a stream's reading side ended: 'eof' with the bytes still unread, or its error code. */
async function endOf(stream: Duplex): Promise<{ end: string; unread: number }> {
  try {
    return { end: 'eof', unread: (await readToEnd(stream)).length };
  } catch (err) {
    return { end: (err as NodeJS.ErrnoException).code ?? String(err), unread: 0 };
  }
}

/** The code of a write after the peer is gone, from the write's callback. */
function writeFailure(stream: Duplex): Promise<string> {
  return new Promise((resolve) => {
    stream.on('error', () => undefined); // the callback reports it
    stream.write(Buffer.alloc(64), (err) => resolve((err as NodeJS.ErrnoException | null | undefined)?.code ?? 'none'));
  });
}

async function closed(stream: Duplex): Promise<void> {
  if (!stream.closed) await once(stream, 'close');
}

// Node opens its console streams on first use, with descriptors it keeps (a tty's includes one on
// /dev/null): opened before the count, so they are not taken for leaks.
void [process.stdout, process.stderr];
const fdsBefore = openFds();
const server = listenVsock({ port });
const nextConnection = () => once(server, 'connection') as Promise<[Duplex, VsockAddress]>;

// A connection both ways, 1 MiB each way: more than the socket buffers hold, so both sides wait for
// writability, and the echo ends only after the client's half-close.
let accepted = nextConnection();
const client = await connectVsock({ cid: 1, port });
const [echo, peer] = await accepted;
echo.pipe(echo);
const payload = randomBytes(1 << 20);
const echoed = readToEnd(client);
client.end(payload);
const back = await echoed;
await Promise.all([closed(client), closed(echo)]);
const exchange = { peer, bytes: back.length, same: back.equals(payload) };

const secondListener = await failureOf(() => listenVsock({ port }));
const refused = await failureOf(() => connectVsock({ cid: 1, port: port + 1 }));

// A real process connects, sends its request and its challenge, and is killed while it waits for the
// answer. It connects to CID 2, the host, as guests do (the agents refuse CID 1): without a
// guest-to-host transport, the guest's loopback carries that CID too.
accepted = nextConnection();
const agent = spawn(cAgent, ['-S2', '-p', String(port), '-k', keyFile, '-o', 'status', '-H', 'probe'], { stdio: 'inherit' });
const [victim, agentPeer] = await accepted;
const received = (await readBytes(victim, REQUEST_SIZE + CHALLENGE_SIZE)).length;
const exited = once(agent, 'exit');
agent.kill('SIGKILL');
await exited;
const agentGone = { peer: agentPeer, received, ...(await endOf(victim)), write: await writeFailure(victim) };
victim.destroy();

// The other way round: the accepting side closes while the connecting side waits for an answer.
accepted = nextConnection();
const waiting = await connectVsock({ cid: 1, port });
const [dropped] = await accepted;
dropped.destroy();
const serverGone = { ...(await endOf(waiting)), write: await writeFailure(waiting) };
waiting.destroy();
await Promise.all([closed(victim), closed(dropped), closed(waiting)]);

server.close();
await once(server, 'close');
const afterClose = {
  connect: await failureOf(() => connectVsock({ cid: 1, port })),
  listenAgain: await failureOf(() => listenVsock({ port }).close()),
};

const report: ProbeReport = {
  localCid: vsockLocalCid(),
  exchange,
  secondListener,
  refused,
  agentGone,
  serverGone,
  afterClose,
  leakedFds: fdsOpenedSince(fdsBefore),
};
console.log(JSON.stringify(report));
// Everything is closed: the process must now end by itself. A handle left polling would keep it.
setTimeout(() => {
  console.log('still running 10 s after closing every handle');
  process.exitCode = 3;
  process.exit();
}, 10_000).unref();
