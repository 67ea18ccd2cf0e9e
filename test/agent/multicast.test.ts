/**
 * fence_xvm over IPv4 multicast against the real C fence_virtd (multicast listener on lo, libvirt test
 * driver): for every action, by name and UUID, with hash and auth variants and Pacemaker-style stdin,
 * the C fence_xvm and ours give the same exit code and stdout. Calls run one after another: fence_xvm
 * waits for the connect-back on the multicast port, and two at once would collide (kept on purpose:
 * docs/compatibility.md, row 'two `fence_xvm` at once on one host').
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cDaemonMissing } from '../support/c-daemon.js';
import { needsTools } from '../support/requirement.js';
import { C_AGENT } from './agents.js';
import { actionCalls, assertPairAgrees, networkListenerDaemon, startDaemonPair, VM, type DaemonPair } from './daemon-pair.js';

const PORTS: [string, string] = ['27100', '27101'];
const skip = cDaemonMissing() ?? needsTools(C_AGENT.fence_xvm);

describe('fence_xvm over IPv4 multicast: same outcome as the C agent', { skip }, () => {
  let pair: DaemonPair;
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'agent-mcast-'));
    pair = await startDaemonPair((port) => networkListenerDaemon('multicast', port, { interface: 'lo', address: '225.0.0.12' }), PORTS);
  });
  after(async () => {
    await pair?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  const key = (): string => pair.c.daemon.files.keyFile;
  const xvm = (port: string, args: string[]) => ({ args: ['-p', port, '-k', key(), '-t', '5', '-r', '10', ...args] });

  it('every action, by name and UUID, on guests in every state', async () => {
    for (const call of actionCalls()) await assertPairAgrees('fence_xvm', pair, (port) => xvm(port, call));
    await assertPairAgrees('fence_xvm', pair, (port) => xvm(port, ['-o', 'status', '-u', '-H', VM.run.uuid]));
  });

  it('hash and auth variants: accepted, too weak, mismatched', async () => {
    for (const variant of [
      ['-c', 'sha512'],
      ['-c', 'SHA256', '-C', 'sha256'],
      ['-c', 'sha1', '-t', '2'],
      ['-c', 'none', '-t', '2'],
      ['-C', 'sha1'],
      ['-C', 'sha512'],
      ['-C', 'none', '-t', '2'],
    ]) {
      await assertPairAgrees('fence_xvm', pair, (port) => xvm(port, ['-o', 'status', '-H', VM.run.name, ...variant]));
    }
  });

  it('a wrong key and an unreadable key file: no connect-back', async () => {
    await assertPairAgrees('fence_xvm', pair, (port) => ({
      args: ['-p', port, '-k', '/etc/hostname', '-t', '2', '-o', 'status', '-H', VM.run.name],
    }));
    await assertPairAgrees('fence_xvm', pair, (port) => ({
      args: ['-p', port, '-k', scratch, '-t', '2', '-o', 'status', '-H', VM.run.name],
    }));
  });

  it('Pacemaker-style stdin', async () => {
    const input = (port: string, action: string, extra = ''): string =>
      `# pacemaker-fenced\nnodename=guest1\nagent=fence_xvm\naction=${action}\nport=${VM.run.name}\n` +
      `ipport=${port}\nkey_file=${key()}\nmulticast_address=225.0.0.12\ntimeout=5\nretrans=10\n${extra}`;
    await assertPairAgrees('fence_xvm', pair, (port) => ({ args: [], input: input(port, 'status') }));
    await assertPairAgrees('fence_xvm', pair, (port) => ({ args: [], input: input(port, 'list') }));
    await assertPairAgrees('fence_xvm', pair, (port) => ({
      args: [],
      input: input(port, 'monitor', 'use_uuid=1\nip_family=ipv4\nhash=sha512\n'),
    }));
    await assertPairAgrees('fence_xvm', pair, (port) => ({ args: [], input: `${input(port, 'off')}delay=1\n` }));
    await assertPairAgrees('fence_xvm', pair, (port) => ({ args: [], input: input(port, 'on') }));
  });

  it('no daemon on the port: times out after timeout*10/retrans attempts', async () => {
    await assertPairAgrees('fence_xvm', pair, () => ({
      args: ['-p', '27199', '-k', key(), '-t', '2', '-r', '5', '-o', 'status', '-H', VM.run.name],
    }));
  });
});
