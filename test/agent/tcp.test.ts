/**
 * fence_virt -T over TCP against the real C fence_virtd (tcp listener on 127.0.0.1, libvirt test
 * driver): every action by name and UUID, hash and auth variants, Pacemaker-style stdin, and the
 * connect failures; the C fence_virt and ours give the same exit code and stdout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cDaemonMissing } from '../support/c-daemon.js';
import { needsTools } from '../support/requirement.js';
import { C_AGENT } from './agents.js';
import { actionCalls, assertPairAgrees, networkListenerDaemon, startDaemonPair, VM, type DaemonPair } from './daemon-pair.js';

const PORTS: [string, string] = ['27200', '27201'];
const UNUSED_PORT = '27299';
const skip = cDaemonMissing() ?? needsTools(C_AGENT.fence_virt);

describe('fence_virt over TCP: same outcome as the C agent', { skip }, () => {
  let pair: DaemonPair;
  before(async () => {
    pair = await startDaemonPair((port) => networkListenerDaemon('tcp', port, { address: '127.0.0.1' }), PORTS);
  });
  after(() => pair?.stop());

  const key = (): string => pair.c.daemon.files.keyFile;
  const tcp = (port: string, args: string[]) => ({ args: ['-T', '127.0.0.1', '-p', port, '-k', key(), '-t', '5', ...args] });

  it('every action, by name and UUID, on guests in every state', async () => {
    for (const call of actionCalls()) await assertPairAgrees('fence_virt', pair, (port) => tcp(port, call));
  });

  it('hash and auth variants: accepted, too weak, mismatched', async () => {
    for (const variant of [
      ['-c', 'sha512'],
      ['-c', 'sha1'],
      ['-c', 'none'],
      ['-C', 'sha1'],
      ['-C', 'sha512'],
      ['-C', 'none', '-t', '2'],
    ]) {
      await assertPairAgrees('fence_virt', pair, (port) => tcp(port, ['-o', 'status', '-H', VM.run.name, ...variant]));
    }
    await assertPairAgrees('fence_virt', pair, (port) => ({
      args: ['-T', '127.0.0.1', '-p', port, '-k', '/etc/hostname', '-o', 'status', '-H', VM.run.name],
    }));
  });

  it('Pacemaker-style stdin', async () => {
    const input = (port: string, action: string): string =>
      `nodename=guest1\nagent=fence_virt\naction=${action}\nplug=${VM.run.name}\nipaddr=127.0.0.1\nipport=${port}\nkey_file=${key()}\ntimeout=5\n`;
    for (const action of ['status', 'list', 'off', 'status', 'on', 'monitor']) {
      await assertPairAgrees('fence_virt', pair, (port) => ({ args: [], input: input(port, action) }));
    }
  });

  it('connect failures: refused, a host name, IPv6 loopback without a listener', async () => {
    for (const [host, why] of [
      ['127.0.0.1', /cannot connect to fence_virtd at 127\.0\.0\.1:27299: .*ECONNREFUSED/],
      ['localhost', /'localhost' is not an IP address \(host names are not resolved\)/],
      ['::1', /cannot connect to fence_virtd at ::1:27299: .*ECONNREFUSED/],
    ] as const) {
      const { ours } = await assertPairAgrees('fence_virt', pair, () => ({
        args: ['-T', host, '-p', UNUSED_PORT, '-k', key(), '-o', 'status', '-H', VM.run.name],
      }));
      assert.match(ours.stderr, why, 'stderr names the failed step');
    }
  });

  it('stderr says which step failed where the C agent says only "Invalid response to challenge"', async () => {
    for (const [variant, why] of [
      [['-C', 'sha1'], /key rejected: the daemon answered our challenge wrongly/],
      [['-c', 'sha1'], /closed the connection during authentication: it drops requests signed with another key, with a weaker hash/],
    ] as const) {
      const { ours } = await assertPairAgrees('fence_virt', pair, (port) => tcp(port, ['-o', 'status', '-H', VM.run.name, ...variant]));
      assert.match(ours.stdout, /^Invalid response to challenge\nOperation failed\n$/);
      assert.match(ours.stderr, why);
    }
  });
});

describe('fence_virt over TCP to a daemon whose groups leave this guest out: same outcome as the C agent', { skip }, () => {
  let pair: DaemonPair;
  before(async () => {
    // Only 127.0.0.2 may act, on vm-run: the agents connect from 127.0.0.1.
    const groups = [{ name: 'others', ip: ['127.0.0.2'], uuid: [VM.run.name] }];
    pair = await startDaemonPair((port) => networkListenerDaemon('tcp', port, { address: '127.0.0.1' }, groups), ['27210', '27211']);
  });
  after(() => pair?.stop());

  it('refused actions, an empty list, monitor still answered', async () => {
    const tcp = (port: string, ...args: string[]) => ({
      args: ['-T', '127.0.0.1', '-p', port, '-k', pair.c.daemon.files.keyFile, '-t', '5', ...args],
    });
    for (const call of [
      ['-o', 'status', '-H', VM.run.name],
      ['-o', 'list'],
      ['-o', 'monitor'],
    ]) {
      await assertPairAgrees('fence_virt', pair, (port) => tcp(port, ...call));
    }
    const { ours } = await assertPairAgrees('fence_virt', pair, (port) => tcp(port, '-o', 'off', '-H', VM.run.name));
    assert.deepEqual({ code: ours.code, stdout: ours.stdout }, { code: 3, stdout: 'Permission denied\n' });
    assert.match(ours.stderr, /fence_virtd refused: the groups of its configuration do not allow this guest to act on "vm-run"/);
  });
});

describe('fence_virt over TCP on IPv6 loopback: same outcome as the C agent', { skip }, () => {
  let pair: DaemonPair;
  before(async () => {
    pair = await startDaemonPair((port) => networkListenerDaemon('tcp', port, { family: 'ipv6', address: '::1' }), ['27220', '27221']);
  });
  after(() => pair?.stop());

  it('status, list and off through ::1', async () => {
    for (const call of [
      ['-o', 'status', '-H', VM.run.name],
      ['-o', 'list'],
      ['-o', 'off', '-H', VM.run.uuid],
      ['-o', 'status', '-H', VM.run.name],
    ]) {
      await assertPairAgrees('fence_virt', pair, (port) => ({
        args: ['-T', '::1', '-p', port, '-k', pair.c.daemon.files.keyFile, '-t', '5', ...call],
      }));
    }
  });
});
