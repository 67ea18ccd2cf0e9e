/**
 * Finding guest sockets (docs/protocol.md#guest-socket-discovery; where C fails: docs/compatibility.md,
 * rows 'guest socket at end of file', 'libvirtd restart' and 'stopped domain with several sockets'): our
 * daemon in-process on a test-driver node, domains started and stopped by fencing requests through a
 * guest's socket (so on the daemon's own shared libvirt connection, whose events drive the listener),
 * sockets that end, hang up in a loop, and a private libvirtd killed and started again under the daemon.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Request } from '../../src/protocol/index.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { type GuestAnswer, type GuestPortSocket } from '../support/qemu-stand-ins.js';
import { waitUntil } from '../support/processes.js';
import { domainUuid, SerialBed } from './serial-bed.js';

/** Connections the daemon has made to each stand-in so far. */
function counts(bed: SerialBed, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, bed.port(`${bed.socketDir}/${n}`).connections.length]));
}

async function ask(bed: SerialBed, path: string, request: number, domain = '', n = 1): Promise<GuestAnswer> {
  const line = await bed.line(path, n);
  line.send(bed.port(path).request({ request, domain }));
  return line.answer();
}

/**
 * Waits until the stand-in has had at least `n` connections and exactly one is open. At least: on a
 * slow machine a reboot's stop event can be handled after its start, costing one more reconnect.
 */
async function connectedTimes(port: GuestPortSocket, n: number): Promise<void> {
  await waitUntil(() => port.connections.length >= n && port.open.length === 1, `${port.path}: connection ${n} open`, 15_000);
}

async function allClosed(port: GuestPortSocket): Promise<void> {
  await waitUntil(() => port.open.length === 0, `${port.path}: every connection closed by the daemon`, 15_000);
}

describe('discovery on the shared libvirtd', () => {
  let bed: SerialBed;
  let guest: string;
  const port = (name: string) => bed.port(`${bed.socketDir}/${name}`);
  before(async () => {
    bed = await SerialBed.create(
      (sock, dir) => [
        { name: 'vm-guest', uuid: domainUuid(1), serial: [`${sock}/guest.s`] },
        {
          name: 'vm-x',
          uuid: domainUuid(2),
          serial: [`${sock}/x.s1`, `${sock}/x.s2`, `${dir}/other/x.out`, `${sock}/sub/x.sub`],
          connectSerial: [`${sock}/x.conn`],
          channels: [`${sock}/x.ch`],
        },
        { name: 'vm-off', uuid: domainUuid(3), off: true, serial: [`${sock}/off.s`] },
        { name: 'vm-flap', uuid: domainUuid(4), serial: [`${sock}/flap.s`] },
      ],
      { listeners: { serial: { mode: 'serial' }, vmchannel: { module: 'serial', mode: 'vmchannel' } } },
    );
    guest = `${bed.socketDir}/guest.s`;
  });
  after(() => bed?.cleanup());

  it('at start opens each bound socket of running domains in the directory once, in the right mode only', async () => {
    // start() resolved after the first scan had connected; let the stand-ins see the accepts.
    await waitUntil(() => port('x.ch').connections.length === 1, 'the channel connected', 15_000);
    assert.deepEqual(counts(bed, ['guest.s', 'x.s1', 'x.s2', 'x.ch', 'x.conn', 'off.s', 'flap.s']), {
      'guest.s': 1,
      'x.s1': 1,
      'x.s2': 1,
      'x.ch': 1,
      'x.conn': 0,
      'off.s': 0,
      'flap.s': 1,
    });
    assert.equal(bed.port(`${bed.dir}/other/x.out`).connections.length, 0, 'another directory');
    assert.equal(bed.port(`${bed.socketDir}/sub/x.sub`).connections.length, 0, 'a sub-directory');
  });

  it('a stopped domain loses every socket; started again, every socket is re-opened', async () => {
    assert.deepEqual(await ask(bed, guest, Request.OFF, 'vm-x'), { code: 0 });
    await Promise.all(['x.s1', 'x.s2', 'x.ch'].map((n) => allClosed(port(n))));
    assert.deepEqual(await ask(bed, guest, Request.ON, 'vm-x'), { code: 0 });
    await Promise.all(['x.s1', 'x.s2', 'x.ch'].map((n) => connectedTimes(port(n), 2)));
    // A reboot is a stop and a start: the sockets of the old qemu are replaced.
    assert.deepEqual(await ask(bed, guest, Request.REBOOT, 'vm-x'), { code: 0 });
    await Promise.all(['x.s1', 'x.s2', 'x.ch'].map((n) => connectedTimes(port(n), 3)));
    // A domain that was off when the daemon started is picked up when it starts.
    assert.deepEqual(await ask(bed, guest, Request.ON, 'vm-off'), { code: 0 });
    await connectedTimes(port('off.s'), 1);
    assert.deepEqual(await ask(bed, `${bed.socketDir}/off.s`, Request.STATUS, 'vm-off'), { code: 0 });
    assert.equal(bed.port(`${bed.socketDir}/x.conn`).connections.length, 0);
  });

  it('a socket at EOF is dropped and re-opened; its siblings keep their connections', async () => {
    const s1 = port('x.s1');
    const s2 = port('x.s2');
    const [before1, before2] = [s1.connections.length, s2.connections.length];
    const sibling = s2.connections.at(-1);
    s1.connections.at(-1)?.destroy();
    await connectedTimes(s1, before1 + 1);
    assert.equal(s2.connections.length, before2);
    assert.equal(s2.open[0], sibling);
    assert.deepEqual(await ask(bed, s1.path, Request.STATUS, 'vm-guest', before1 + 1), { code: 0 });
  });

  it('a socket that keeps hanging up is retried with growing delays, not in a loop', async () => {
    const flap = port('flap.s');
    flap.hangUp = true;
    const start = flap.connections.length;
    flap.connections.at(-1)?.destroy();
    await sleep(4_000);
    // 0.5 s, 1 s, 2 s, … between attempts: three or four in four seconds, not thousands.
    const attempts = flap.connections.length - start;
    assert.ok(attempts >= 2 && attempts <= 5, `${attempts} connections in 4 s`);
    assert.ok(bed.logged(/flap\.s of domain vm-flap closed/).length <= attempts + 1, 'one log line per attempt at most');
    // A restart of the domain starts the delays afresh.
    flap.hangUp = false;
    const now = flap.connections.length;
    assert.deepEqual(await ask(bed, guest, Request.REBOOT, 'vm-flap'), { code: 0 });
    await waitUntil(() => flap.connections.length > now && flap.open.length === 1, 'vm-flap re-opened after its restart', 5_000);
    assert.deepEqual(await ask(bed, flap.path, Request.STATUS, 'vm-flap', flap.connections.length), { code: 0 });
  });
});

describe('discovery across a libvirtd restart', () => {
  const skip = PrivateLibvirtd.unavailable();
  let libvirtd: PrivateLibvirtd;
  let bed: SerialBed;
  before(async () => {
    if (skip) return;
    libvirtd = await PrivateLibvirtd.start();
    bed = await SerialBed.create(
      (sock) => [
        { name: 'vm-guest', uuid: domainUuid(1), serial: [`${sock}/guest.s`] },
        { name: 'vm-x', uuid: domainUuid(2), serial: [`${sock}/x.s`] },
        { name: 'vm-off', uuid: domainUuid(3), off: true, serial: [`${sock}/off.s`] },
      ],
      { listeners: { serial: { mode: 'serial' } }, uriFor: (node) => libvirtd.uri(node) },
    );
  });
  after(async () => {
    await bed?.cleanup();
    await libvirtd?.cleanup();
  });

  it('keeps its sockets while libvirtd is down, re-scans when it is back, and follows events again', { skip }, async () => {
    const guest = `${bed.socketDir}/guest.s`;
    const x = bed.port(`${bed.socketDir}/x.s`);
    const off = bed.port(`${bed.socketDir}/off.s`);
    assert.deepEqual(await ask(bed, guest, Request.OFF, 'vm-x'), { code: 0 });
    await allClosed(x);

    await libvirtd.kill();
    // Guest sockets belong to qemu, not to libvirtd: they stay open and are answered; the monitor says
    // the fencing path is broken while libvirt does not answer.
    assert.deepEqual(await ask(bed, guest, Request.DEVSTATUS), { code: 1 });
    assert.deepEqual(await ask(bed, guest, Request.STATUS, 'vm-guest'), { code: 1 });

    await libvirtd.launch();
    // The new libvirtd's test driver starts from the node file: vm-x runs again. No event says so;
    // the re-scan after the reconnect finds it.
    await connectedTimes(x, 2);
    // Events flow on the new connection: a domain started now is picked up.
    assert.deepEqual(await ask(bed, guest, Request.ON, 'vm-off'), { code: 0 });
    await connectedTimes(off, 1);
    assert.deepEqual(await ask(bed, off.path, Request.STATUS, 'vm-x'), { code: 0 });
    assert.equal(bed.port(guest).connections.length, 1, 'the guest socket was never re-opened');
  });
});
