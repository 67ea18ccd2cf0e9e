/**
 * The vsock listener above the socket: the real VsockListener, StreamRequestListener, Dispatcher,
 * LibvirtBackend and CID-to-domain directory, against a libvirt test-driver node (through libvirtd)
 * whose guests have <vsock> devices. Only the socket is replaced, by loopback TCP ports that each stand
 * for one guest CID (see loopback-acceptor.ts). Ports 29000-29099 belong to this folder.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { LibvirtBackend } from '../../src/backends/libvirt/backend.js';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { StaticMap, type GroupRule } from '../../src/daemon/static-map.js';
import { LibvirtConnectionPool, type LibvirtClient } from '../../src/libvirt/index.js';
import { VsockListener } from '../../src/listeners/vsock/listener.js';
import { Hash, Request, type HashType } from '../../src/protocol/index.js';
import { CapturedLog } from '../support/captured-log.js';
import { signedRequest, tcpExchange } from '../support/raw-client.js';
import { CountingLibvirt, handOverCid } from './counting-libvirt.js';
import { loopbackVsockListener } from './loopback-acceptor.js';

const NODE = fileURLToPath(new URL('../fixtures/vsock/node.xml', import.meta.url));
const URI = `test+unix://${NODE}`;
/** Fake guest CIDs and the loopback port that stands for each: vm-a's, vm-b's, the shut-off vm-off's, nobody's. */
const PORT_OF_CID = new Map([
  [5, 29001],
  [7, 29002],
  [9, 29003],
  [42, 29004],
]);
const VM_A_UUID = 'd0000000-0000-4000-8000-00000000000a';
const VM_NEXT_UUID = 'd0000000-0000-4000-8000-0000000000e5';
const key = new AuthKey(Buffer.from('vsock listener test key\n'));

const captured = new CapturedLog(3);
const log = captured.logger;
const pool = new LibvirtConnectionPool(log);
let permissions = new StaticMap([]);
let listener: VsockListener;
let client: LibvirtClient;
/** The directory's libvirt calls, counted on their way to the shared client. */
let calls: CountingLibvirt;

function portOf(cid: number): number {
  const port = PORT_OF_CID.get(cid);
  assert.ok(port, `no stand-in port for cid ${cid}`);
  return port;
}

function ask(cid: number, request: number, domain: string, hashType: HashType = Hash.SHA256, signer = key) {
  return tcpExchange(portOf(cid), signedRequest({ request, domain, hashType }, signer), signer, Hash.SHA256);
}

function groups(...rules: Partial<GroupRule>[]): void {
  permissions = new StaticMap(rules.map((r, i) => ({ name: `g${i}`, ips: [], uuids: [], ...r })));
}

before(async () => {
  const backend = await LibvirtBackend.open([URI], log, { connect: (uri) => pool.get(uri) });
  const dispatcher = new Dispatcher(backend, () => permissions, log);
  client = await pool.get(URI);
  calls = new CountingLibvirt(client);
  listener = loopbackVsockListener({ guests: PORT_OF_CID, key, libvirt: () => [Promise.resolve(calls)], dispatcher, pool, log });
  await listener.start();
});
after(async () => {
  await listener?.stop();
  await pool.closeAll();
});
beforeEach(() => groups());

describe('vsock listener flow (loopback stand-in for the socket)', () => {
  it('answers a correct request and logs the CID with its domain', async () => {
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-b'), { kind: 'code', code: 0 });
    await captured.waitFor(/audit: listener=vsock requester=cid 5 \(vm-a\) target="vm-b" op=status .*result=on/);
    assert.deepEqual(await ask(7, Request.STATUS, 'vm-off'), { kind: 'code', code: 2 });
    await captured.waitFor(/requester=cid 7 \(vm-b\) target="vm-off"/);
  });

  it('shows a CID that no running domain holds without a domain', async () => {
    assert.deepEqual(await ask(42, Request.STATUS, 'vm-a'), { kind: 'code', code: 0 });
    await captured.waitFor(/requester=cid 42 target="vm-a"/);
    // vm-off's XML names CID 9, but a shut-off domain holds no CID.
    assert.deepEqual(await ask(9, Request.STATUS, 'vm-a'), { kind: 'code', code: 0 });
    await captured.waitFor(/requester=cid 9 target="vm-a"/);
  });

  it('closes a request signed with the wrong key without a byte, and without asking libvirt who sent it', async () => {
    const other = new AuthKey(Buffer.from('not the key'));
    const before = calls.counts();
    assert.equal((await ask(5, Request.OFF, 'vm-b', Hash.SHA256, other)).kind, 'closed');
    await captured.waitFor(/dropping request from cid 5: .*key mismatch/i);
    assert.deepEqual(calls.since(before), { lists: 0, xmls: 0 });
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-b'), { kind: 'code', code: 0 }, 'vm-b is still on');
  });

  it('closes requests hashed weaker than the minimum', async () => {
    for (const hashType of [Hash.NONE, Hash.SHA1]) {
      assert.equal((await ask(5, Request.OFF, 'vm-b', hashType)).kind, 'closed');
    }
    await captured.waitFor(/dropping request from cid 5: .*weaker than the required sha256/);
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-b'), { kind: 'code', code: 0 });
  });

  it('ignores a replay within 10 s', async () => {
    const status = signedRequest({ request: Request.STATUS, domain: 'vm-c' }, key);
    assert.deepEqual(await tcpExchange(portOf(7), status, key, Hash.SHA256), { kind: 'code', code: 0 });
    assert.equal((await tcpExchange(portOf(7), status, key, Hash.SHA256)).kind, 'closed');
    // A status is not kept in the duplicate window on vsock (no client sends copies); the same bytes are
    // a replay, refused by the replay memory.
    await captured.waitFor(/dropping request from cid 7 \(vm-b\) \(status "vm-c".*\): replay of a request already executed/);
  });

  it('matches the CID against ip entries, as C does', async () => {
    groups({ ips: ['5', '42'], uuids: ['vm-c'] });
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-c'), { kind: 'code', code: 0 });
    assert.deepEqual(await ask(42, Request.STATUS, 'vm-c'), { kind: 'code', code: 0 }, 'no domain needed');
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-b'), { kind: 'code', code: 3 }, 'vm-b is not in the group');
    assert.deepEqual(await ask(7, Request.STATUS, 'vm-c'), { kind: 'code', code: 3 }, 'cid 7 (vm-b) is in no group');
  });

  it('never lets a domain name stand for the requester: a uuid entry equal to it, in any case, grants nothing', async () => {
    groups({ uuids: ['VM-A', 'vm-b', 'vm-c'] });
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-c'), { kind: 'code', code: 3 }, 'vm-a differs from the entry only in case');
    assert.deepEqual(await ask(7, Request.STATUS, 'vm-c'), { kind: 'code', code: 3 }, 'vm-b equals the entry exactly');
    assert.deepEqual(await ask(7, Request.HOSTLIST, ''), { kind: 'hosts', names: [] });
    await captured.waitFor(/requester=cid 7 \(vm-b\) target="vm-c" op=status .*result=permission-denied/);
  });

  it('matches the resolved domain UUID against uuid entries', async () => {
    groups({ uuids: [VM_A_UUID.toUpperCase(), 'vm-c'] });
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-c'), { kind: 'code', code: 0 });
    assert.deepEqual(await ask(7, Request.STATUS, 'vm-c'), { kind: 'code', code: 3 });
  });

  it('refuses an unknown CID when groups exist, and lists it no domain', async () => {
    groups({ ips: ['5'], uuids: ['vm-a', 'vm-b'] });
    assert.deepEqual(await ask(42, Request.STATUS, 'vm-a'), { kind: 'code', code: 3 });
    assert.deepEqual(await ask(42, Request.HOSTLIST, ''), { kind: 'hosts', names: [] });
    assert.deepEqual(await ask(5, Request.HOSTLIST, ''), { kind: 'hosts', names: ['vm-a', 'vm-b'] });
  });

  it('closes a short request after 1 s and garbage at once, with a log line each', async () => {
    const socket = connect(portOf(5), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(signedRequest({ request: Request.OFF, domain: 'vm-b' }, key).subarray(0, 100));
    socket.resume();
    await once(socket, 'close');
    await captured.waitFor(/closing connection from cid 5: timed out waiting for the request \(100 received\)/);

    const garbage = Buffer.alloc(176, 0xa5);
    assert.equal((await tcpExchange(portOf(7), garbage, key, Hash.SHA256)).kind, 'closed');
    await captured.waitFor(/dropping request from cid 7: /);
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-b'), { kind: 'code', code: 0 }, 'vm-b is still on');
  });

  it("confirms a guest's CID with one libvirt call per connection, never a scan of every domain", async () => {
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-c'), { kind: 'code', code: 0 });
    assert.deepEqual(await ask(7, Request.STATUS, 'vm-c'), { kind: 'code', code: 0 });
    const before = calls.counts();
    for (const cid of [5, 7, 5, 7]) assert.deepEqual(await ask(cid, Request.STATUS, 'vm-c'), { kind: 'code', code: 0 });
    assert.deepEqual(calls.since(before), { lists: 0, xmls: 4 });
  });

  it('follows guests stopping and starting: a stopped guest loses its domain identity at once, a started one gets it', async () => {
    groups({ uuids: [VM_A_UUID, 'vm-c'] });
    const vmA = await client.lookupByName('vm-a');
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-c'), { kind: 'code', code: 0 });
    await client.destroy(vmA);
    try {
      assert.deepEqual(await ask(5, Request.STATUS, 'vm-c'), { kind: 'code', code: 3 });
      await captured.waitFor(/requester=cid 5 target="vm-c"/);
    } finally {
      await client.create(vmA);
    }
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-c'), { kind: 'code', code: 0 });
  });

  it('identifies a CID handed over between two connections as its new guest, never the old one', async () => {
    groups({ uuids: [VM_A_UUID, 'vm-a'] }, { uuids: [VM_NEXT_UUID, 'vm-c'] });
    assert.deepEqual(await ask(5, Request.STATUS, 'vm-a'), { kind: 'code', code: 0 });
    await handOverCid(client, 'vm-a', 'vm-next');
    try {
      const logged = captured.lines.length;
      assert.deepEqual(await ask(5, Request.STATUS, 'vm-a'), { kind: 'code', code: 3 }, "vm-a's group no longer holds cid 5");
      assert.deepEqual(await ask(5, Request.STATUS, 'vm-c'), { kind: 'code', code: 0 }, "vm-next's group does");
      const later = captured.lines.slice(logged).filter((l) => l.includes('requester=cid 5'));
      assert.equal(later.length, 2);
      for (const line of later) assert.match(line, /requester=cid 5 \(vm-next\) /);
    } finally {
      await handOverCid(client, 'vm-next', 'vm-a');
    }
  });
});
