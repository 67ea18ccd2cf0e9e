/**
 * Version 2 over IPv6 multicast (ff05::3:1 on a veth pair whose two ends are both inside the test's
 * network namespace, as in test/daemon/multicast-ipv6.test.ts): our fence_xvm fences through our
 * daemon's listeners with protocol = "2" and "auto", binding the exchange to an IPv6 connect-back
 * address; the C fence_xvm, which speaks version 1 only, is refused by the "2" listener and nothing is
 * fenced, while the "auto" listener answers it in version 1. The VMs live on the default node of a
 * private libvirtd, which every connection to it shares, so the test reads their state from libvirt
 * itself, not from the agents' exit codes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { DomainState } from '../../src/protocol/index.js';
import { C_AGENT, runC, runOurs } from '../agent/agents.js';
import { OurDaemon } from '../security/our-daemon.js';
import { configText } from '../support/daemon-config-text.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { runTool, waitUntil, type ToolResult } from '../support/processes.js';
import { needsTools } from '../support/requirement.js';
import { domainXml } from '../serial/node-xml.js';
import { show } from './agent-run.js';

const run = promisify(execFile);
const ip = (...args: string[]) => run('ip', args);
const VETH = ['fv2v6a', 'fv2v6b'] as const;
// Two runs of zero words: the text both ends put into the transcript must be the same compressed form.
const V6 = ['fd00:0:0:2::a', 'fd00:0:0:2::b'] as const;
const PORT = { strict: 32201, auto: 32202 };
const VM = { strict: 'v6-strict', auto: 'v6-auto', refused: 'v6-refused' } as const;
const KEY = Buffer.from('protocol v2 over ipv6 multicast\n');

const skip = PrivateLibvirtd.unavailable() ?? needsTools(C_AGENT.fence_xvm, 'ip', 'virsh');
let libvirtd: PrivateLibvirtd;
let observer: LibvirtClient;
let daemon: OurDaemon;

/** Defined, not transient: a transient domain is gone once fenced off, and so is its state. */
async function defineAndStart(name: string, n: number): Promise<void> {
  const xml = join(libvirtd.dir, `${name}.xml`);
  await writeFile(xml, domainXml({ name, uuid: `e6000000-0000-4000-8000-00000000061${n}` }));
  for (const args of [
    ['define', xml],
    ['start', name],
  ]) {
    const r = await runTool('virsh', ['-c', libvirtd.uri('/default'), ...args]);
    assert.equal(r.code, 0, `virsh ${args.join(' ')}: ${r.stderr}`);
  }
}

async function stateOf(name: string): Promise<number> {
  return (await observer.getState(await observer.lookupByName(name))).state;
}

function xvm(side: 'C' | 'ours', port: number, op: string, vm: string, extra: string[] = []): Promise<ToolResult> {
  const args = ['-i', 'ipv6', '-p', String(port), '-k', daemon.files.keyFile, '-t', '5', '-o', op, '-H', vm, ...extra];
  return side === 'C' ? runC('fence_xvm', args) : runOurs('fence_xvm', args);
}

before(async () => {
  if (skip) return;
  await ip('link', 'add', VETH[0], 'type', 'veth', 'peer', 'name', VETH[1]);
  for (const [i, dev] of VETH.entries()) {
    // nodad: usable at once, without duplicate address detection's delay.
    await ip('-6', 'addr', 'add', `${V6[i]}/64`, 'dev', dev, 'nodad');
    await ip('link', 'set', dev, 'up');
  }
  // The group leaves through one end and arrives at the other, where the daemon joined it.
  await ip('-6', 'route', 'add', 'ff05::/16', 'dev', VETH[1], 'table', 'local');
  libvirtd = await PrivateLibvirtd.start();
  // Held open for the whole file: libvirtd frees its default test node with the last connection.
  observer = await LibvirtClient.open({ uri: libvirtd.uri('/default'), keepaliveIntervalMs: 0 });
  for (const [i, name] of Object.values(VM).entries()) await defineAndStart(name, i);
  const multicast = (protocol: string, port: number, keyFile: string) => ({
    module: 'multicast',
    family: 'ipv6',
    interface: VETH[0],
    port: String(port),
    key_file: keyFile,
    protocol,
  });
  daemon = await OurDaemon.start({
    key: KEY,
    // Status audit lines are at level info.
    args: ['-d', '2'],
    config: ({ keyFile }) =>
      configText({
        listeners: { strict: multicast('2', PORT.strict, keyFile), auto: multicast('auto', PORT.auto, keyFile) },
        backendUri: libvirtd.uri('/default'),
      }),
    ready: [
      { protocol: 'udp', port: PORT.strict },
      { protocol: 'udp', port: PORT.auto },
    ],
  });
  // Holding the port comes before joining the group: wait until each listener answers.
  for (const port of Object.values(PORT)) {
    await waitUntil(async () => (await xvm('ours', port, 'status', VM.refused, ['-t', '1'])).code === 0, `listener on port ${port}`);
  }
});
after(async () => {
  await daemon?.stop();
  await observer?.close();
  await libvirtd?.cleanup();
  if (!skip) await ip('link', 'del', VETH[0]).catch(() => undefined);
});

describe('protocol version 2 over IPv6 multicast', { skip }, () => {
  for (const [listener, port, vm, extra] of [
    ['strict', PORT.strict, VM.strict, ['--protocol=2']],
    ['auto', PORT.auto, VM.auto, []],
  ] as const) {
    it(`our fence_xvm fences in version 2 through the listener with protocol = "${listener === 'strict' ? '2' : 'auto'}"`, async () => {
      assert.equal(await stateOf(vm), DomainState.RUNNING);
      const since = daemon.lineCount;
      const off = await xvm('ours', port, 'off', vm, [...extra]);
      assert.equal(off.code, 0, show(off));
      assert.equal(await stateOf(vm), DomainState.SHUTOFF, 'libvirt shows the VM off');
      // The requester is the agent's IPv6 connect-back address, which both ends bound into the exchange.
      await daemon.waitForLog(
        new RegExp(`audit: listener=${listener} requester=fd00:0:0:2::[ab] target="${vm}" op=off .*result=success .*protocol=2$`),
        since,
      );
      const on = await xvm('ours', port, 'on', vm, [...extra]);
      assert.equal(on.code, 0, show(on));
      assert.equal(await stateOf(vm), DomainState.RUNNING, 'libvirt shows the VM running again');
    });
  }

  it('the C fence_xvm is refused by the protocol = "2" listener and nothing is fenced; "auto" answers it in version 1', async () => {
    const since = daemon.lineCount;
    const refused = await xvm('C', PORT.strict, 'off', VM.refused);
    assert.notEqual(refused.code, 0, show(refused));
    await daemon.waitForLog(/dropping request from .*it speaks protocol version 1 and this listener requires version 2/, since);
    assert.equal(await stateOf(VM.refused), DomainState.RUNNING, 'libvirt shows the VM still running');
    assert.ok(
      !daemon
        .lines()
        .slice(since)
        .some((l) => l.includes(`target="${VM.refused}"`)),
      'no request for it was executed',
    );

    // The same agent over the same network reaches the daemon: the refusal is the policy's.
    const status = await xvm('C', PORT.auto, 'status', VM.refused);
    assert.equal(status.stdout, 'Status: ON\n', show(status));
    await daemon.waitForLog(
      new RegExp(`audit: listener=auto requester=fd00:0:0:2::[ab] target="${VM.refused}" op=status .*protocol=1$`),
      since,
    );
  });
});
