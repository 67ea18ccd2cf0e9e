/**
 * Real AF_VSOCK connections, inside one TCG guest whose vsock core has only the loopback transport:
 * there CID 1 is the guest itself, and the guest has no virtio-vsock device, so nothing leaves it.
 * Everywhere else the suite only binds and listens. Inside the guest (host root over 9p, a libvirtd of
 * its own with the test driver on test/fixtures/vsock/node.xml):
 * - the addon, through src/native/vsock.ts (guest-tools/vsock-probe.ts);
 * - the C fence_virtd's vsock listener with the C fence_virt -S (the reference) and ours;
 * - our daemon's vsock listener with both agents: the same exit codes and stdout as C against C, and
 *   the requester it sees;
 * - protocol version 2: ours against ours speaks it, anything with C speaks version 1, and policy "2"
 *   on either side refuses a version 1 peer without fencing anything.
 * One boot for everything: the guest runs emulated, where a Node start alone takes some 5 s.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { comparable } from '../agent/agents.js';
import { cDaemonMissing } from '../support/c-daemon.js';
import { configText } from '../support/daemon-config-text.js';
import { skipBecause } from '../support/requirement.js';
import { GuestBed, qemuUnavailableReason, repoRoot, shellCommand } from './harness.js';
import type { ProbeReport } from './guest-tools/vsock-probe.js';
import { bundleGuestTool, PROGRAMS, VsockGuest, type AgentResult, type Implementation } from './vsock-guest.js';

const bundlesMissing = ['dist/fence_virt', 'dist/fence_virtd'].find((f) => !existsSync(join(repoRoot, f)));
const skip =
  (await qemuUnavailableReason()) ??
  cDaemonMissing() ??
  (bundlesMissing === undefined ? undefined : skipBecause(`${bundlesMissing} is missing (run npm run build)`));

const NODE_XML = join(repoRoot, 'test/fixtures/vsock/node.xml');
const VM_A_UUID = 'd0000000-0000-4000-8000-00000000000a';
const VM_B_UUID = 'd0000000-0000-4000-8000-00000000000b';
/** The fence_virt default, and what both daemons listen on. */
const PORT = 1229;
/** Our daemon's second vsock listener, with protocol = "2". */
const STRICT_PORT = 1230;
const PROBE_PORT = 5000;
/** What the groups show CID 1: vm-c by name, vm-b by UUID. */
const LIST_FOR_CID_1 =
  'vm-b                             d0000000-0000-4000-8000-00000000000b on\n' +
  'vm-c                             d0000000-0000-4000-8000-00000000000c on\n';

/** One agent call; `key` picks the key file the agent signs with. */
interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly key?: 'right' | 'wrong';
}

/**
 * The agents connect to CID 2, the host, as in any guest: both refuse CID 1 ("-S1"), and "-S 1" is a
 * bare -S (CID 2) followed by a stray word. Without a guest-to-host transport the guest's loopback
 * carries CID 2 as well, and the daemon sees the peer as CID 1.
 */
const TO_HOST = '-S2';

/**
 * Run in this order by each agent against each daemon; every run leaves vm-c running again. The groups
 * below decide vm-a's and vm-b's cases: the requester is CID 1, which no domain can hold.
 */
const CASES: readonly Case[] = [
  { name: 'list', args: ['-o', 'list'] },
  { name: 'status of running vm-c', args: ['-o', 'status', '-H', 'vm-c'] },
  { name: 'off vm-c', args: ['-o', 'off', '-H', 'vm-c'] },
  { name: 'status of vm-c, now off', args: ['-o', 'status', '-H', 'vm-c'] },
  { name: 'on vm-c', args: ['-o', 'on', '-H', 'vm-c'] },
  { name: 'reboot vm-c', args: ['-o', 'reboot', '-H', 'vm-c'] },
  { name: 'status of vm-c after the reboot', args: ['-o', 'status', '-H', 'vm-c'] },
  { name: 'status of vm-b by UUID (granted to CID 1)', args: ['-o', 'status', '-H', VM_B_UUID] },
  { name: 'off vm-a (granted only to vm-a itself)', args: ['-o', 'off', '-H', 'vm-a'] },
  { name: 'wrong key', args: ['-o', 'status', '-H', 'vm-c'], key: 'wrong' },
  { name: 'weak hash (sha1 below the sha256 minimum)', args: ['-c', 'sha1', '-o', 'status', '-H', 'vm-c'] },
];

type Outcomes = Map<string, AgentResult>;

/** The audit lines of a daemon log. */
function auditLines(log: string): string[] {
  return [...log.matchAll(/audit: .*$/gm)].map((m) => m[0]);
}

describe('real vsock inside a guest (loopback transport, CID 1)', { skip, timeout: 20 * 60_000 }, () => {
  let bed: GuestBed;
  let guest: VsockGuest;
  let keys: Record<'right' | 'wrong', string>;
  let config: string;
  /** Ours: the same listener as the C daemon's, and a second one that requires protocol version 2. */
  let ourConfig: string;
  /** Outcomes by `${agent}>${daemon}`, e.g. "c>ours" for the C agent against our daemon. */
  const outcomes = new Map<string, Outcomes>();

  before(async () => {
    bed = await GuestBed.create();
    guest = await VsockGuest.start(bed);
    keys = { right: await guest.file('key', randomBytes(256)), wrong: await guest.file('wrong-key', randomBytes(256)) };
    const vsock = { port: String(PORT), key_file: keys.right, hash: 'sha256', auth: 'sha256' };
    const common = {
      backendUri: `test+unix://${NODE_XML}`,
      groups: [
        // C's rule and ours: a vsock requester's CID is matched against `ip` entries.
        { name: 'cid-1', ip: ['1'], uuid: ['vm-c', VM_B_UUID] },
        // A member only through the UUID of the running domain holding the peer's CID: vm-a (CID 5).
        { name: 'vm-a-itself', uuid: [VM_A_UUID, 'vm-a'] },
      ],
    };
    config = await guest.file('fence_virt.conf', configText({ listeners: { vsock }, ...common }));
    ourConfig = await guest.file(
      'ours.conf',
      configText({
        listeners: { vsock, strict: { ...vsock, module: 'vsock', port: String(STRICT_PORT), protocol: '2' } },
        ...common,
      }),
    );
  });
  after(() => bed?.cleanup());

  async function runCases(agent: Implementation, daemon: Implementation): Promise<Outcomes> {
    const results: Outcomes = new Map();
    for (const c of CASES) {
      results.set(c.name, await guest.agent(agent, [TO_HOST, '-k', keys[c.key ?? 'right'], ...c.args]));
    }
    outcomes.set(`${agent}>${daemon}`, results);
    return results;
  }

  /** Exit code and stdout (without the C agent's noise), case by case, against C against C. */
  function assertSameAsC(pair: string): void {
    const reference = outcomes.get('c>c');
    const actual = outcomes.get(pair);
    assert.ok(reference && actual, `the runs of c>c and ${pair} are missing: an earlier test failed`);
    for (const { name } of CASES) {
      const c = reference.get(name) as AgentResult;
      const ours = actual.get(name) as AgentResult;
      assert.deepEqual(
        { code: ours.code, stdout: comparable('fence_virt', ours.stdout) },
        { code: c.code, stdout: comparable('fence_virt', c.stdout) },
        `${pair}, case "${name}"\nC>C stderr: ${c.stderr}\n${pair} stderr: ${ours.stderr}`,
      );
    }
  }

  it('the addon: connect, accept with the peer CID, 1 MiB each way, EADDRINUSE, refusal, vanishing peers, no fd left', async (t) => {
    const probe = await bundleGuestTool('test/guests/guest-tools/vsock-probe.ts');
    t.after(probe.remove);
    const output = await guest.run(
      shellCommand([process.execPath, probe.file, String(PROBE_PORT), PROGRAMS.c.agent[0] as string, keys.right]),
      'the vsock probe',
    );
    const report = JSON.parse(output.trim().split('\n').at(-1) ?? '') as ProbeReport;
    assert.equal(report.localCid, 1, "the loopback transport is the only one, so its CID is the guest's");
    assert.equal(report.exchange.peer.cid, 1);
    assert.ok(
      Number.isInteger(report.exchange.peer.port) && report.exchange.peer.port !== PROBE_PORT,
      `peer port ${report.exchange.peer.port}`,
    );
    assert.deepEqual([report.exchange.bytes, report.exchange.same], [1 << 20, true]);
    assert.equal(report.secondListener, 'EADDRINUSE');
    assert.equal(report.refused, 'ECONNRESET');
    // Request and challenge arrive; then the end of the stream, and a write fails with EPIPE.
    const { peer, ...agentGone } = report.agentGone;
    assert.equal(peer.cid, 1);
    assert.deepEqual(agentGone, { received: 176 + 64, end: 'eof', unread: 0, write: 'EPIPE' });
    assert.deepEqual(report.serverGone, { end: 'eof', unread: 0, write: 'EPIPE' });
    assert.deepEqual(report.afterClose, { connect: 'ECONNRESET', listenAgain: 'none' });
    assert.deepEqual(report.leakedFds, []);
  });

  describe("the C daemon's vsock listener", () => {
    before(() =>
      guest.startService('c-daemon', PORT, [...PROGRAMS.c.daemon, '-F', '-f', config, '-p', '/run/tmp/c-daemon.pid', '-d', '3']),
    );
    after(() => guest.stopService('c-daemon'));

    it('answers the C fence_virt -S (the reference)', async () => {
      const results = await runCases('c', 'c');
      assert.equal(results.get('list')?.code, 0, results.get('list')?.stderr);
    });

    it('answers our fence_virt -S exactly as it answers the C agent', async () => {
      await runCases('ours', 'c');
      assertSameAsC('ours>c');
    });

    it('refuses our fence_virt -S --protocol=2 (it answers in version 1) and fences nothing', async () => {
      const off = await guest.agent('ours', [TO_HOST, '-k', keys.right, '--protocol=2', '-o', 'off', '-H', 'vm-c']);
      assert.notEqual(off.code, 0, off.stderr);
      assert.match(off.stderr, /downgrade refused: the daemon answered in protocol version 1/);
      const status = await guest.agent('c', [TO_HOST, '-k', keys.right, '-o', 'status', '-H', 'vm-c']);
      assert.deepEqual({ code: status.code, stdout: status.stdout }, { code: 0, stdout: 'Status: ON\n' }, status.stderr);
    });
  });

  describe("our daemon's vsock listener", () => {
    before(() =>
      guest
        .startService('our-daemon', PORT, [...PROGRAMS.ours.daemon, '-F', '-f', ourConfig, '-p', '/run/tmp/our-daemon.pid', '-d', '2'])
        .then(() => guest.waitForListener('our-daemon', STRICT_PORT)),
    );
    after(() => guest.stopService('our-daemon'));

    it('answers our fence_virt -S: list, status, off, on, reboot; wrong key and weak hash refused', async () => {
      const results = await runCases('ours', 'ours');
      const outcome = (name: string) => {
        const r = results.get(name) as AgentResult;
        return { code: r.code, stdout: r.stdout };
      };
      assert.deepEqual(outcome('list'), { code: 0, stdout: LIST_FOR_CID_1 });
      assert.deepEqual(outcome('status of running vm-c'), { code: 0, stdout: 'Status: ON\n' });
      assert.deepEqual(outcome('off vm-c'), { code: 0, stdout: '' });
      assert.deepEqual(outcome('status of vm-c, now off'), { code: 2, stdout: 'Status: OFF\n' });
      assert.deepEqual(outcome('on vm-c'), { code: 0, stdout: '' });
      assert.deepEqual(outcome('reboot vm-c'), { code: 0, stdout: '' });
      assert.deepEqual(outcome('status of vm-c after the reboot'), { code: 0, stdout: 'Status: ON\n' });
      assert.deepEqual(outcome('status of vm-b by UUID (granted to CID 1)'), { code: 0, stdout: 'Status: ON\n' });
      assert.deepEqual(outcome('off vm-a (granted only to vm-a itself)'), { code: 3, stdout: 'Permission denied\n' });
      assert.deepEqual(outcome('wrong key'), { code: 1, stdout: 'Invalid response to challenge\nOperation failed\n' });
      assert.deepEqual(outcome('weak hash (sha1 below the sha256 minimum)'), {
        code: 1,
        stdout: 'Invalid response to challenge\nOperation failed\n',
      });

      const log = await guest.serviceLog('our-daemon');
      for (const op of ['off', 'on', 'reboot']) {
        assert.match(log, new RegExp(`audit: listener=vsock requester=cid 1 target="vm-c" op=${op} seqno=\\d+ result=success`));
      }
      assert.match(log, /dropping request from cid 1: key mismatch/);
      assert.match(log, /dropping request from cid 1: .*sha1/);
      // Negotiated without being asked for: every answered request went over protocol version 2.
      const audits = auditLines(log);
      assert.ok(audits.length >= 9, audits.join('\n'));
      assert.deepEqual(
        audits.filter((line) => !line.endsWith(' protocol=2')),
        [],
      );
    });

    it('answers the C fence_virt -S as the C daemon does, in protocol version 1', async () => {
      const before = auditLines(await guest.serviceLog('our-daemon')).length;
      await runCases('c', 'ours');
      assertSameAsC('c>ours');
      // The same answers over version 2 (ours against ours) as over version 1 (C against C).
      assertSameAsC('ours>ours');
      const audits = auditLines(await guest.serviceLog('our-daemon')).slice(before);
      assert.ok(audits.length >= 9, audits.join('\n'));
      assert.deepEqual(
        audits.filter((line) => !line.endsWith(' protocol=1')),
        [],
      );
    });

    it('sees the requester as CID 1, which no domain holds: only the ip = "1" group applies', async () => {
      const log = await guest.serviceLog('our-daemon');
      // The CID table from the live XML of the running domains, through the guest's libvirtd: the
      // shut-off vm-off (CID 9) and vm-next (CID 5, like vm-a) hold none.
      assert.match(log, new RegExp(`vsock CIDs on test\\+unix://${NODE_XML.replace(/[.+]/g, '\\$&')}: 5=vm-a, 7=vm-b\\n`));
      // Every request came from CID 1 and none was credited a domain ("cid 1 (name)").
      const requesters = new Set([...log.matchAll(/audit: listener=vsock requester=(.*?) target=/g)].map((m) => m[1]));
      assert.deepEqual([...requesters], ['cid 1']);
      assert.match(log, /audit: listener=vsock requester=cid 1 target="vm-a" op=off seqno=\d+ result=permission-denied /);
      // And no domain can: libvirt refuses a guest CID below 3, so no XML names CID 1.
      const domain = await guest.file(
        'cid-1-domain.xml',
        `<domain type='test'><name>vm-cid1</name><memory>65536</memory><os><type>hvm</type></os>` +
          `<devices><vsock model='virtio'><cid auto='no' address='1'/></vsock></devices></domain>`,
        0o644,
      );
      const define = await guest.exec(shellCommand(['virsh', '-c', 'test+unix:///default', 'define', domain]));
      assert.notEqual(define.exitCode, 0);
      assert.match(define.output, /guest CIDs must be >= 3/);
    });

    it('delivers host lists without a warning, though the agents close before the code that follows them', async () => {
      for (let i = 0; i < 5; i++) {
        const list = await guest.agent('c', [TO_HOST, '-k', keys.right, '-o', 'list']);
        assert.deepEqual({ code: list.code, stdout: list.stdout }, { code: 0, stdout: LIST_FOR_CID_1 });
      }
      const log = await guest.serviceLog('our-daemon');
      assert.doesNotMatch(log, /could not deliver/);
    });

    it('with protocol = "2" refuses the C fence_virt -S and fences nothing; our agent gets version 2 there', async () => {
      const off = await guest.agent('c', [TO_HOST, '-p', String(STRICT_PORT), '-k', keys.right, '-o', 'off', '-H', 'vm-c']);
      assert.notEqual(off.code, 0, off.stdout);
      const log = await guest.serviceLog('our-daemon');
      assert.match(log, /dropping request from cid 1: it speaks protocol version 1 and this listener requires version 2/);
      assert.doesNotMatch(log, /audit: listener=strict /);
      // vm-c still runs (asked of the auto listener, which shares the daemon's backend).
      const status = await guest.agent('c', [TO_HOST, '-k', keys.right, '-o', 'status', '-H', 'vm-c']);
      assert.deepEqual({ code: status.code, stdout: status.stdout }, { code: 0, stdout: 'Status: ON\n' }, status.stderr);

      const ours = await guest.agent('ours', [TO_HOST, '-p', String(STRICT_PORT), '-k', keys.right, '-o', 'status', '-H', 'vm-c']);
      assert.deepEqual({ code: ours.code, stdout: ours.stdout }, { code: 0, stdout: 'Status: ON\n' }, ours.stderr);
      assert.match(
        await guest.serviceLog('our-daemon'),
        /audit: listener=strict requester=cid 1 target="vm-c" op=status .*result=on .*protocol=2$/m,
      );
    });
  });
});
