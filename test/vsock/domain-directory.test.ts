/**
 * VsockDomainDirectory: which running domain holds a peer's CID, from libvirt data newer than the
 * connection's accept. Against the libvirt test driver (through libvirtd) with guests that have vsock
 * devices; the counting wrapper passes every call to the real client. The fault tests use a private
 * libvirtd that they kill and stop.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LibvirtConnectionPool, type LibvirtClient } from '../../src/libvirt/index.js';
import { VsockDomainDirectory, type VsockDomain } from '../../src/listeners/vsock/domains.js';
import { CapturedLog } from '../support/captured-log.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { waitUntil } from '../support/processes.js';
import { CountingLibvirt, handOverCid } from './counting-libvirt.js';
import { monotonicMs } from '../../src/util/clock.js';

const NODE = fileURLToPath(new URL('../fixtures/vsock/node.xml', import.meta.url));
const VM_A: VsockDomain = { name: 'vm-a', uuid: 'd0000000-0000-4000-8000-00000000000a' };
const VM_B: VsockDomain = { name: 'vm-b', uuid: 'd0000000-0000-4000-8000-00000000000b' };
const VM_NEXT: VsockDomain = { name: 'vm-next', uuid: 'd0000000-0000-4000-8000-0000000000e5' };
/** vm-a, vm-b and vm-c run; the directory reads each one's XML in a scan. */
const RUNNING = 3;

const captured = new CapturedLog(3);
const pool = new LibvirtConnectionPool(captured.logger);
let client: LibvirtClient;

before(async () => {
  client = await pool.get(`test+unix://${NODE}`);
});
after(() => pool.closeAll());

/** A directory of its own over a counting wrapper of the shared client. */
async function directory(options = {}): Promise<{ dir: VsockDomainDirectory; calls: CountingLibvirt }> {
  const calls = new CountingLibvirt(client);
  const dir = new VsockDomainDirectory(() => [Promise.resolve(calls)], captured.logger, options);
  await dir.start();
  return { dir, calls };
}

const lookupNow = (dir: VsockDomainDirectory, cid: number) => dir.lookup(cid, monotonicMs());

describe('vsock CID directory (test driver through libvirtd)', () => {
  it("names the running domain that holds each CID, and nobody for a shut-off guest's or an unused CID", async () => {
    const { dir } = await directory();
    assert.deepEqual(await lookupNow(dir, 5), VM_A, 'fixed CID');
    assert.deepEqual(await lookupNow(dir, 7), VM_B, 'auto CID');
    assert.equal(await lookupNow(dir, 9), undefined, "vm-off is shut off: its configured CID is nobody's");
    assert.equal(await lookupNow(dir, 42), undefined);
  });

  it('confirms a known CID with one call, and scans only for a CID it does not know', async () => {
    const { dir, calls } = await directory();
    assert.deepEqual(await lookupNow(dir, 5), VM_A);
    assert.deepEqual(calls.counts(), { lists: 1, xmls: RUNNING });
    const known = calls.counts();
    assert.deepEqual(await lookupNow(dir, 5), VM_A);
    assert.deepEqual(await lookupNow(dir, 7), VM_B);
    assert.deepEqual(calls.since(known), { lists: 0, xmls: 2 }, 'one live XML per lookup, no list');
    const unknown = calls.counts();
    assert.equal(await lookupNow(dir, 42), undefined);
    assert.deepEqual(calls.since(unknown), { lists: 1, xmls: RUNNING }, 'an unknown CID may belong to a guest started since');
  });

  it('gives a CID handed over to another guest to the new guest before any lifecycle event is seen', async () => {
    const { dir, calls } = await directory();
    assert.deepEqual(await lookupNow(dir, 5), VM_A);
    try {
      await handOverCid(client, 'vm-a', 'vm-next');
      // The wrapper lets no event through: all the directory has is its scan from before the change.
      assert.deepEqual(await lookupNow(dir, 5), VM_NEXT);
      assert.equal(calls.lists, 2, "vm-a's live XML no longer has the CID: scanned again");
      assert.deepEqual(await lookupNow(dir, 5), VM_NEXT);
    } finally {
      await handOverCid(client, 'vm-next', 'vm-a');
    }
    assert.deepEqual(await lookupNow(dir, 5), VM_A, 'and back');
  });

  it('never answers from a scan that started before the connection was accepted', async () => {
    const { dir, calls } = await directory();
    calls.hold();
    const early = lookupNow(dir, 5);
    await waitUntil(() => calls.heldLists === 1, "the first scan's list answer");
    try {
      // That list still shows vm-a running; the CID changes hands after it, before the second accept.
      await handOverCid(client, 'vm-a', 'vm-next');
      const late = dir.lookup(5, monotonicMs());
      calls.release();
      assert.deepEqual(await late, VM_NEXT);
      assert.notDeepEqual(await early, VM_A, "vm-a's XML, read after the change, no longer holds the CID");
      assert.equal(calls.lists, 2);
    } finally {
      calls.release();
      await handOverCid(client, 'vm-next', 'vm-a');
    }
  });

  it('serves a burst of concurrent lookups with one scan, and lookups during a scan with one more', async () => {
    const { dir, calls } = await directory();
    const expected = new Map([
      [5, VM_A],
      [7, VM_B],
      [9, undefined],
      [42, undefined],
    ]);
    const cids = Array.from({ length: 40 }, (_, i) => [5, 7, 9, 42][i % 4]!);
    const acceptedAt = monotonicMs();
    const burst = await Promise.all(cids.map((cid) => dir.lookup(cid, acceptedAt)));
    burst.forEach((domain, i) => assert.deepEqual(domain, expected.get(cids[i]!), `cid ${cids[i]}`));
    assert.deepEqual(calls.counts(), { lists: 1, xmls: RUNNING });

    // Peers accepted while a scan runs cannot use it; all of them share the next one.
    const before = calls.counts();
    calls.hold();
    const first = lookupNow(dir, 42);
    await waitUntil(() => calls.heldLists === 1, "the running scan's list answer");
    const during = Array.from({ length: 20 }, () => lookupNow(dir, 42));
    calls.release();
    assert.deepEqual(await Promise.all([first, ...during]), Array(21).fill(undefined));
    assert.deepEqual(calls.since(before), { lists: 2, xmls: 2 * RUNNING });
  });
});

describe('vsock CID directory when libvirt fails (private libvirtd)', { skip: PrivateLibvirtd.unavailable() }, () => {
  let daemon: PrivateLibvirtd;
  let privatePool: LibvirtConnectionPool;
  let dir: VsockDomainDirectory;
  before(async () => {
    daemon = await PrivateLibvirtd.start();
    privatePool = new LibvirtConnectionPool(captured.logger, { keepaliveIntervalMs: 0 });
    dir = new VsockDomainDirectory(() => [privatePool.get(daemon.uri(NODE))], captured.logger, { callTimeoutMs: 300 });
    await dir.start();
    assert.deepEqual(await lookupNow(dir, 5), VM_A, 'known before the fault');
  });
  after(async () => {
    await privatePool.closeAll();
    await daemon.cleanup();
  });

  it('gives no domain identity while libvirtd hangs, within the call timeout', async () => {
    daemon.signal('SIGSTOP');
    try {
      const started = monotonicMs();
      assert.equal(await lookupNow(dir, 5), undefined, 'a known CID that cannot be confirmed');
      assert.equal(await lookupNow(dir, 42), undefined);
      assert.ok(monotonicMs() - started < 2_000, 'each call is bounded by callTimeoutMs');
      await captured.waitFor(/cannot confirm that 'vm-a' holds CID 5 on test\+unix:.*no reply within 300 ms/);
    } finally {
      daemon.signal('SIGCONT');
    }
    assert.deepEqual(await lookupNow(dir, 5), VM_A, 'resumed');
  });

  it('gives no domain identity once libvirtd is gone, never the one it knew', async () => {
    await daemon.kill();
    assert.equal(await lookupNow(dir, 5), undefined);
    assert.equal(await lookupNow(dir, 42), undefined, 'unknown CID: the scan fails');
    await captured.waitFor(/cannot map vsock CIDs to domains on test\+unix:/);
  });
});
