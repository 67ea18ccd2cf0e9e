/**
 * The built daemon killed with SIGKILL and started again, as systemd's Restart=on-failure does: the pid
 * file it left does not block the new one, the guests' serial sockets are connected again, and a
 * request the agent retransmits (fence_xvm resends the same datagram until it is served) is executed at
 * most once per fence, also when the daemon died in the middle of executing it. The audit log shows
 * the execution, and the refusal of the retransmission.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { Proc } from '../../src/libvirt/protocol.js';
import { DomainState, Family, Hash, Request, Response } from '../../src/protocol/index.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { GuestLine, GuestPortSocket } from '../support/qemu-stand-ins.js';
import { multicastExchange, sendToGroup, signedRequest } from '../support/raw-client.js';
import { nodeXml } from '../serial/node-xml.js';
import { CaseTally } from './case-record.js';
import { DaemonBed } from './daemon-bed.js';
import { LibvirtTap } from './libvirt-tap.js';

const MCAST_PORT = 24741;
const CALLBACK_PORT = 24742;
const skip = PrivateLibvirtd.unavailable();
let libvirtd: PrivateLibvirtd;
let tap: LibvirtTap;
let observer: LibvirtClient;
let bed: DaemonBed;
let guest: GuestPortSocket;

before(async () => {
  if (skip) return;
  libvirtd = await PrivateLibvirtd.start();
  tap = await LibvirtTap.start(libvirtd.dir, libvirtd.socketPath);
  // Held open for the whole test: the test driver's default node keeps its state while a connection does.
  observer = await LibvirtClient.open({ uri: libvirtd.uri('/default'), keepaliveIntervalMs: 0 });
  const sockDir = join(libvirtd.dir, 'guests');
  mkdirSync(sockDir);
  const node = join(libvirtd.dir, 'serial-node.xml');
  writeFileSync(node, nodeXml([{ name: 'vm-serial', uuid: '5e000000-0000-4000-8000-000000000001', serial: [join(sockDir, 'vm-serial')] }]));
  guest = await GuestPortSocket.listen(join(sockDir, 'vm-serial'));
  bed = new DaemonBed({
    port: 24743,
    backendUri: tap.uri('/default'),
    listeners: {
      multicast: { interface: 'lo', port: String(MCAST_PORT), key_file: join(libvirtd.dir, 'unused') },
      serial: { uri: libvirtd.uri(node), path: sockDir, mode: 'serial' },
    },
  });
  // The multicast listener shares the bed's key.
  bed.writeConfig({ text: readFileSync(bed.conf, 'utf8').replace(join(libvirtd.dir, 'unused'), bed.keyFile) });
  await bed.start();
});
after(async () => {
  await bed?.cleanup();
  await guest?.close();
  await observer?.close();
  await tap?.close();
  await libvirtd?.cleanup();
});

const domainId = async () => (await observer.lookupByName('test')).id;
const stateOfTest = async () => (await observer.getInfo(await observer.lookupByName('test'))).state;
const datagramFor = (request: number) =>
  signedRequest({ request, domain: 'test', family: Family.INET, address: '127.0.0.1', port: CALLBACK_PORT }, bed.key);
const overMulticast = (datagram: Buffer, waitMs = 5_000) =>
  multicastExchange((d) => sendToGroup(d, MCAST_PORT), datagram, CALLBACK_PORT, bed.key, Hash.SHA256, waitMs);

/** SIGKILLs the daemon and starts it again on the same files; times until it answers. */
async function killAndRestart(tally: CaseTally): Promise<void> {
  const old = bed.daemon!;
  const oldPid = bed.pid;
  process.kill(oldPid, 'SIGKILL');
  tally.faults++;
  await old.stop(); // collects the exit
  assert.equal(readFileSync(bed.pidFile, 'utf8').trim(), String(oldPid), 'the killed daemon left its pid file');
  await tally.recovery(() => bed.start());
  assert.equal(readFileSync(bed.pidFile, 'utf8').trim(), String(bed.pid), 'the new daemon claimed the stale pid file');
}

async function serialStatus(connection: number): Promise<boolean> {
  const line = new GuestLine(await guest.connection(connection));
  line.send(guest.request({ request: Request.STATUS, domain: 'test' }));
  const answer = await line.answer();
  return 'code' in answer && answer.code === Response.SUCCESS;
}

it('restarts over its stale pid file, reconnects the serial guest, and never executes a retransmission twice', { skip }, async () => {
  const tally = new CaseTally('daemon SIGKILLed and restarted (after a reboot, and in the middle of an off)');
  assert.ok(tally.answer(await serialStatus(1)), 'serial status before the kill');

  // 1. A reboot served in full, then the daemon killed: the retransmission reaches the new daemon.
  //    A status is remembered in memory only: it changes nothing, so the new daemon answers it again.
  const status = datagramFor(Request.STATUS);
  assert.ok(tally.answer(((await overMulticast(status)) as { code?: number }).code === Response.SUCCESS), 'the status is answered');
  const reboot = datagramFor(Request.REBOOT);
  const idBefore = await domainId();
  assert.ok(tally.answer((await overMulticast(reboot)).kind === 'code'), 'the reboot is answered');
  const idAfter = await domainId();
  assert.notEqual(idAfter, idBefore, 'the reboot ran (a new domain id)');
  assert.match(bed.daemon!.output(), /audit: listener=multicast .*op=reboot .*result=success/);
  await killAndRestart(tally);
  assert.ok(tally.answer(await serialStatus(2)), 'the serial socket was connected again');
  assert.ok(tally.answer((await overMulticast(reboot, 1_500)).kind === 'closed'), 'the retransmission is not served');
  const statusAgain = (await overMulticast(status)) as { code?: number };
  assert.ok(
    tally.answer(statusAgain.code === Response.SUCCESS),
    `the status replayed after the restart is answered: ${JSON.stringify(statusAgain)}`,
  );
  await bed.daemon!.waitForOutput(/dropping request from .*reboot "test".*replay of a request already executed/);
  assert.equal(await domainId(), idAfter, 'no second reboot');

  // 2. Killed while executing an off (the daemon dies as its destroy goes to libvirtd): the agent
  //    retransmits to the new daemon, which must not run it again.
  const off = datagramFor(Request.OFF);
  tap.onCall(Proc.DomainDestroy, () => {
    process.kill(bed.pid, 'SIGKILL');
  });
  const answered = await overMulticast(off);
  assert.ok(tally.answer(answered.kind === 'closed'), `no answer from a daemon killed mid-action: ${JSON.stringify(answered)}`);
  const destroys = tap.calls.get(Proc.DomainDestroy);
  await killAndRestart(tally);
  assert.ok(tally.answer((await overMulticast(off, 1_500)).kind === 'closed'), 'the retransmission is not served');
  await bed.daemon!.waitForOutput(/dropping request from .*off "test".*replay of a request already executed/);
  assert.equal(tap.calls.get(Proc.DomainDestroy), destroys, 'the new daemon sent no second destroy');
  assert.doesNotMatch(bed.daemon!.output(), /audit: .*op=off/);
  assert.equal(await stateOfTest(), DomainState.SHUTOFF, 'the one destroy, sent as the daemon died, was carried out');

  // A new request (new bytes) is served as usual.
  assert.ok(tally.answer(((await overMulticast(datagramFor(Request.ON))) as { code?: number }).code === Response.SUCCESS));
  assert.equal(await stateOfTest(), DomainState.RUNNING);
  const journal = readFileSync(bed.pidFile.replace(/\.pid$/, '.replay'), 'latin1');
  assert.equal(
    journal.split('\n').filter((line) => line.startsWith('+')).length,
    3,
    `the reboot, the off and the on, no status:\n${journal}`,
  );
  const record = tally.record();
  assert.equal(record.wrong, 0);
  assert.equal(record.falseSuccesses, 0);
});
