/**
 * The built daemon out of file descriptors (`prlimit --nofile=64` on its PID) while TCP clients,
 * multicast requests and a serial guest keep coming and libvirtd is restarted underneath it: it keeps
 * running, and serves on every listener, with its libvirt connection back, as soon as descriptors are
 * free again.
 *
 * The daemon drops a connection that sends no request within 1 s, and Node, when an accept fails with
 * EMFILE, accepts and closes whatever waits in the backlog: idle connections alone free slots again
 * within a second. So new ones keep coming until the descriptors are freed on purpose.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Family, Hash, Request, Response } from '../../src/protocol/index.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { runTool, waitUntil } from '../support/processes.js';
import { GuestLine, GuestPortSocket } from '../support/qemu-stand-ins.js';
import { multicastExchange, sendToGroup, signedRequest, type Outcome } from '../support/raw-client.js';
import { needsTools } from '../support/requirement.js';
import { nodeXml } from '../serial/node-xml.js';
import { CaseTally } from './case-record.js';
import { DaemonBed } from './daemon-bed.js';

const TCP_PORT = 24761;
const MCAST_PORT = 24762;
const CALLBACK_PORT = 24763;
const skip = PrivateLibvirtd.unavailable() ?? needsTools('prlimit');
let libvirtd: PrivateLibvirtd;
let bed: DaemonBed;
let guest: GuestPortSocket;
let hogs: IdleConnections | undefined;

before(async () => {
  if (skip) return;
  libvirtd = await PrivateLibvirtd.start();
  const sockDir = join(libvirtd.dir, 'guests');
  mkdirSync(sockDir);
  const node = join(libvirtd.dir, 'serial-node.xml');
  writeFileSync(node, nodeXml([{ name: 'vm-serial', uuid: '5e000000-0000-4000-8000-000000000002', serial: [join(sockDir, 'vm-serial')] }]));
  guest = await GuestPortSocket.listen(join(sockDir, 'vm-serial'));
  bed = new DaemonBed({
    port: TCP_PORT,
    backendUri: libvirtd.uri('/default'),
    listeners: {
      multicast: { interface: 'lo', port: String(MCAST_PORT), key_file: '@KEY@' },
      serial: { uri: libvirtd.uri(node), path: sockDir, mode: 'serial' },
    },
  });
  bed.writeConfig({ text: readFileSync(bed.conf, 'utf8').replace('@KEY@', bed.keyFile) });
  await bed.start();
});
after(async () => {
  hogs?.stop();
  await bed?.cleanup();
  await guest?.close();
  await libvirtd?.cleanup();
});

const isOn = (got: Outcome) => got.kind === 'code' && got.code === Response.SUCCESS;
const overMulticast = (waitMs: number) =>
  multicastExchange(
    (d) => sendToGroup(d, MCAST_PORT),
    signedRequest({ request: Request.STATUS, domain: 'test', family: Family.INET, address: '127.0.0.1', port: CALLBACK_PORT }, bed.key),
    CALLBACK_PORT,
    bed.key,
    Hash.SHA256,
    waitMs,
  );
/** The daemon's descriptor table at its limit of 64, or within a few descriptors of it. */
const tableFull = () => readdirSync(`/proc/${bed.pid}/fd`).length >= 60;
const noDescriptorForCallback = new RegExp(
  `failed to call back 127\\.0\\.0\\.1 port ${CALLBACK_PORT}: .*(EMFILE|too many open files)`,
  'i',
);

/** TCP connections that never send a request, ten more every 50 ms until stopped. */
class IdleConnections {
  private readonly open = new Set<Socket>();
  private made = 0;
  private readonly timer = setInterval(() => this.add(10), 50);

  constructor() {
    this.add(100);
  }

  private add(count: number): void {
    // Enough to refill the table; more would only pile up unaccepted if the daemon stalled.
    if (this.open.size > 150) return;
    for (let i = 0; i < count; i++, this.made++) {
      // From ten loopback addresses: one source may hold only max_connections_per_source (16) connections.
      const socket = connect({ port: TCP_PORT, host: '127.0.0.1', localAddress: `127.0.1.${(this.made % 10) + 1}` });
      this.open.add(socket.on('error', () => undefined).on('close', () => this.open.delete(socket)));
    }
  }

  stop(): void {
    clearInterval(this.timer);
    for (const socket of this.open) socket.destroy();
  }
}

it('keeps running out of descriptors and serves every listener, with libvirt reconnected, once they are free', { skip }, async () => {
  const tally = new CaseTally('descriptors exhausted (nofile 64) with traffic on all listeners and a libvirtd restart');
  const serialLine = new GuestLine(await guest.connection(1));
  const serialStatus = async () => {
    serialLine.send(guest.request({ request: Request.STATUS, domain: 'test' }));
    const answer = await serialLine.answer(15_000);
    return 'code' in answer && answer.code === Response.SUCCESS;
  };
  assert.ok(tally.answer(await serialStatus()), 'serial before');
  const limited = await runTool('prlimit', ['--pid', String(bed.pid), '--nofile=64:64']);
  assert.equal(limited.code, 0, limited.stderr);
  tally.faults++;

  // Fill the table with idle connections and keep it full, then keep every listener busy meanwhile.
  hogs = new IdleConnections();
  await waitUntil(tableFull, 'the descriptor table filling up', 10_000);
  // A connect-back needs a new descriptor: with the table full it fails, and the daemon says why.
  await waitUntil(
    async () => {
      await overMulticast(200);
      return noDescriptorForCallback.test(bed.daemon!.output());
    },
    'a request failing for want of a descriptor',
    10_000,
  );
  await libvirtd.kill();
  tally.faults++;
  const during = await Promise.all([
    bed.ask(Request.STATUS, 'test', 2_000),
    overMulticast(1_500),
    ...Array.from({ length: 10 }, () => bed.ask(Request.STATUS, 'test', 1_000)),
  ]);
  // Whatever got through while libvirtd was down must not claim the domain is on.
  for (const got of during) assert.ok(tally.answer(!isOn(got), isOn(got)), `answered ${JSON.stringify(got)} with libvirtd down`);
  await libvirtd.launch();
  assert.ok(tally.stillRunning(bed.daemon!.running), 'the daemon survived');

  assert.ok(tableFull(), 'the table stayed full through the restart');
  const freed = performance.now();
  hogs.stop();
  await tally.recovery(() =>
    // Failures while descriptors and libvirt come back are honest answers; the first success ends the wait.
    waitUntil(async () => isOn(await bed.ask(Request.STATUS, 'test', 2_000)) && tally.answer(true), 'TCP status with libvirt back', 20_000),
  );
  assert.ok(tally.answer(isOn(await overMulticast(5_000))), 'multicast after');
  assert.ok(tally.answer(await serialStatus()), 'serial after');
  tally.notes = `served on all listeners ${Math.round(performance.now() - freed)} ms after descriptors were freed`;
  assert.ok(bed.daemon!.running);
  const record = tally.record();
  assert.equal(record.falseSuccesses, 0);
});
