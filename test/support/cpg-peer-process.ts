/**
 * A corosync client process for tests, started inside a cluster host (see CpgPeer): it drives the
 * cpg addon on commands from the parent over Node's IPC channel and reports every listener call back.
 * A timer counts its ticks, so tests can show the loop keeps running while a call into corosync waits.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCorosync, type Cpg, type CorosyncError, type Votequorum } from '../../src/backends/cpg/corosync.js';

export interface PeerCommand {
  id: number;
  op: string;
  args: Record<string, unknown>;
}

const send = (message: object): void => {
  process.send?.(message);
};

const corosync = loadCorosync();
let cpg: Cpg | undefined;
let votequorum: Votequorum | undefined;
let ticker: { timer: NodeJS.Timeout; state: { count: number } } | undefined;

function onError(source: string) {
  return (err: CorosyncError): void => send({ event: 'error', source, code: err.code, message: err.message });
}

function need<T>(handle: T | undefined, what: string): T {
  if (!handle) throw new Error(`${what} is not initialised`);
  return handle;
}

const operations: Record<string, (args: Record<string, unknown>) => unknown> = {
  /** finalizeAfter: the deliver listener finalizes the handle itself after that many messages. */
  'cpg.init': async ({ finalizeAfter }) => {
    let delivered = 0;
    cpg = new corosync.Cpg({
      deliver(nodeId, pid, message, group) {
        send({ event: 'deliver', nodeId, pid, group, data: message.toString('base64') });
        if (++delivered === finalizeAfter) void cpg?.finalize();
      },
      confchg: (members, left, joined, group) => send({ event: 'confchg', members, left, joined, group }),
      error: onError('cpg'),
    });
    await cpg.connect();
    return cpg.fd();
  },
  'cpg.join': ({ group }) => need(cpg, 'cpg').join(String(group)),
  'cpg.leave': ({ group }) => need(cpg, 'cpg').leave(String(group)),
  'cpg.mcast': ({ data }) => need(cpg, 'cpg').mcastJoined(Buffer.from(String(data), 'base64')),
  'cpg.local': () => need(cpg, 'cpg').localGet(),
  'cpg.membership': ({ group }) => need(cpg, 'cpg').membershipGet(String(group)),
  'cpg.groupMembers': ({ group }) => need(cpg, 'cpg').groupMembers(String(group)),
  'cpg.maxSize': () => need(cpg, 'cpg').maxMessageSize(),
  'cpg.fd': () => need(cpg, 'cpg').fd(),
  'cpg.finalize': () => need(cpg, 'cpg').finalize(),
  'vq.init': async () => {
    votequorum = new corosync.Votequorum({
      quorum: (quorate, nodes) => send({ event: 'quorum', quorate, nodes }),
      error: onError('votequorum'),
    });
    await votequorum.connect();
    return votequorum.fd();
  },
  'vq.track': () => need(votequorum, 'votequorum').trackStart(),
  'vq.info': ({ nodeId }) => need(votequorum, 'votequorum').getInfo(nodeId === undefined ? undefined : Number(nodeId)),
  'vq.finalize': () => need(votequorum, 'votequorum').finalize(),
  /** Whether this process has fd open (to show finalize released it). */
  fdOpen: ({ fd }) => existsSync(`/proc/self/fd/${Number(fd)}`),
  'ticks.start': ({ intervalMs }) => {
    const state = { count: 0 };
    const timer = setInterval(() => state.count++, Number(intervalMs));
    ticker = { timer, state };
  },
  'ticks.report': () => ({ count: need(ticker, 'ticker').state.count }),
  'ticks.stop': () => {
    clearInterval(need(ticker, 'ticker').timer);
    ticker = undefined;
  },
};

process.on('message', (command: PeerCommand) => {
  const done = (reply: object): void => send({ id: command.id, ...reply });
  const fail = (err: NodeJS.ErrnoException): void => done({ ok: false, error: { code: err.code, message: err.message } });
  try {
    const operation = operations[command.op];
    if (!operation) throw new Error(`unknown operation ${command.op}`);
    // A call into corosync answers with a promise; the others answer at once.
    Promise.resolve(operation(command.args)).then((result) => done({ ok: true, result }), fail);
  } catch (err) {
    fail(err as NodeJS.ErrnoException);
  }
});

// The parent going away ends the peer; finalize first so corosync sees a clean leave (unless it is stopped).
process.on('disconnect', () => {
  const finalized = Promise.all([cpg?.finalize(), votequorum?.finalize()]);
  void Promise.race([finalized, sleep(1000)]).then(() => process.exit(0));
});

send({ event: 'ready', pid: process.pid });
