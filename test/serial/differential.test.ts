/**
 * The real C fence_virt against the C fence_virtd's serial listener and against ours, on the same
 * test-driver node: every call must give the same exit code and output. Each daemon has its own copy
 * of the node (its own socket directory, its own stand-in for qemu), so both see the same sequence of
 * state changes. Serial mode: socat listens on the domain's serial socket and gives the guest end as a
 * pty for `fence_virt -D`. VMChannel mode: a guestfwd stand-in carries `fence_virt -A -p` over TCP to
 * the domain's channel socket. Our daemon runs both modes at once plus a TCP listener; the C one runs
 * the mode under test (it has one listener per process).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DaemonProcess } from '../support/daemon-process.js';
import { cDaemonMissing, startCDaemon, type CDaemon } from '../support/c-daemon.js';
import { configText, type ConfigTextOptions } from '../support/daemon-config-text.js';
import { OUR_DAEMON, runTool, waitUntil } from '../support/processes.js';
import { nodeXml } from './node-xml.js';
import { GuestfwdBridge, SocatSerialPort } from '../support/qemu-stand-ins.js';

const FENCE_VIRT = '/usr/sbin/fence_virt';
const GUEST_UUID = 'c0000000-0000-4000-8000-000000000001';
const UUID_A = 'c0000000-0000-4000-8000-00000000000a';
const UUID_B = 'c0000000-0000-4000-8000-00000000000b';

const skip = cDaemonMissing();

/** The calls compared, in order; state changes carry over. Each list is followed by a call answered 0. */
const calls: string[][] = [
  ['-o', 'list'],
  ['-o', 'status', '-n', 'vm-a'],
  ['-o', 'list-status'],
  ['-o', 'status', '-n', 'vm-a'],
  ['-o', 'status', '-n', 'vm-off'],
  ['-o', 'status', '-n', 'no-such-vm'],
  ['-o', 'status', '-n', UUID_A],
  ['-o', 'off', '-n', 'vm-a'],
  ['-o', 'status', '-n', 'vm-a'],
  ['-o', 'off', '-n', 'vm-a'],
  ['-o', 'on', '-n', UUID_A],
  ['-o', 'status', '-n', 'vm-a'],
  ['-o', 'reboot', '-n', 'vm-b'],
  ['-o', 'reboot', '-n', UUID_B],
  ['-o', 'status', '-n', 'vm-b'],
  ['-o', 'reboot', '-n', 'vm-off'],
  ['-o', 'off', '-n', 'no-such-vm'],
  ['-o', 'on', '-n', 'no-such-vm'],
  ['-o', 'monitor'],
  ['-o', 'null', '-n', 'vm-a'],
  ['-o', 'off', '-n', UUID_B],
  ['-o', 'list'],
  ['-o', 'on', '-n', 'vm-b'],
];

/** With groups: the guest may act on vm-a by name and on vm-b by UUID only. */
const groupCalls: string[][] = [
  ['-o', 'list'],
  ['-o', 'status', '-n', 'vm-a'],
  ['-o', 'status', '-n', UUID_A],
  ['-o', 'status', '-n', 'vm-b'],
  ['-o', 'status', '-n', UUID_B],
  ['-o', 'off', '-n', 'vm-b'],
  ['-o', 'off', '-n', 'vm-off'],
  ['-o', 'reboot', '-n', UUID_B],
  ['-o', 'off', '-n', UUID_B],
  ['-o', 'status', '-n', UUID_B],
  ['-o', 'on', '-n', UUID_B],
  ['-o', 'monitor'],
];
const groups: ConfigTextOptions['groups'] = [{ name: 'guests', uuid: [GUEST_UUID, 'vm-a', UUID_B] }];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-serial-diff-'));
});
after(() => rm(dir, { recursive: true, force: true }));

type Mode = 'serial' | 'vmchannel';

/** One side's node, socket directory and qemu stand-ins. */
interface Side {
  uri: string;
  socketDir: string;
  serial: SocatSerialPort;
  guestfwd: GuestfwdBridge;
  stop(): Promise<void>;
}

async function makeSide(name: string, tcpPort: number): Promise<Side> {
  const base = join(dir, name);
  const socketDir = join(base, 'sock');
  await mkdir(socketDir, { recursive: true });
  const node = join(base, 'node.xml');
  await writeFile(
    node,
    nodeXml([
      { name: 'vm-guest', uuid: GUEST_UUID, serial: [join(socketDir, 'guest.serial')], guestfwd: [join(socketDir, 'guest.fwd')] },
      { name: 'vm-a', uuid: UUID_A },
      { name: 'vm-b', uuid: UUID_B },
      { name: 'vm-off', uuid: 'c0000000-0000-4000-8000-0000000000ff', off: true },
    ]),
  );
  const serial = await SocatSerialPort.start(join(socketDir, 'guest.serial'), join(base, 'ttyS1'));
  const guestfwd = await GuestfwdBridge.start(join(socketDir, 'guest.fwd'), tcpPort).catch(async (err: unknown) => {
    await serial.stop();
    throw err;
  });
  return {
    uri: `test+unix://${node}`,
    socketDir,
    serial,
    guestfwd,
    stop: async () => {
      await Promise.all([serial.stop(), guestfwd.stop()]);
    },
  };
}

async function startC(side: Side, mode: Mode, withGroups: boolean): Promise<CDaemon> {
  return startCDaemon({
    config: ({ keyFile }) =>
      configText({
        listeners: { serial: { uri: side.uri, path: side.socketDir, mode, key_file: keyFile } },
        backendUri: side.uri,
        ...(withGroups ? { groups } : {}),
      }),
    // With -d 5 the serial listener says when it has connected to a guest's socket.
    ready: { output: new RegExp(`Registered ${GUEST_UUID} on`) },
    args: ['-d', '5'],
  });
}

async function startOurs(side: Side, name: string, tcpPort: number, withGroups: boolean): Promise<DaemonProcess> {
  const conf = join(dir, `${name}.conf`);
  const listener = { uri: side.uri, path: side.socketDir };
  await writeFile(
    conf,
    configText({
      listeners: {
        serial: { ...listener, mode: 'serial' },
        vmchannel: { ...listener, module: 'serial', mode: 'vmchannel' },
        tcp: { port: String(tcpPort), key_file: join(dir, 'tcp.key') },
      },
      backendUri: side.uri,
      ...(withGroups ? { groups } : {}),
    }),
    { mode: 0o600 },
  );
  await writeFile(join(dir, 'tcp.key'), 'tcp listener key for the same process\n', { mode: 0o600 });
  const daemon = DaemonProcess.start(OUR_DAEMON.command, [...OUR_DAEMON.args, '-F', '-f', conf, '-p', join(dir, `${name}.pid`), '-d', '1']);
  try {
    await side.serial.connected(30_000);
    await waitUntil(() => side.guestfwd.connected, 'our daemon on the guestfwd socket', 30_000);
  } catch (err) {
    await daemon.stop();
    throw new Error(`${(err as Error).message}\nour daemon:\n${daemon.output()}`);
  }
  return daemon;
}

function fenceVirt(side: Side, mode: Mode, args: readonly string[]) {
  const target = mode === 'serial' ? ['-D', side.serial.ptyPath] : ['-A', '127.0.0.1', '-p', String(side.guestfwd.port)];
  return runTool(FENCE_VIRT, [...target, '-t', '10', ...args], { timeoutMs: 60_000 });
}

function compare(mode: Mode, sequence: string[][], withGroups: boolean, ports: { cFwd: number; ourFwd: number; ourTcp: number }) {
  let c: Side;
  let ours: Side;
  let cDaemon: CDaemon;
  let ourDaemon: DaemonProcess;
  before(async () => {
    c = await makeSide(`c-${mode}-${withGroups}`, ports.cFwd);
    ours = await makeSide(`ours-${mode}-${withGroups}`, ports.ourFwd);
    [cDaemon, ourDaemon] = await Promise.all([
      startC(c, mode, withGroups),
      startOurs(ours, `ours-${mode}-${withGroups}`, ports.ourTcp, withGroups),
    ]);
  });
  after(async () => {
    await Promise.all([cDaemon?.stop(), ourDaemon?.stop()]);
    await Promise.all([c?.stop(), ours?.stop()]);
  });

  it('every call gives the same exit code and output', async () => {
    const codes = new Set<number | null>();
    let listed = '';
    for (const call of sequence) {
      const expected = await fenceVirt(c, mode, call);
      const actual = await fenceVirt(ours, mode, call);
      codes.add(expected.code);
      if (call.includes('list')) listed += expected.stdout;
      assert.deepEqual(
        { code: actual.code, stdout: actual.stdout },
        { code: expected.code, stdout: expected.stdout },
        `fence_virt ${call.join(' ')} (${mode})\nC daemon:\n${cDaemon.output().slice(-1500)}\nour daemon:\n${ourDaemon.output().slice(-3000)}`,
      );
    }
    // The comparison means something only if the oracle itself gave varied, real answers.
    assert.deepEqual([...codes].sort(), withGroups ? [0, 2, 3] : [0, 1, 2]);
    assert.match(listed, new RegExp(`^vm-a +${UUID_A} on$`, 'm'));
  });

  it('our daemon answered in the same process as its other listeners and left audit lines', () => {
    const out = ourDaemon.output();
    assert.match(out, /listener\(s\): serial, vmchannel, tcp/);
    assert.match(out, new RegExp(`audit: listener=${mode} requester=${GUEST_UUID} \\(vm-guest\\) target="vm-a" op=status`));
  });
}

describe('fence_virt -D <pty>: C serial listener and ours agree', { skip }, () => {
  compare('serial', calls, false, { cFwd: 28010, ourFwd: 28011, ourTcp: 28012 });
});

describe('fence_virt -A/-p over guestfwd: C vmchannel listener and ours agree', { skip }, () => {
  compare('vmchannel', calls, false, { cFwd: 28020, ourFwd: 28021, ourTcp: 28022 });
});

describe('with groups (requester = the guest UUID): C serial listener and ours agree', { skip }, () => {
  compare('serial', groupCalls, true, { cFwd: 28030, ourFwd: 28031, ourTcp: 28032 });
});

describe('with groups over vmchannel: C and ours agree', { skip }, () => {
  compare('vmchannel', groupCalls, true, { cFwd: 28040, ourFwd: 28041, ourTcp: 28042 });
});
