/**
 * The cpg messages against the C daemon's own traffic: the C fence_virtd runs its cpg backend on host 1
 * of a real corosync cluster; processes on hosts 2 and 3 sit in the same group with the addon, capture
 * what it sends and answer with our encoder. Captured bytes must decode, and must equal our encoding in
 * every byte the C daemon initialises; the C daemon must act on what we send (a rolling upgrade).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  decodeCpgMessage,
  encodeCpgMessage,
  replyTo,
  CPG_GROUP,
  type CpgMessage,
  type CpgRequest,
} from '../../src/backends/cpg/messages.js';
import { Request } from '../../src/protocol/constants.js';
import { cDaemonMissing } from '../support/c-daemon.js';
import { CorosyncCluster } from '../support/corosync-cluster.js';
import { CpgCDaemon } from '../support/cpg-c-daemon.js';
import { CpgPeer, type PeerEvent } from '../support/cpg-peer.js';

/** The one domain of libvirt's built-in test driver, which the C daemon opens in-process. */
const TEST_DOMAIN = { name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f' };
const GHOST = { type: 'store-vm', name: 'ghost', uuid: '11111111-2222-3333-4444-555555555555', owner: 3, state: 1 } as const;
/** Bytes the C daemon never writes: the header's pad, the last byte of v_name and v_uuid, vm_state_t's alignment. */
const UNSET_BY_C: Partial<Record<CpgMessage['type'], number[]>> = {
  request: [12, 13, 14, 15],
  reply: [12, 13, 14, 15],
  'store-vm': [80, 145, 146, 147],
};

const unavailable = CorosyncCluster.unavailable() ?? cDaemonMissing();

const bytesOf = (event: { data: string }): Buffer => Buffer.from(event.data, 'base64');
const decodes = (type: CpgMessage['type']) => (event: { data: string }) => {
  try {
    return decodeCpgMessage(bytesOf(event)).type === type;
  } catch {
    return false;
  }
};

/** Asserts the captured bytes equal our encoding of what they decode to, wherever the C daemon writes. */
function assertSameBytes(captured: Buffer): CpgMessage {
  const message = decodeCpgMessage(captured);
  const ours = encodeCpgMessage(message);
  const unset = UNSET_BY_C[message.type];
  assert.ok(unset, `the C daemon sends no ${message.type}`);
  for (let i = 0; i < captured.length; i++) {
    if (!unset.includes(i)) assert.equal(captured[i], ours[i], `byte ${i} of a ${message.type} from the C daemon`);
  }
  return message;
}

describe('cpg messages against the C daemon', { skip: unavailable }, () => {
  let cluster: CorosyncCluster;
  let peers: CpgPeer[];
  let daemon: CpgCDaemon | undefined;
  const peer3 = (): CpgPeer => peers[1] as CpgPeer;
  const fromC = (event: PeerEvent): boolean => event.event === 'deliver' && event.nodeId === 1;

  before(async () => {
    cluster = await CorosyncCluster.start();
    peers = await Promise.all([2, 3].map((n) => CpgPeer.start(cluster.host(n))));
    for (const p of peers) {
      await p.call('cpg.init');
      await p.call('cpg.join', { group: CPG_GROUP });
    }
    daemon = await CpgCDaemon.start(cluster.host(1));
  });

  after(async () => {
    await daemon?.stop();
    await Promise.all((peers ?? []).map((p) => p.close()));
    await cluster?.cleanup();
  });

  test(`the C daemon joins ${CPG_GROUP} and announces its VM with a STORE_VM we decode byte for byte`, async () => {
    const joined = await peer3().waitFor('confchg', (e) => e.joined.some((a) => a.nodeId === 1), 'the C daemon joining');
    assert.equal(joined.group, CPG_GROUP);
    const store = await peer3().waitFor('deliver', (d) => fromC(d) && decodes('store-vm')(d), 'a STORE_VM from the C daemon');
    assert.deepEqual(assertSameBytes(bytesOf(store)), { type: 'store-vm', ...TEST_DOMAIN, owner: 1, state: 1 });
  });

  test('the C daemon answers our REQUEST with a REPLY we decode byte for byte', async () => {
    const mark = peer3().mark();
    const request: CpgRequest = { type: 'request', seqno: 4242, request: Request.STATUS, vmName: 'test', fenceSeqno: 0 };
    assert.equal(await peer3().call('cpg.mcast', { data: encodeCpgMessage(request).toString('base64') }), true);
    const reply = await peer3().waitFor('deliver', (d) => fromC(d) && decodes('reply')(d), 'the REPLY from the C daemon', mark);
    assert.deepEqual(assertSameBytes(bytesOf(reply)), replyTo(request, 3, 0));
  });

  test('the C daemon takes our STORE_VM, forwards the fence call as a REQUEST, and takes our REPLY as the answer', async () => {
    const markAll = peer3().mark();
    await peer3().call('cpg.mcast', { data: encodeCpgMessage(GHOST).toString('base64') });
    await peer3().waitFor('deliver', (d) => d.nodeId === 3 && decodes('store-vm')(d), 'our STORE_VM delivered', markAll);

    for (const [action, request, response] of [
      ['off', Request.OFF, 0],
      ['status', Request.STATUS, 2],
      ['on', Request.ON, 1],
    ] as const) {
      const mark = peer3().mark();
      const run = (daemon as CpgCDaemon).agent(action, GHOST.name);
      const forwarded = await peer3().waitFor(
        'deliver',
        (d) => fromC(d) && decodes('request')(d),
        `the ${action} REQUEST from the C daemon`,
        mark,
      );
      const captured = assertSameBytes(bytesOf(forwarded)) as CpgRequest;
      assert.equal(captured.request, request);
      assert.equal(captured.vmName, GHOST.name);
      if (action === 'status') assert.equal(captured.fenceSeqno, 0, 'the C daemon sends no seqno with status');
      else assert.notEqual(captured.fenceSeqno, 0, "the agent's seqno travels with off and on");
      await peer3().call('cpg.mcast', { data: encodeCpgMessage(replyTo(captured, forwarded.nodeId, response)).toString('base64') });
      const result = await run;
      assert.equal(result.code, response, `fence_virt -o ${action}: ${result.stdout}${result.stderr}`);
    }
  });
});
