/**
 * fence_virt's serial protocol against the real C fence_virtd serial listener (libvirt test driver):
 * over a pty (-D, socat standing in for QEMU's serial socket) and over vmchannel TCP (-A, a relay
 * standing in for QEMU's guestfwd). The C fence_virt and ours give the same exit code and stdout for
 * every action, by name and UUID, Pacemaker-style stdin and the failure paths.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cDaemonMissing } from '../support/c-daemon.js';
import { C_AGENT } from './agents.js';
import { actionCalls, assertPairAgrees, startDaemonPair, VM, type DaemonPair } from './daemon-pair.js';
import { GuestfwdBridge, SocatSerialPort } from '../support/qemu-stand-ins.js';
import { needsTools } from '../support/requirement.js';
import { serialListenerDaemon, writeGuestNode } from './guest-channel.js';

const skip = cDaemonMissing() ?? needsTools(C_AGENT.fence_virt, '/usr/bin/socat');

const RELAY_PORTS = [27300, 27301];
const UNUSED_PORT = '27399';

const pty = (dir: string): string => join(dir, 'pty');

async function tempDirs(prefix: string): Promise<[string, string]> {
  return [await mkdtemp(join(tmpdir(), `${prefix}-c-`)), await mkdtemp(join(tmpdir(), `${prefix}-ours-`))];
}

describe('fence_virt over a serial pty: same outcome as the C agent', { skip }, () => {
  let dirs: [string, string];
  const standIns: SocatSerialPort[] = [];
  let pair: DaemonPair;
  before(async () => {
    dirs = await tempDirs('agent-serial');
    const nodes = await Promise.all(dirs.map((dir) => writeGuestNode(dir, 'serial')));
    // socat must listen before the daemon starts: the daemon connects to the guests' sockets once.
    for (const [i, dir] of dirs.entries()) standIns.push(await SocatSerialPort.start(nodes[i]!.socket, pty(dir)));
    pair = await startDaemonPair((dir) => serialListenerDaemon(dir, join(dir, 'node.xml'), 'serial'), dirs);
    await Promise.all(standIns.map((s) => s.connected()));
  });
  after(async () => {
    await pair?.stop();
    await Promise.all(standIns.map((s) => s.stop()));
    await Promise.all((dirs ?? []).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('every action, by name and UUID, on guests in every state', async () => {
    for (const call of actionCalls()) await assertPairAgrees('fence_virt', pair, (dir) => ({ args: ['-D', pty(dir), '-t', '5', ...call] }));
  });

  it('serial parameters: valid, bad speed, bad framing', async () => {
    for (const params of ['9600', '38400,7E2', ',', '1234,8N1', '115200,8X1', '115200,8N']) {
      await assertPairAgrees('fence_virt', pair, (dir) => ({
        args: ['-D', pty(dir), '-P', params, '-t', '3', '-o', 'status', '-H', VM.run.name],
      }));
    }
  });

  it('Pacemaker-style stdin', async () => {
    const input = (dir: string, action: string): string =>
      `nodename=guest\nagent=fence_virt\naction=${action}\nport=${VM.off.name}\nserial_device=${pty(dir)}\nserial_params=115200,8N1\ntimeout=5\n`;
    for (const action of ['status', 'list', 'on', 'status']) {
      await assertPairAgrees('fence_virt', pair, (dir) => ({ args: [], input: input(dir, action) }));
    }
  });

  it('devices that are no serial channel: missing, not a tty, a directory', async () => {
    for (const device of [(dir: string) => join(dir, 'missing'), () => '/dev/null', (dir: string) => dir]) {
      await assertPairAgrees('fence_virt', pair, (dir) => ({ args: ['-D', device(dir), '-t', '2', '-o', 'status', '-H', VM.run.name] }));
    }
  });
});

describe('fence_virt over vmchannel TCP: same outcome as the C agent', { skip }, () => {
  let dirs: [string, string];
  const relays: GuestfwdBridge[] = [];
  const portOf = new Map<string, number>();
  let pair: DaemonPair;
  before(async () => {
    dirs = await tempDirs('agent-vmchannel');
    const nodes = await Promise.all(dirs.map((dir) => writeGuestNode(dir, 'vmchannel')));
    for (const [i, dir] of dirs.entries()) {
      portOf.set(dir, RELAY_PORTS[i]!);
      relays.push(await GuestfwdBridge.start(nodes[i]!.socket, RELAY_PORTS[i]!));
    }
    pair = await startDaemonPair((dir) => serialListenerDaemon(dir, join(dir, 'node.xml'), 'vmchannel'), dirs);
  });
  after(async () => {
    await pair?.stop();
    await Promise.all(relays.map((r) => r.stop()));
    await Promise.all((dirs ?? []).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  const channel = (dir: string): string[] => ['-A', '127.0.0.1', '-p', String(portOf.get(dir))];

  it('every action, by name and UUID, on guests in every state', async () => {
    for (const call of actionCalls())
      await assertPairAgrees('fence_virt', pair, (dir) => ({ args: [...channel(dir), '-t', '5', ...call] }));
  });

  it('Pacemaker-style stdin', async () => {
    const input = (dir: string): string =>
      `agent=fence_virt\naction=status\nplug=${VM.run.name}\nchannel_address=127.0.0.1\nipport=${portOf.get(dir)}\ntimeout=5\n`;
    await assertPairAgrees('fence_virt', pair, (dir) => ({ args: [], input: input(dir) }));
  });

  it('no channel: refused on loopback, the default 10.0.2.179 unreachable, a host name', async () => {
    for (const args of [['-A', '127.0.0.1', '-p', UNUSED_PORT], [], ['-A', 'localhost', '-p', UNUSED_PORT]]) {
      await assertPairAgrees('fence_virt', pair, () => ({ args: [...args, '-t', '2', '-o', 'status', '-H', VM.run.name] }));
    }
  });
});
