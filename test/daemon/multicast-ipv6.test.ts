/**
 * IPv6 multicast: the real C fence_xvm asks the C fence_virtd and ours over ff05::3:1. IPv6 multicast
 * does not loop over `lo`, so a veth pair with both ends in the test's own network namespace carries it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { DaemonProcess } from '../support/daemon-process.js';
import { configText } from '../support/daemon-config-text.js';
import { C_DAEMON, OUR_DAEMON, runTool, waitUntil } from '../support/processes.js';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
const C_PORT = 24911;
const OUR_PORT = 24912;
let dir: string;
let keyFile: string;
const daemons: DaemonProcess[] = [];

const xvm = (port: number, ...args: string[]) =>
  runTool('/usr/sbin/fence_xvm', ['-i', 'ipv6', '-p', String(port), '-k', keyFile, '-t', '5', ...args], { timeoutMs: 20_000 });

before(async () => {
  ip('link', 'add', 'fvt6a', 'type', 'veth', 'peer', 'name', 'fvt6b');
  ip('link', 'set', 'fvt6a', 'up');
  ip('link', 'set', 'fvt6b', 'up');
  ip('-6', 'addr', 'add', 'fd00::a/64', 'dev', 'fvt6a', 'nodad');
  ip('-6', 'addr', 'add', 'fd00::b/64', 'dev', 'fvt6b', 'nodad');
  ip('-6', 'route', 'add', 'ff05::/16', 'dev', 'fvt6b', 'table', 'local');
  dir = await mkdtemp(join(tmpdir(), 'fvd-v6-'));
  keyFile = join(dir, 'key');
  await writeFile(keyFile, 'ipv6 key', { mode: 0o600 });
  for (const [name, which, port] of [
    ['c', C_DAEMON, C_PORT],
    ['ours', OUR_DAEMON, OUR_PORT],
  ] as const) {
    const conf = join(dir, `${name}.conf`);
    const listeners = { multicast: { family: 'ipv6', interface: 'fvt6a', port: String(port), key_file: keyFile } };
    await writeFile(conf, configText({ listeners, backendUri: 'test+unix:///default' }), { mode: 0o600 });
    daemons.push(DaemonProcess.start(which.command, [...which.args, '-F', '-f', conf, '-p', join(dir, `${name}.pid`)]));
    await waitUntil(async () => (await xvm(port, '-o', 'monitor', '-t', '1')).code === 0, `${name} daemon on IPv6`);
  }
});
after(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  ip('link', 'del', 'fvt6a');
  await rm(dir, { recursive: true, force: true });
});

it('answers fence_xvm over IPv6 multicast exactly as the C daemon does', async () => {
  for (const call of [
    ['-o', 'status', '-H', 'test'],
    ['-o', 'list'],
    ['-o', 'status', '-H', 'missing'],
    ['-a', 'ff05::3:1', '-o', 'list'],
  ]) {
    const expected = await xvm(C_PORT, ...call);
    const actual = await xvm(OUR_PORT, ...call);
    assert.deepEqual({ code: actual.code, stdout: actual.stdout }, { code: expected.code, stdout: expected.stdout }, call.join(' '));
  }
  const status = await xvm(OUR_PORT, '-o', 'status', '-H', 'test');
  assert.equal(status.stdout, 'Status: ON\n');
});
