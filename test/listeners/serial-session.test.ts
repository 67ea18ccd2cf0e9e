/**
 * One guest socket served by serveGuestSocket, over an in-memory stream pair where qemu's unix socket
 * would be, with the in-memory FakeBackend behind the real Dispatcher and request gate: framing by the
 * magic, one request at a time in order, serial-framed answers, the owning VM as the requester, the
 * duplicate window and the bound on unread input. test/serial/protocol.test.ts runs the same listener
 * on real sockets with libvirtd.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { createRequestCore } from '../../src/core/request-core.js';
import { defaultLimits } from '../../src/core/limits.js';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { StaticMap, type GroupRule } from '../../src/daemon/static-map.js';
import { serveGuestSocket } from '../../src/listeners/serial/session.js';
import { DomainState, encodeSerialRequest, Request, Response, SERIAL_REQUEST_SIZE, type SerialRequest } from '../../src/protocol/index.js';
import { CapturedLog } from '../support/captured-log.js';
import { FakeBackend } from '../support/fake-backend.js';
import { memoryStreamPair } from '../support/memory-stream.js';
import { waitUntil } from '../support/processes.js';
import { GuestLine } from '../support/qemu-stand-ins.js';

const VM_A = 'a0000000-0000-4000-8000-00000000000a';
const GUEST = { uuid: VM_A, name: 'vm-a', path: '/run/cluster/fence/vm-a.sock' };

let seqno = 1;
const frame = (fields: Partial<SerialRequest> & { request: number }) =>
  encodeSerialRequest({ flags: 0, domain: '', seqno: seqno++, ...fields });

function serve(options: { groups?: GroupRule[]; maxSerialBuffer?: number } = {}) {
  const backend = new FakeBackend([
    { name: 'vm-a', uuid: VM_A, state: DomainState.RUNNING },
    { name: 'vm-b', uuid: 'a0000000-0000-4000-8000-00000000000b', state: DomainState.RUNNING },
    { name: 'vm-c', uuid: 'a0000000-0000-4000-8000-00000000000c', state: DomainState.RUNNING },
  ]);
  const captured = new CapturedLog(2);
  const map = new StaticMap(options.groups ?? []);
  const dispatcher = new Dispatcher(backend, () => map, captured.logger);
  const limits = { ...defaultLimits, maxSerialBuffer: options.maxSerialBuffer ?? defaultLimits.maxSerialBuffer };
  const core = createRequestCore((r, w) => dispatcher.permits(r, w), captured.logger, limits);
  const [guestEnd, hostEnd] = memoryStreamPair();
  // The session destroys its stream when it ends.
  const served = once(hostEnd, 'close');
  hostEnd.on('data', serveGuestSocket(hostEnd, GUEST, { listener: 'serial', dispatcher, core, log: captured.logger }));
  return { backend, captured, guest: new GuestLine(guestEnd), served };
}

describe('serial session (in-memory guest socket)', () => {
  it('answers a request that arrives in pieces behind garbage, with the VM as the requester', async () => {
    const { guest, captured, served } = serve();
    const request = frame({ request: Request.STATUS, domain: 'vm-b' });
    guest.send(Buffer.from('noise'));
    for (const piece of [request.subarray(0, 3), request.subarray(3, 40), request.subarray(40)]) {
      guest.send(piece);
      await setImmediate();
    }
    assert.deepEqual(await guest.answer(), { code: Response.SUCCESS });
    await captured.waitFor(new RegExp(`audit: listener=serial requester=${VM_A} \\(vm-a\\) target="vm-b" op=status .*result=on`));
    await captured.waitFor(/warn: discarded 5 byte\(s\) from \/run\/cluster\/fence\/vm-a\.sock of domain vm-a/);
    guest.socket.end();
    await served;
  });

  it('runs requests one at a time in the order they came, even when they come in one write', async () => {
    const { guest, backend, served } = serve();
    guest.send(Buffer.concat([frame({ request: Request.OFF, domain: 'vm-b' }), frame({ request: Request.STATUS, domain: 'vm-b' })]));
    assert.deepEqual(await guest.answer(), { code: Response.SUCCESS });
    assert.deepEqual(await guest.answer(), { code: Response.OFF });
    assert.deepEqual(backend.calls, ['off vm-b start', 'off vm-b end', 'status vm-b start', 'status vm-b end']);
    guest.socket.end();
    await served;
  });

  it("applies the VM's groups: a host list in serial framing shows only its targets, a request for another is refused", async () => {
    const { guest, served } = serve({ groups: [{ name: 'g', ips: [], uuids: [VM_A, 'vm-b'] }] });
    guest.send(frame({ request: Request.HOSTLIST }));
    const list = await guest.answer();
    assert.ok('hosts' in list);
    assert.deepEqual(
      list.hosts.map((h) => h.name),
      ['vm-a', 'vm-b'],
    );
    assert.equal(list.code, Response.SUCCESS);
    guest.send(frame({ request: Request.OFF, domain: 'vm-c' }));
    assert.deepEqual(await guest.answer(), { code: Response.PERM });
    guest.socket.end();
    await served;
  });

  it('drops a copy of a request within the duplicate window without an answer, and answers the next one', async () => {
    const { guest, backend, captured, served } = serve();
    const reboot = frame({ request: Request.REBOOT, domain: 'vm-c' });
    guest.send(reboot);
    assert.deepEqual(await guest.answer(), { code: Response.SUCCESS });
    guest.send(reboot);
    assert.equal(await guest.silentFor(200), true);
    await captured.waitFor(new RegExp(`dropping duplicate request from ${VM_A} \\(vm-a\\) \\(reboot "vm-c"`));
    guest.send(frame({ request: Request.STATUS, domain: 'vm-c' }));
    assert.deepEqual(await guest.answer(), { code: Response.SUCCESS });
    assert.equal(backend.calls.filter((c) => c.startsWith('reboot') && c.endsWith('start')).length, 1, 'rebooted once');
    guest.socket.end();
    await served;
  });

  it('answers a request code it does not know with FAIL, as the C daemon does', async () => {
    const { guest, backend, served } = serve();
    const unknown = frame({ request: Request.STATUS, domain: 'vm-b' });
    unknown[4] = 0x7f;
    guest.send(unknown);
    assert.deepEqual(await guest.answer(), { code: Response.FAIL });
    assert.deepEqual(backend.calls, []);
    guest.socket.end();
    await served;
  });

  it('cuts off a guest that floods while its request runs; the request still completes', async () => {
    const { guest, backend, captured, served } = serve({ maxSerialBuffer: 1024 });
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));
    guest.send(frame({ request: Request.OFF, domain: 'vm-b' }));
    await waitUntil(() => backend.calls.includes('off vm-b start'), 'the off started');
    const closed = once(guest.socket, 'end');
    guest.send(Buffer.alloc(2048, 0x7a));
    await closed;
    await served; // closed while the off still runs
    open();
    // The off finishes and its answer finds the socket closed.
    await captured.waitFor(/could not deliver the answer to .*vm-a/);
    assert.equal(backend.domains[1]?.state, DomainState.SHUTOFF, 'the off that was running finished');
    assert.equal(captured.matching(/could not deliver the answer to .*vm-a/).length, 1);
    assert.equal(captured.matching(/vm-a\.sock of domain vm-a: peer sent more than 1024 unread bytes/).length, 1);
  });

  it('reports garbage in at most one line per interval and the rest when the socket closes, every byte counted', async () => {
    const { guest, captured, served } = serve();
    const chunks = 20;
    // The first line once the first chunk is discarded (it waits for a timer of its own, which a busy
    // machine may run only after the whole burst), then the rest of the burst within the interval.
    guest.send(Buffer.alloc(SERIAL_REQUEST_SIZE, 0x7a));
    await captured.waitFor(/discarded/);
    for (let i = 1; i < chunks; i++) {
      guest.send(Buffer.alloc(SERIAL_REQUEST_SIZE, 0x7a));
      await setImmediate();
    }
    await sleep(50);
    assert.equal(captured.matching(/discarded/).length, 1, 'one line while the burst goes on');
    guest.socket.end();
    await served;
    const counts = captured.matching(/discarded/).map((l) => Number(/discarded (\d+) byte/.exec(l)?.[1]));
    assert.equal(counts.length, 2);
    assert.equal(counts[0]! + counts[1]!, chunks * SERIAL_REQUEST_SIZE);
  });

  it('ends quietly when the guest closes its end', async () => {
    const { guest, captured, served } = serve();
    guest.socket.end();
    await served;
    assert.deepEqual(captured.lines, []);
  });
});
