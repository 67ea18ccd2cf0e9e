/**
 * Differential runs need two identical C daemons: the C agent talks to one, ours to the other, with
 * the same sequence of calls. Each daemon has its own libvirt test-driver connection, so state changes
 * (off, on, reboot) progress identically on both sides without the agents seeing each other's.
 */
import { fileURLToPath } from 'node:url';
import { startCDaemon, type CDaemon, type CDaemonOptions } from '../support/c-daemon.js';
import { configText, type ConfigTextOptions } from '../support/daemon-config-text.js';
import { assertSameOutcome, runC, runOurs, type AgentName, type Compared } from './agents.js';

export const NODE_XML = fileURLToPath(new URL('../fixtures/agent/node.xml', import.meta.url));

/** The guests of node.xml. */
export const VM = {
  run: { name: 'vm-run', uuid: 'c0000000-0000-4000-8000-000000000001' },
  paused: { name: 'vm-paused', uuid: 'c0000000-0000-4000-8000-000000000003' },
  off: { name: 'vm-off', uuid: 'c0000000-0000-4000-8000-000000000005' },
  crashed: { name: 'vm-crashed', uuid: 'c0000000-0000-4000-8000-000000000006' },
} as const;

/** One shared key, so either agent can use either daemon's key file. */
export const KEY = Buffer.from('agent differential tests: a shared key of some length 0123456789');

/** A C daemon with one network listener at `port` (its key file filled in), serving node.xml. */
export function networkListenerDaemon(
  listener: 'multicast' | 'tcp',
  port: string,
  settings: Record<string, string> = {},
  groups?: ConfigTextOptions['groups'],
): CDaemonOptions {
  return {
    config: ({ keyFile }) =>
      configText({ listeners: { [listener]: { ...settings, port, key_file: keyFile } }, backendUri: `test://${NODE_XML}`, groups }),
    ready: { listening: { protocol: listener === 'tcp' ? 'tcp' : 'udp', port: Number(port) } },
  };
}

export interface Side {
  daemon: CDaemon;
  /** What this side's calls are parameterised with (a port, a device path). */
  target: string;
}

export interface DaemonPair {
  c: Side;
  ours: Side;
  stop(): Promise<void>;
}

export async function startDaemonPair(options: (target: string) => CDaemonOptions, targets: [string, string]): Promise<DaemonPair> {
  const started = await Promise.allSettled(targets.map((t) => startCDaemon({ key: KEY, ...options(t) })));
  const daemons = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(daemons.map((d) => d.stop()));
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [c, ours] = daemons as [CDaemon, CDaemon];
  return { c: { daemon: c, target: targets[0] }, ours: { daemon: ours, target: targets[1] }, stop };
}

export interface Call {
  args: string[];
  input?: string;
}

/** Runs `call` with the C agent on the C side, then with ours on our side, and compares. */
export async function assertPairAgrees(
  name: AgentName,
  pair: DaemonPair,
  call: (target: string) => Call,
  timeoutMs = 60_000,
): Promise<Compared> {
  const cCall = call(pair.c.target);
  const ourCall = call(pair.ours.target);
  const c = await runC(name, cCall.args, { input: cCall.input, timeoutMs });
  const ours = await runOurs(name, ourCall.args, { input: ourCall.input, timeoutMs });
  const label = `${name} ${ourCall.args.join(' ')}${ourCall.input === undefined ? '' : ` <<< ${JSON.stringify(ourCall.input)}`}`;
  assertSameOutcome(name, { c, ours }, `${label}\ndaemon output (our side):\n${pair.ours.daemon.output().slice(-1500)}`);
  return { c, ours };
}

/**
 * Every action by name and UUID, on guests in every state, in an order whose state changes carry
 * over (off, then status, then on, ...). `extra` is added to every call (target options).
 */
export function actionCalls(): string[][] {
  const { run, paused, off, crashed } = VM;
  return [
    ['-o', 'list'],
    ['-o', 'list-status'],
    ['-o', 'status', '-H', run.name],
    ['-o', 'status', '-H', paused.name],
    ['-o', 'status', '-H', off.name],
    ['-o', 'status', '-H', crashed.name],
    ['-o', 'status', '-H', 'no-such-vm'],
    ['-o', 'status', '-H', run.uuid],
    ['-o', 'status', '-n', run.uuid.toUpperCase()],
    ['-o', 'status', '-H', 'VM-RUN'],
    ['-o', 'monitor'],
    ['-o', 'null', '-H', run.name],
    ['-o', 'off', '-H', run.name],
    ['-o', 'status', '-H', run.name],
    ['-o', 'off', '-H', run.uuid],
    ['-o', 'on', '-H', run.uuid],
    ['-o', 'status', '-n', run.name],
    ['-o', 'on', '-H', run.name],
    ['-o', 'reboot', '-H', paused.name],
    ['-H', off.name],
    ['-o', 'reboot', '-H', 'no-such-vm'],
    ['-o', 'off', '-H', 'no-such-vm'],
    ['-o', 'on', '-H', 'no-such-vm'],
    ['-o', 'off', '-w', '1', '-H', crashed.name],
    ['-o', 'on', '-H', off.name],
    ['-o', 'list'],
  ];
}
