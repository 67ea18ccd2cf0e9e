/**
 * DomainSocketWatch, the serial listener's discovery, driven by a STAND-IN for the libvirt client
 * (libvirt-stand-in.ts) instead of libvirtd, so the unit tier can run it: which sockets it opens at
 * start, what lifecycle events and reconnects make it do, how it retries a socket that ends. The
 * sockets are real unix sockets in a temp dir, qemu's side played by GuestPortSocket. The same logic
 * against a real libvirtd: test/serial/discovery.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LifecycleEventType } from '../../src/libvirt/index.js';
import { DomainSocketWatch, type GuestEndpoint } from '../../src/listeners/serial/domain-sockets-watch.js';
import { CapturedLog } from '../support/captured-log.js';
import { waitUntil } from '../support/processes.js';
import { GuestPortSocket } from '../support/qemu-stand-ins.js';
import type { TestDomain } from '../serial/node-xml.js';
import { LibvirtStandIn } from './libvirt-stand-in.js';

const VM_A = 'c0000000-0000-4000-8000-00000000000a';
const VM_OFF = 'c0000000-0000-4000-8000-0000000000f0';

/** Domains whose sockets sit in `sock` (the configured directory) and elsewhere under `dir`. */
function domains(dir: string, sock: string): TestDomain[] {
  return [
    {
      name: 'vm-a',
      uuid: VM_A,
      serial: [`${sock}/a.s1`, `${sock}/a.s2`, `${dir}/other/a.out`, `${sock}/sub/a.sub`],
      connectSerial: [`${sock}/a.conn`],
      channels: [`${sock}/a.ch`],
    },
    { name: 'vm-off', uuid: VM_OFF, off: true, serial: [`${sock}/off.s`] },
  ];
}

/** The stand-in, qemu's listening sockets for every path the domains name, and a started watch. */
async function watched(t: TestContext, options: { refuseEvents?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'fvd-watch-'));
  const sock = join(dir, 'sock');
  await Promise.all([mkdir(join(sock, 'sub'), { recursive: true }), mkdir(join(dir, 'other'))]);
  const ports = new Map<string, GuestPortSocket>();
  const listenOn = async (path: string) => ports.set(path, await GuestPortSocket.listen(path));
  for (const d of domains(dir, sock)) {
    for (const path of [...(d.serial ?? []), ...(d.connectSerial ?? []), ...(d.channels ?? [])]) await listenOn(path);
  }
  const libvirt = new LibvirtStandIn(domains(dir, sock));
  libvirt.refuseEvents = options.refuseEvents ?? false;
  const captured = new CapturedLog(2);
  const served: GuestEndpoint[] = [];
  const watch = new DomainSocketWatch(
    libvirt.asClient(),
    { mode: 'serial', directory: sock, connectTimeoutMs: 1_000, retryMinMs: 20, retryMaxMs: 80 },
    captured.logger,
    (socket, endpoint) => {
      socket.on('error', () => undefined);
      served.push({ uuid: endpoint.uuid, name: endpoint.name, path: endpoint.path });
      return () => undefined; // what the guests send is not looked at here
    },
  );
  t.after(async () => {
    await watch.stop();
    await Promise.all([...ports.values()].map((p) => p.close()));
    await rm(dir, { recursive: true, force: true });
  });
  const port = (name: string): GuestPortSocket => {
    const p = ports.get(join(sock, name));
    assert.ok(p, `no qemu socket ${name}`);
    return p;
  };
  return { sock, libvirt, captured, served, watch, port, listenOn };
}

describe('domain socket watch (libvirt client stand-in, real unix sockets)', () => {
  it('opens the bound serial sockets of running domains in its directory when it starts, and no other', async (t) => {
    const { watch, sock, served, port, libvirt } = await watched(t);
    await watch.start();
    const expected = [
      { uuid: VM_A, name: 'vm-a', path: `${sock}/a.s1` },
      { uuid: VM_A, name: 'vm-a', path: `${sock}/a.s2` },
    ];
    assert.deepEqual(watch.endpoints(), expected);
    assert.deepEqual(served, expected);
    assert.equal(port('a.s1').open.length, 1);
    assert.equal(port('a.s2').open.length, 1);
    for (const other of ['a.conn', 'a.ch', 'sub/a.sub', 'off.s']) assert.equal(port(other).connections.length, 0, other);
    assert.equal(libvirt.listenerCount('lifecycle'), 1);
  });

  it('closes every socket of a domain that stops and opens them again when it starts, checking that domain only', async (t) => {
    const { watch, port, libvirt, captured } = await watched(t);
    await watch.start();
    const before = libvirt.calls.length;
    libvirt.stop('vm-a');
    await waitUntil(() => port('a.s1').open.length === 0 && port('a.s2').open.length === 0, 'both sockets closed');
    assert.deepEqual(watch.endpoints(), []);
    await captured.waitFor(/dropped .*a\.s2 of domain vm-a \(c0000000-0000-4000-8000-00000000000a\): domain vm-a stopped/);
    libvirt.start('vm-a');
    await waitUntil(
      () => ['a.s1', 'a.s2'].every((n) => port(n).connections.length === 2 && port(n).open.length === 1),
      'both sockets opened again',
    );
    assert.equal(libvirt.calls.slice(before).includes('listAllDomains'), false, 'an event re-checks one domain, never a scan of all');
  });

  it('keeps its open sockets on another lifecycle event and drops only what the domain no longer has', async (t) => {
    const { watch, sock, port, libvirt, captured } = await watched(t);
    await watch.start();
    libvirt.change('vm-a', { serial: [`${sock}/a.s1`] }, LifecycleEventType.Resumed);
    await waitUntil(() => port('a.s2').open.length === 0, 'a.s2 closed');
    await captured.waitFor(/dropped .*a\.s2 of domain vm-a .*: domain vm-a no longer has it/);
    assert.equal(port('a.s1').connections.length, 1, 'a.s1 was not reopened');
    assert.equal(port('a.s1').open.length, 1);
    assert.deepEqual(
      watch.endpoints().map((e) => e.path),
      [`${sock}/a.s1`],
    );
  });

  it('reopens a socket qemu hangs up on, waiting longer each time it happens again soon after', async (t) => {
    const { watch, port, captured } = await watched(t);
    await watch.start();
    const qemu = port('a.s1');
    qemu.hangUp = true;
    qemu.connections[0]?.destroy();
    await waitUntil(() => qemu.connections.length >= 5, 'four reconnects');
    await captured.waitFor(/socket .*a\.s1 of domain vm-a closed/);
    const delays = captured.matching(/re-checking domain vm-a in \d+ ms/).map((l) => Number(/in (\d+) ms/.exec(l)?.[1]));
    assert.deepEqual(delays.slice(0, 4), [20, 40, 80, 80], 'doubling up to the maximum');
    qemu.hangUp = false;
    await waitUntil(() => qemu.open.length === 1, 'a.s1 open again once qemu keeps it');
    assert.equal(port('a.s2').connections.length, 1, 'the other socket of the domain was left alone');
  });

  it("warns once when a started domain's socket cannot be opened, then retries quietly until it can", async (t) => {
    const { watch, sock, port, libvirt, captured, listenOn } = await watched(t);
    await watch.start();
    await port('off.s').stopListening(); // qemu has not created its socket yet
    libvirt.start('vm-off');
    await waitUntil(() => captured.matching(/cannot connect to .*off\.s/).length >= 3, 'three failed attempts');
    const failures = captured.matching(/cannot connect to .*off\.s of domain vm-off/);
    assert.match(failures[0] ?? '', /^warn: /);
    assert.ok(
      failures.slice(1).every((l) => l.startsWith('debug: ')),
      'repeats only at debug level',
    );
    await listenOn(`${sock}/off.s`);
    await waitUntil(() => port('off.s').open.length === 1, 'off.s opened once qemu listens');
  });

  it('scans every domain again after libvirt reconnects, catching a start whose event was lost', async (t) => {
    const { watch, port, libvirt } = await watched(t);
    await watch.start();
    libvirt.disconnect();
    libvirt.start('vm-off'); // no event: the connection is down
    assert.equal(port('off.s').connections.length, 0);
    libvirt.reconnect();
    await waitUntil(() => port('off.s').open.length === 1, 'off.s opened by the scan after the reconnect');
    assert.equal(port('a.s1').connections.length, 1, 'sockets already open stay as they are');
  });

  it('closes the sockets of a domain that no longer exists', async (t) => {
    const { watch, port, libvirt } = await watched(t);
    await watch.start();
    libvirt.undefine('vm-a');
    await waitUntil(() => port('a.s1').open.length === 0 && port('a.s2').open.length === 0, 'both sockets closed');
    assert.deepEqual(watch.endpoints(), []);
  });

  it('fails to start when libvirt refuses events, leaving no listener on the client', async (t) => {
    const { watch, libvirt, port } = await watched(t, { refuseEvents: true });
    await assert.rejects(
      watch.start(),
      /^Error: cannot subscribe to libvirt domain events on stand-in:\/\/\/: stand-in: event registration refused$/,
    );
    assert.equal(libvirt.listenerCount('lifecycle') + libvirt.listenerCount('connected'), 0);
    assert.equal(port('a.s1').connections.length, 0);
  });

  it('closes every socket when stopped and ignores events afterwards', async (t) => {
    const { watch, port, libvirt } = await watched(t);
    await watch.start();
    await watch.stop();
    await waitUntil(() => port('a.s1').open.length === 0 && port('a.s2').open.length === 0, 'both sockets closed');
    assert.equal(libvirt.listenerCount('lifecycle') + libvirt.listenerCount('connected'), 0);
    libvirt.start('vm-off');
    libvirt.reconnect();
    await sleep(50);
    assert.equal(port('off.s').connections.length, 0);
    assert.equal(port('a.s1').connections.length, 1);
  });
});
