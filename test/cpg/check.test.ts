/**
 * `fence_virtd --check` with backend = "cpg" on a real corosync cluster of three hosts: the check runs
 * inside a host (it sees that host's corosync), and process-group members are real corosync clients
 * (test/support/cpg-peer-process.ts) that join the group `fence-agents` as a daemon would. Steps run in
 * order on one cluster; each leaves it as the next expects.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CorosyncCluster, type CorosyncHost } from '../support/corosync-cluster.js';
import { CpgPeer } from '../support/cpg-peer.js';
import { configText } from '../support/daemon-config-text.js';
import { OUR_DAEMON_BUNDLE } from '../support/processes.js';
import { needsSharedLibvirtd } from '../support/requirement.js';

const QUORUM = 'backend cpg (corosync)';
const GROUP = 'backend cpg (process group fence-agents)';
const unavailable = CorosyncCluster.unavailable() ?? needsSharedLibvirtd();

interface CheckLine {
  verdict: string;
  text: string;
}

describe('--check with backend cpg on a corosync cluster of three hosts', { skip: unavailable }, () => {
  let cluster: CorosyncCluster;
  let dir: string;
  const peers: CpgPeer[] = [];

  before(async () => {
    cluster = await CorosyncCluster.start();
    dir = await mkdtemp(join(tmpdir(), 'fvd-cpg-check-'));
    await writeFile(join(dir, 'key'), randomBytes(256), { mode: 0o600 });
  });

  after(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await cluster?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs the check inside `host`: its exit code, how long it took, and its two cpg lines. */
  async function check(
    host: CorosyncHost,
  ): Promise<{ code: number | null; ms: number; quorum?: CheckLine; group?: CheckLine; output: string }> {
    const file = join(dir, `fence_virt-${host.nodeId}.conf`);
    const listeners = { tcp: { address: host.address, port: '1229', key_file: join(dir, 'key') } };
    await writeFile(file, configText({ listeners, backend: 'cpg', backendUri: 'test+unix:///default' }), { mode: 0o600 });
    const started = Date.now();
    const result = await host.exec(process.execPath, [...OUR_DAEMON_BUNDLE.args, '--check', '-f', file], { timeoutMs: 60_000 });
    const lineOf = (subject: string): CheckLine | undefined => {
      const m = new RegExp(`^(OK|WARN|FAIL) +${subject.replace(/[()]/g, '\\$&')}: (.*)$`, 'm').exec(result.stdout);
      return m ? { verdict: m[1] as string, text: m[2] as string } : undefined;
    };
    return {
      code: result.code,
      ms: Date.now() - started,
      quorum: lineOf(QUORUM),
      group: lineOf(GROUP),
      output: result.stdout + result.stderr,
    };
  }

  /** A member of the group on `host`, as a daemon would be. */
  async function member(host: CorosyncHost): Promise<CpgPeer> {
    const peer = await CpgPeer.start(host);
    peers.push(peer);
    await peer.call('cpg.init');
    await peer.call('cpg.join', { group: 'fence-agents' });
    // The join is done once the peer has seen its own arrival (delivered after cpg_join returns).
    await peer.waitFor('confchg', (e) => e.joined.some((a) => a.pid === peer.pid), 'its own join');
    return peer;
  }

  test('an empty group: corosync and quorum are fine, and every node is named as missing its daemon', async () => {
    const run = await check(cluster.host(1));
    assert.equal(run.quorum?.verdict, 'OK', run.output);
    assert.match(run.quorum.text, /^corosync answers; node 1 is in a quorate partition \(3 of 3 votes; members: nodes 1, 2, 3\)$/);
    assert.equal(run.group?.verdict, 'WARN', run.output);
    assert.match(run.group.text, /^no members; nodes 1, 2, 3 \(this host, node 1, included\) are in the cluster without a fence_virtd/);
    assert.match(run.group.text, /\| fix: start fence_virtd with backend = "cpg" on nodes 1, 2, 3/);
    assert.equal(run.code, 0, `a warning does not fail the check:\n${run.output}`);
  });

  test('members on two hosts: the check names them with their PIDs, and the host without one', async () => {
    const one = await member(cluster.host(1));
    const two = await member(cluster.host(2));
    const run = await check(cluster.host(3));
    assert.equal(run.group?.verdict, 'WARN', run.output);
    assert.match(
      run.group.text,
      new RegExp(
        `^members: node 1 \\(pid ${one.pid}\\), node 2 \\(pid ${two.pid}\\); node 3 \\(this host, node 3, included\\) is in the cluster`,
      ),
    );
    assert.match(run.group.text, /\| fix: start fence_virtd with backend = "cpg" on node 3 /);
  });

  test('a member on every host: OK; the check itself joins nothing', async () => {
    const three = await member(cluster.host(3));
    const mark = three.mark();
    const run = await check(cluster.host(2));
    assert.equal(run.group?.verdict, 'OK', run.output);
    assert.match(
      run.group.text,
      /^members: node 1 \(pid \d+\), node 2 \(pid \d+\), node 3 \(pid \d+\): every cluster member has its daemon in the group$/,
    );
    assert.deepEqual(three.eventsOf('confchg', mark), [], 'no member saw the check come or go');
    assert.equal(run.code, 0, run.output);
  });

  test('two processes in the group on one host are named', async () => {
    const extra = await member(cluster.host(2));
    const run = await check(cluster.host(1));
    assert.equal(run.group?.verdict, 'WARN', run.output);
    const pids = /node 2 \(pid (\d+), (\d+)\)/.exec(run.group.text)?.slice(1).map(Number);
    assert.ok(pids?.includes(extra.pid), `both of node 2's processes are named: ${run.group.text}`);
    assert.match(run.group.text, /: node 2 has more than one process in the group/);
    assert.match(run.group.text, /\| fix: run one fence_virtd per host/);
    await extra.close();
  });

  test('a host cut off from the others fails the check: no quorum', async () => {
    await cluster.host(3).setLink(false);
    try {
      await cluster.host(3).waitForQuorum(false);
      const run = await check(cluster.host(3));
      assert.equal(run.code, 1, run.output);
      assert.equal(run.quorum?.verdict, 'FAIL', run.output);
      assert.match(run.quorum.text, /^node 3 is in a partition without quorum \(1 of 3 votes\)/);
    } finally {
      await cluster.host(3).setLink(true);
    }
    await cluster.host(3).waitForQuorum(true, 60_000);
  });

  test('a stopped corosync (SIGSTOP) fails the check within its deadline instead of hanging it', async () => {
    cluster.host(1).signal('SIGSTOP');
    let run;
    try {
      run = await check(cluster.host(1));
    } finally {
      cluster.host(1).signal('SIGCONT');
    }
    assert.equal(run.code, 1, run.output);
    assert.equal(run.quorum?.verdict, 'FAIL', run.output);
    assert.match(run.quorum.text, /^corosync does not answer: corosync did not answer votequorum_initialize within 5000 ms/);
    assert.equal(run.group, undefined, 'no group line without corosync');
    assert.ok(run.ms < 15_000, `the check took ${run.ms} ms`);
  });
});
