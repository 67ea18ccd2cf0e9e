/**
 * The built daemon with backend = "cpg" on a real corosync cluster of three hosts, one daemon inside
 * each host's network namespace talking to that host's corosync, each over its own libvirt test-driver
 * node (a connection of the shared libvirtd; every connection keeps its own copy of the domains, so a
 * VM's state is asked of the daemon of the host that runs it). Requests come in as guests send them:
 * our fence_virt over TCP to a host's address, fence_xvm by multicast from a guest stand-in in its own
 * namespace on the cluster's network (host 1 alone listens for it), and raw requests on a guest's
 * serial port and on its virtio channel (vmchannel), both on host 1. Steps run in order on one cluster; each leaves it as the next expects.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Request } from '../../src/protocol/index.js';
import { CorosyncCluster, type ClusterGuest } from '../support/corosync-cluster.js';
import { configText } from '../support/daemon-config-text.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { OUR_DAEMON_BUNDLE, REPO, waitUntil, type ToolResult } from '../support/processes.js';
import { GuestLine, GuestPortSocket } from '../support/qemu-stand-ins.js';
import { needsSharedLibvirtd, needsTools } from '../support/requirement.js';
import { nodeXml, type TestDomain } from '../serial/node-xml.js';

const PORT = '1229';
const OUR_AGENT = `${REPO}dist/fence_virt`;
const OUR_XVM_AGENT = `${REPO}dist/fence_xvm`;
const MULTICAST_ADDRESS = '225.0.0.12';
const C_AGENT = '/usr/sbin/fence_virt';
/** The agent's -t: every answer, failures included, must come well within it. */
const AGENT_TIMEOUT_S = 25;
const unavailable = CorosyncCluster.unavailable() ?? needsSharedLibvirtd() ?? needsTools(C_AGENT);

const ALPHA = '6a7e0003-0000-4000-8000-0000000d0101';
const CHARLIE = '6a7e0003-0000-4000-8000-0000000d0301';

/** Exit codes of fence_virt. */
const SUCCESS = 0;
const FAILURE = 1;
const OFF = 2;

describe('the daemon with backend cpg on a corosync cluster of three hosts', { skip: unavailable }, () => {
  let cluster: CorosyncCluster;
  let dir: string;
  let keyFile: string;
  let guestPort: GuestPortSocket;
  let guestChannel: GuestPortSocket;
  let guest: ClusterGuest;
  const daemons = new Map<number, DaemonProcess>();

  /** Host 1 runs alpha, whose serial port and virtio channel are sockets served by this process; host 2 bravo; host 3 charlie. */
  const domains = (sockets: string): Record<number, TestDomain[]> => ({
    1: [{ name: 'alpha', uuid: ALPHA, serial: [join(sockets, 'alpha')], channels: [join(sockets, 'alpha-channel')] }],
    2: [{ name: 'bravo', uuid: '6a7e0003-0000-4000-8000-0000000d0201' }],
    3: [{ name: 'charlie', uuid: CHARLIE }],
  });

  /** fence_virt (ours unless `cAgent`) inside host `nodeId`, asking the daemon at that host's address. */
  async function agent(nodeId: number, action: string, domain: string, cAgent = false): Promise<ToolResult & { ms: number }> {
    const host = cluster.host(nodeId);
    const args = ['-T', host.address, '-p', PORT, '-k', keyFile, '-t', String(AGENT_TIMEOUT_S), '-o', action, '-H', domain];
    const [command, argv] = cAgent ? [C_AGENT, args] : [process.execPath, [OUR_AGENT, ...args]];
    const started = Date.now();
    const result = await host.exec(command, argv, { timeoutMs: (AGENT_TIMEOUT_S + 10) * 1000 });
    return { ...result, ms: Date.now() - started };
  }

  /** Our fence_xvm in the guest stand-in's namespace, by multicast; the daemon that takes it connects back to the guest. */
  async function multicastAgent(action: string, domain: string): Promise<ToolResult & { ms: number }> {
    const args = ['-a', MULTICAST_ADDRESS, '-p', PORT, '-k', keyFile, '-t', String(AGENT_TIMEOUT_S), '-o', action, '-H', domain];
    const started = Date.now();
    const result = await guest.exec(process.execPath, [OUR_XVM_AGENT, ...args], { timeoutMs: (AGENT_TIMEOUT_S + 10) * 1000 });
    return { ...result, ms: Date.now() - started };
  }

  /** The agent's exit code, with its output in the message when it is not `expected`. */
  async function expectCode(nodeId: number, action: string, domain: string, expected: number, cAgent = false): Promise<number> {
    const result = await agent(nodeId, action, domain, cAgent);
    assert.equal(result.code, expected, `${action} ${domain} via host ${nodeId}: ${result.stdout}${result.stderr}\n${logsOf(nodeId)}`);
    assert.ok(result.ms < AGENT_TIMEOUT_S * 1000, `answered after ${result.ms} ms, beyond the agent's timeout`);
    return result.ms;
  }

  const daemon = (nodeId: number): DaemonProcess => daemons.get(nodeId) as DaemonProcess;
  const logsOf = (nodeId: number): string => (daemons.get(nodeId)?.output() ?? '').split('\n').slice(-15).join('\n');
  /** Where each daemon's output stands now: pass to `logSince` to look only at later lines. */
  const mark = (): Map<number, number> => new Map([...daemons].map(([nodeId, d]) => [nodeId, d.output().length]));
  const logSince = (marks: Map<number, number>, nodeId: number): string => daemon(nodeId).output().slice(marks.get(nodeId));

  /** Starts host `nodeId`'s daemon on the configuration before() wrote. */
  function startDaemon(nodeId: number): DaemonProcess {
    const file = join(dir, `fence_virt-${nodeId}.conf`);
    const [command, args] = cluster
      .host(nodeId)
      .wrap(process.execPath, [...OUR_DAEMON_BUNDLE.args, '-F', '-d', '1', '-f', file, '-p', join(dir, `pid-${nodeId}`)]);
    const started = DaemonProcess.start(command, args);
    daemons.set(nodeId, started);
    return started;
  }

  const codeIs = (nodeId: number, action: string, domain: string, code: number) => async () =>
    (await agent(nodeId, action, domain)).code === code;

  before(async () => {
    cluster = await CorosyncCluster.start();
    dir = await mkdtemp(join(tmpdir(), 'fvd-cpg-cluster-'));
    keyFile = join(dir, 'key');
    await writeFile(keyFile, 'cpg cluster daemon key\n', { mode: 0o600 });
    const sockets = join(dir, 'sock');
    await mkdir(sockets);
    guestPort = await GuestPortSocket.listen(join(sockets, 'alpha'));
    guestChannel = await GuestPortSocket.listen(join(sockets, 'alpha-channel'));
    guest = await cluster.addGuest();
    for (const host of cluster.hosts) {
      const node = join(dir, `host${host.nodeId}.xml`);
      await writeFile(node, nodeXml(domains(sockets)[host.nodeId] ?? []));
      const uri = `test+unix://${node}`;
      const listeners: Record<string, Record<string, string>> = { tcp: { address: host.address, port: PORT, key_file: keyFile } };
      if (host.nodeId === 1) {
        listeners.serial = { uri, path: sockets };
        listeners.vmchannel = { uri, path: sockets, module: 'serial', mode: 'vmchannel' };
        listeners.multicast = { address: MULTICAST_ADDRESS, port: PORT, interface: 'eth0', family: 'ipv4', key_file: keyFile };
      }
      const file = join(dir, `fence_virt-${host.nodeId}.conf`);
      await writeFile(file, configText({ listeners, backend: 'cpg', backendUri: uri, backendKeys: { name_mode: 'name' } }), {
        mode: 0o600,
      });
      startDaemon(host.nodeId);
    }
    // Info lines (-d 1) name the node a request was forwarded to and the node that carried it out.
    for (const d of daemons.values()) await d.waitForOutput(/serving with backend cpg/);
    // Every daemon knows every VM once each has announced its own.
    for (const nodeId of [1, 2, 3]) {
      for (const vm of ['alpha', 'bravo', 'charlie'])
        await waitUntil(codeIs(nodeId, 'status', vm, SUCCESS), `host ${nodeId} knowing ${vm}`);
    }
  });

  after(async () => {
    await Promise.all([...daemons.values()].map((d) => d.stop()));
    await guestPort?.close();
    await guestChannel?.close();
    await cluster?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("a request reaching host 1 for host 3's VM is carried out on host 3: status, off, on, reboot by name", async () => {
    await expectCode(1, 'status', 'charlie', SUCCESS);
    const before = mark();
    await expectCode(1, 'off', 'charlie', SUCCESS);
    assert.match(logSince(before, 1), /off 'charlie' \(from 192\.168\.213\.1, seq \d+\): asking node 3, which has the VM/);
    assert.match(logSince(before, 3), /libvirt backend: destroying 'charlie' \(from cpg node 1, seq \d+\)/);
    assert.doesNotMatch(logSince(before, 2), /destroying/);
    // Host 3's own daemon, over host 3's own libvirt connection, sees it off.
    await expectCode(3, 'status', 'charlie', OFF);
    await waitUntil(codeIs(1, 'status', 'charlie', OFF), 'host 1 seeing charlie off');
    await expectCode(1, 'on', 'charlie', SUCCESS);
    await expectCode(3, 'status', 'charlie', SUCCESS);
    await expectCode(1, 'reboot', 'charlie', SUCCESS);
    await expectCode(3, 'status', 'charlie', SUCCESS);
  });

  test('the C fence_virt gets the same answers from our daemon', async () => {
    await expectCode(1, 'status', 'charlie', SUCCESS, true);
    await expectCode(1, 'off', 'bravo', SUCCESS, true);
    await expectCode(2, 'status', 'bravo', OFF, true);
    await waitUntil(codeIs(1, 'status', 'bravo', OFF), 'host 1 seeing bravo off');
    await expectCode(1, 'on', 'bravo', SUCCESS, true);
    await expectCode(2, 'status', 'bravo', SUCCESS);
  });

  test('status, off, on, reboot by UUID: the daemon takes a domain as a name or a UUID, in any case', async () => {
    await waitUntil(codeIs(1, 'status', 'charlie', SUCCESS), 'host 1 seeing charlie running');
    await expectCode(1, 'status', CHARLIE, SUCCESS);
    await expectCode(1, 'off', CHARLIE.toUpperCase(), SUCCESS);
    await expectCode(3, 'status', 'charlie', OFF);
    await waitUntil(codeIs(1, 'status', CHARLIE, OFF), 'host 1 seeing charlie off');
    await expectCode(1, 'on', CHARLIE, SUCCESS);
    await expectCode(3, 'status', 'charlie', SUCCESS);
    await expectCode(1, 'reboot', CHARLIE, SUCCESS);
    await expectCode(3, 'status', 'charlie', SUCCESS);
  });

  /** A guest with no network on host 1 powers off `vm` on `host` through its port, then it is started again. */
  async function airGappedOff(port: GuestPortSocket, listener: string, vm: string, host: number): Promise<void> {
    const line = new GuestLine(await port.connection());
    const before = mark();
    line.send(port.request({ request: Request.OFF, domain: vm }));
    assert.deepEqual(await line.answer(15_000), { code: SUCCESS });
    assert.match(
      logSince(before, 1),
      new RegExp(`audit: listener=${listener} requester=${ALPHA} \\(alpha\\) target="${vm}" op=off seqno=\\d+ result=success`),
    );
    assert.match(logSince(before, host), new RegExp(`libvirt backend: destroying '${vm}' \\(from cpg node 1, seq \\d+\\)`));
    await expectCode(host, 'status', vm, OFF);
    await expectCode(1, 'on', vm, SUCCESS);
    await expectCode(host, 'status', vm, SUCCESS);
  }

  test("a guest without a network powers off host 2's VM through its serial port on host 1", () =>
    airGappedOff(guestPort, 'serial', 'bravo', 2));

  test("a guest without a network powers off host 3's VM through its virtio channel (vmchannel) on host 1", () =>
    airGappedOff(guestChannel, 'vmchannel', 'charlie', 3));

  test("a guest on the network fences host 3's VM by multicast: host 1's daemon takes it, host 3 carries it out", async () => {
    const before = mark();
    const status = await multicastAgent('status', 'charlie');
    assert.equal(status.code, SUCCESS, `${status.stdout}${status.stderr}\n${logsOf(1)}`);
    const off = await multicastAgent('off', 'charlie');
    assert.equal(off.code, SUCCESS, `${off.stdout}${off.stderr}\n${logsOf(1)}`);
    assert.ok(off.ms < AGENT_TIMEOUT_S * 1000, `answered after ${off.ms} ms`);
    assert.match(
      logSince(before, 1),
      new RegExp(
        `audit: listener=multicast requester=${guest.address.replaceAll('.', '\\.')} target="charlie" op=off seqno=\\d+ result=success`,
      ),
    );
    assert.match(logSince(before, 3), /libvirt backend: destroying 'charlie' \(from cpg node 1, seq \d+\)/);
    await expectCode(3, 'status', 'charlie', OFF);
    await waitUntil(async () => (await multicastAgent('status', 'charlie')).code === OFF, 'the guest seeing charlie off');
    // A VM no member has: a failure with its reason, not "off".
    assert.equal((await multicastAgent('status', 'nowhere')).code, FAILURE);
    assert.match(logSince(before, 1), /status 'nowhere' .*: no member of the group has a VM 'nowhere'; answering failure/);
    await expectCode(1, 'on', 'charlie', SUCCESS);
    await expectCode(3, 'status', 'charlie', SUCCESS);
  });

  test("with host 2's daemon killed, requests for its VMs fail at once, never succeed; a new daemon there serves them again", async () => {
    const before = mark();
    process.kill(daemon(2).pid, 'SIGKILL');
    await waitUntil(() => !daemon(2).running, 'the daemon on host 2 gone');
    const offMs = await expectCode(1, 'off', 'bravo', FAILURE);
    assert.match(
      logSince(before, 1),
      /off 'bravo' .*: (node 2, which has the VM, left the group|no member of the group has a VM 'bravo'); answering failure/,
    );
    await expectCode(3, 'status', 'bravo', FAILURE);
    assert.ok(offMs < 5_000, `off answered after ${offMs} ms`);
    await startDaemon(2).waitForOutput(/serving with backend cpg/);
    await waitUntil(codeIs(1, 'status', 'bravo', SUCCESS), 'host 1 knowing bravo again');
    await expectCode(3, 'off', 'bravo', SUCCESS);
    await expectCode(2, 'status', 'bravo', OFF);
    await expectCode(3, 'on', 'bravo', SUCCESS);
  });

  test("with host 2's daemon stopped (SIGSTOP), a request for its VM fails at the default 20 s deadline, within the agent's timeout", async (t) => {
    const before = mark();
    process.kill(daemon(2).pid, 'SIGSTOP');
    let offMs: number;
    try {
      offMs = await expectCode(1, 'off', 'bravo', FAILURE);
    } finally {
      process.kill(daemon(2).pid, 'SIGCONT');
    }
    t.diagnostic(`off answered 1 after ${offMs} ms`);
    assert.ok(offMs >= 19_000, `answered after ${offMs} ms, before the deadline`);
    assert.match(logSince(before, 1), /off 'bravo' .*: node 2 did not answer within 20000 ms; answering failure/);
    // Resumed, host 2 still carries the request out: a failure after the deadline does not mean that
    // nothing was done, only that it was not proved in time.
    await waitUntil(codeIs(2, 'status', 'bravo', OFF), 'host 2 acting once resumed');
    await waitUntil(codeIs(1, 'status', 'bravo', OFF), 'host 1 seeing bravo off');
    await expectCode(1, 'on', 'bravo', SUCCESS);
  });

  test("with host 3's corosync killed, requests for its VMs fail within the agent's timeout, never succeed", async (t) => {
    const before = mark();
    await cluster.host(3).kill();
    // At once, before the others may have noticed: the answer must still be a failure.
    const offMs = await expectCode(1, 'off', 'charlie', FAILURE);
    assert.match(
      logSince(before, 1),
      /off 'charlie' .*: (node 3, which has the VM, left the group|no member of the group has a VM 'charlie'); answering failure/,
    );
    const statusMs = await expectCode(2, 'status', 'charlie', FAILURE);
    const rebootMs = await expectCode(1, 'reboot', CHARLIE, FAILURE);
    // Host 3 itself is out of the group: it refuses too, its own VM included.
    const ownMs = await expectCode(3, 'off', 'charlie', FAILURE);
    assert.match(logSince(before, 3), /off 'charlie' .*not a member of the group.*answering failure/);
    t.diagnostic(`failures answered in ${offMs} ms (off at once after the kill), ${statusMs}, ${rebootMs}, ${ownMs} (host 3 itself) ms`);
    assert.doesNotMatch(logSince(before, 3), /destroying|starting/, 'host 3 touched nothing');
    assert.ok(daemon(3).running, 'the daemon on host 3 outlives its corosync');
    // Back: host 3 rejoins on its own, and charlie was never touched.
    await cluster.host(3).start();
    await cluster.host(3).waitForQuorum(true, 60_000);
    await waitUntil(codeIs(1, 'status', 'charlie', SUCCESS), 'host 1 knowing charlie again', 60_000);
    await expectCode(3, 'status', 'charlie', SUCCESS);
  });

  test('a host cut off from the others refuses to fence; the majority carries on', async () => {
    await cluster.host(3).setLink(false);
    try {
      await cluster.host(3).waitForQuorum(false);
      const before = mark();
      await expectCode(3, 'off', 'charlie', FAILURE);
      assert.match(logSince(before, 3), /off 'charlie' .*: this partition has no quorum; answering failure/);
      await expectCode(3, 'status', 'alpha', FAILURE);
      // The majority serves its own VMs and does not lie about host 3's: neither "off" nor fenced.
      await expectCode(1, 'status', 'bravo', SUCCESS);
      await expectCode(1, 'status', 'charlie', FAILURE);
      await expectCode(2, 'off', 'charlie', FAILURE);
      assert.doesNotMatch(logSince(before, 3), /destroying/);
    } finally {
      await cluster.host(3).setLink(true);
    }
    await cluster.host(3).waitForQuorum(true, 60_000);
    await waitUntil(codeIs(3, 'status', 'charlie', SUCCESS), 'host 3 serving again, charlie untouched', 60_000);
  });

  test("with host 3's corosync stopped (SIGSTOP): failures within the agent's timeout, never success; SIGTERM still stops the daemons at once", async (t) => {
    const host = cluster.host(3);
    const before = mark();
    host.signal('SIGSTOP');
    try {
      // Host 3 cannot prove quorum with its corosync silent: even its own VM is refused, after the
      // deadline on the call into corosync, and host 3 drops out of the group.
      const ownMs = await expectCode(3, 'off', 'charlie', FAILURE);
      assert.match(
        logSince(before, 3),
        /off 'charlie' .*: corosync did not answer votequorum_getinfo within 5000 ms .*; answering failure/,
      );
      const nextMs = await expectCode(3, 'status', 'alpha', FAILURE);
      assert.match(logSince(before, 3), /status 'alpha' .*: not a member of the group .*; answering failure/);
      // The others have seen host 3 go: its VM has no owner; their own VMs are served as before.
      const otherMs = await expectCode(1, 'off', 'charlie', FAILURE);
      await expectCode(2, 'status', 'charlie', FAILURE);
      await expectCode(1, 'status', 'bravo', SUCCESS);
      assert.doesNotMatch(logSince(before, 3), /destroying|starting/, 'host 3 touched nothing');
      t.diagnostic(`host 3: ${ownMs} ms (its own VM), then ${nextMs} ms; host 1 for host 3's VM: ${otherMs} ms`);

      // The daemon whose corosync is stopped, and an idle one whose corosync runs, both stop at once.
      for (const nodeId of [3, 1]) {
        const started = Date.now();
        await daemon(nodeId).stop();
        const stopMs = Date.now() - started;
        t.diagnostic(`daemon ${nodeId} stopped ${stopMs} ms after SIGTERM`);
        assert.ok(stopMs < 5_000, `daemon ${nodeId} took ${stopMs} ms to stop`);
        assert.match(daemon(nodeId).output(), /SIGTERM received; stopping/);
      }
    } finally {
      host.signal('SIGCONT');
    }
  });
});
