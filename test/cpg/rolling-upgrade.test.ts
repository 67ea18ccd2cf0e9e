/**
 * A rolling upgrade: host 1 still runs the C fence_virtd with its cpg backend (libvirt's in-process
 * test:///default, one VM "test"), hosts 2 and 3 run our cpg backend. Requests cross in both directions
 * and every answer is the owner's.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { HostList } from '../../src/backends/backend.js';
import type { CpgBackendOptions } from '../../src/backends/cpg/backend.js';
import { DomainState } from '../../src/protocol/constants.js';
import { needsSharedLibvirtd } from '../support/requirement.js';
import { cDaemonMissing } from '../support/c-daemon.js';
import { CorosyncCluster } from '../support/corosync-cluster.js';
import { CpgCDaemon } from '../support/cpg-c-daemon.js';
import { BACKEND_PEER, CpgPeer } from '../support/cpg-peer.js';
import { waitUntil } from '../support/processes.js';

const OPTIONS: CpgBackendOptions = { nameMode: 'name', forwardTimeoutMs: 5_000, hostListTimeoutMs: 2_000 };
const unavailable = CorosyncCluster.unavailable() ?? needsSharedLibvirtd() ?? cDaemonMissing();
const uriOf = (nodeId: number): string => `test://${fileURLToPath(new URL(`../fixtures/cpg/host${nodeId}.xml`, import.meta.url))}`;

describe('a cluster upgraded one host at a time: the C daemon and ours in one group', { skip: unavailable }, () => {
  let cluster: CorosyncCluster;
  let cDaemon: CpgCDaemon | undefined;
  const ours = new Map<number, CpgPeer>();
  const on = (nodeId: number): CpgPeer => ours.get(nodeId) as CpgPeer;
  const ask = (nodeId: number, op: string, domain: string) => on(nodeId).call<number>(op, { domain }, 30_000);

  before(async () => {
    cluster = await CorosyncCluster.start();
    cDaemon = await CpgCDaemon.start(cluster.host(1));
    for (const nodeId of [2, 3]) {
      const peer = await CpgPeer.start(cluster.host(nodeId), BACKEND_PEER);
      ours.set(nodeId, peer);
      await peer.call('start', { uri: uriOf(nodeId), options: OPTIONS }, 30_000);
    }
  });

  after(async () => {
    await cDaemon?.stop();
    await Promise.all([...ours.values()].map((p) => p.close()));
    await cluster?.cleanup();
  });

  test("our hosts learn the C host's VM from its announcements and fence it through it", async () => {
    await waitUntil(async () => (await ask(2, 'status', 'test')) === 0, "host 2 knowing the C host's VM");
    assert.equal(await ask(2, 'off', 'test'), 0);
    assert.equal(await ask(3, 'status', 'test'), 2, 'the C daemon reports it off');
    assert.equal(await ask(3, 'on', 'test'), 0);
    assert.equal(await ask(2, 'status', 'test'), 0);
    // The C daemon's own log says it answered (it prints our u32 seqno as a signed int).
    await (cDaemon as CpgCDaemon).process.waitForOutput(/\[test\] sending reply code seq -?\d+ -> 0/, 10_000);
  });

  test('the C daemon fences a VM of our hosts: its request reaches the owner, whose reply it takes', async () => {
    const agent = (cDaemon as CpgCDaemon).agent.bind(cDaemon);
    assert.equal((await agent('off', 'bravo')).code, 0);
    assert.equal(await on(2).call('state', { domain: 'bravo' }), DomainState.SHUTOFF);
    assert.equal((await agent('status', 'bravo')).code, 2);
    assert.equal((await agent('on', 'bravo')).code, 0);
    assert.equal(await on(2).call('state', { domain: 'bravo' }), DomainState.RUNNING);
    assert.equal((await agent('status', 'charlie')).code, 0, 'host 3 answers for its own VM');
  });

  test('a C request for a VM nobody has gets a failure from our highest node instead of hanging', async () => {
    const mark = on(3).mark();
    const result = await (cDaemon as CpgCDaemon).agent('off', 'nowhere');
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(
      on(3)
        .eventsOf('log', mark)
        .map((e) => e.line)
        .join('\n'),
      /off 'nowhere' for node 1: no member of the group has a VM 'nowhere'; answering failure as the highest node/,
    );
  });

  test('the host list names every VM, with code 1: the C host cannot answer the query', async () => {
    const list = await on(2).call<HostList>('hostList');
    assert.equal(list.code, 1);
    assert.deepEqual(
      list.hosts.map((h) => h.name),
      ['bravo', 'bravo-off', 'charlie', 'shared', 'test'],
    );
  });
});
