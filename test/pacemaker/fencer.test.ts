/**
 * Pacemaker's own fencer drives the agents: pacemaker-fenced stand-alone in a private mount namespace
 * (fencer.ts), the README's stonith devices registered with stonith_admin exactly as written
 * (readme-devices.ts), our daemon (the fresh bundle) behind them on a private libvirtd's test driver.
 * Every action is checked against libvirt afterwards (virsh on the same libvirtd): fence leaves the VM
 * shut off, unfence starts it, reboot gives it a new domain id.
 *
 * The same scenario runs with the C agents (/usr/sbin/fence_xvm, fence_virt) as the control and then
 * with ours bind-mounted over them, so a failure of ours alone points at our agents, not at the bed.
 * Multicast stays inside the test's network namespace (scripts/run-tests.sh); the serial device is a
 * socat pty on the VM's socket, seen as /dev/ttyS1 in the fencer's namespace. The vsock device is only
 * validated (by our agent, which checks its options before any connection): no AF_VSOCK connect here.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { buildBundles, type Bundles } from '../support/bundles.js';
import { configText } from '../support/daemon-config-text.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { runTool, waitUntil } from '../support/processes.js';
import { SocatSerialPort } from '../support/qemu-stand-ins.js';
import { needsTools } from '../support/requirement.js';
import { domainXml } from '../serial/node-xml.js';
import { Fencer, fencerMissing, registerArgs } from './fencer.js';
import { hostMap, readmeDevices, type StonithDevice } from './readme-devices.js';

const skip =
  fencerMissing() ?? PrivateLibvirtd.unavailable() ?? needsTools('virsh', 'socat', '/usr/sbin/fence_xvm', '/usr/sbin/fence_virt');
const KEY_PATH = '/etc/cluster/fence_xvm.key';
/** The multicast port the README's fence_xvm line uses (the default). */
const MULTICAST_PORT = 1229;

let dir: string;
let bundles: Bundles;
let libvirtd: PrivateLibvirtd;
/** libvirtd frees its default test node with the last connection: this one keeps the VMs defined. */
let holder: LibvirtClient;
let serial: SocatSerialPort;
let daemon: DaemonProcess;
let devices: Record<'xvm' | 'serial' | 'vsock', StonithDevice>;
/** The VM the serial device's guest runs in (its socket carries fence_virt) and the one fenced. */
let guestVm: string;
let victimNode: string;
let victimVm: string;
const key = randomBytes(512);

const virsh = async (...args: string[]): Promise<string> => {
  const result = await runTool('virsh', ['-c', libvirtd.uri('/default'), ...args]);
  assert.equal(result.code, 0, `virsh ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
};

before(async () => {
  if (skip) return;
  const found = await readmeDevices();
  const byAgent = (agent: string, option: string) => {
    const device = found.find((d) => d.agent === agent && option in d.options);
    assert.ok(device, `README.md: a ${agent} device with ${option}`);
    return device;
  };
  devices = {
    xvm: byAgent('fence_xvm', 'multicast_address'),
    serial: byAgent('fence_virt', 'serial_device'),
    vsock: byAgent('fence_virt', 'vsock'),
  };
  const map = [...hostMap(devices.xvm)];
  assert.ok(map.length >= 2, 'the host map names at least two nodes');
  for (const device of Object.values(devices)) assert.deepEqual([...hostMap(device)], map, `${device.id}: the same host map`);
  [[, guestVm], [victimNode, victimVm]] = map as [[string, string], [string, string]];

  dir = await mkdtemp(join(tmpdir(), 'fvd-pacemaker-'));
  bundles = await buildBundles();
  libvirtd = await PrivateLibvirtd.start();
  holder = await LibvirtClient.open({ uri: libvirtd.uri('/default') });
  const socketDir = join(dir, 'sock');
  await mkdir(socketDir);
  for (const [i, [, vm]] of map.entries()) {
    const uuid = `9ace0000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`;
    const xml = join(dir, `${vm}.xml`);
    await writeFile(xml, domainXml({ name: vm, uuid, ...(vm === guestVm ? { serial: [join(socketDir, vm)] } : {}) }));
    await virsh('define', xml);
    if (vm === guestVm) serial = await SocatSerialPort.start(join(socketDir, vm), join(dir, 'ttyS1'));
    await virsh('start', vm);
  }
  const conf = join(dir, 'fence_virt.conf');
  const keyFile = join(dir, 'fence_xvm.key');
  await writeFile(keyFile, key, { mode: 0o600 });
  const uri = libvirtd.uri('/default');
  await writeFile(
    conf,
    configText({
      listeners: {
        multicast: {
          interface: 'lo',
          address: devices.xvm.options.multicast_address ?? '',
          port: String(MULTICAST_PORT),
          key_file: keyFile,
        },
        serial: { uri, path: socketDir, mode: 'serial' },
      },
      backendUri: uri,
    }),
    { mode: 0o600 },
  );
  daemon = DaemonProcess.start(process.execPath, [join(bundles.dir, 'fence_virtd'), '-F', '-f', conf, '-p', join(dir, 'pid'), '-d', '1']);
  await daemon.waitForOutput(/serving with backend/);
  await serial.connected(30_000);
});

after(async () => {
  await daemon?.stop();
  await serial?.stop();
  await holder?.close();
  await libvirtd?.cleanup();
  await bundles?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

type Flavour = 'C' | 'ours';
/** What stonith_admin printed, per flavour and call, for the comparison at the end. */
const seen: Record<Flavour, Map<string, string>> = { C: new Map(), ours: new Map() };

function startFencer(flavour: Flavour): Promise<Fencer> {
  const ours = (agent: string) => `${process.execPath} ${join(bundles.dir, agent)}`;
  const agents: Record<string, string> = flavour === 'ours' ? { fence_xvm: ours('fence_xvm'), fence_virt: ours('fence_virt') } : {};
  return Fencer.start({ etc: { [KEY_PATH]: key }, dev: { ttyS1: join(dir, 'ttyS1') }, agents });
}

/** Runs stonith_admin and asserts its exit code, with the fencer's log on failure. */
async function admin(fencer: Fencer, expected: 'ok' | 'fails', ...args: string[]): Promise<string> {
  const result = await fencer.admin(...args);
  const why = `stonith_admin ${args.join(' ')} exited ${result.code}\n${result.stdout}${result.stderr}\nfencer log:\n${(await fencer.log()).slice(-3000)}\ndaemon:\n${daemon.output().slice(-2000)}`;
  if (expected === 'ok') assert.equal(result.code, 0, why);
  else assert.notEqual(result.code, 0, why);
  return result.stdout;
}

const optionArgs = (device: StonithDevice): string[] => Object.entries(device.options).flatMap(([k, v]) => ['-o', `${k}=${v}`]);

/** metadata, register, validate, monitor, list targets, fence, unfence, reboot: each checked in libvirt. */
async function exercise(fencer: Fencer, flavour: Flavour, device: StonithDevice): Promise<void> {
  const record = (call: string, text: string) => seen[flavour].set(`${device.id} ${call}`, text);
  const metadata = await admin(fencer, 'ok', '-M', '-a', device.agent);
  assert.match(metadata, new RegExp(`<resource-agent name="${device.agent}"`));
  record('metadata', metadata);
  await admin(fencer, 'ok', ...registerArgs(device));
  try {
    assert.match(await admin(fencer, 'ok', '-K', '-a', device.agent, ...optionArgs(device)), /succeeded/);
    await admin(fencer, 'ok', '-Q', device.id);
    assert.deepEqual((await fencer.actionResults(device.id, 'monitor')).slice(-1), [0], 'the monitor action itself succeeded');
    const targets = await admin(fencer, 'ok', '-s', device.id);
    for (const vm of hostMap(device).values()) assert.match(targets, new RegExp(`^${vm}$`, 'm'), `${vm} among the targets`);
    record('targets', targets);
    assert.match(await admin(fencer, 'ok', '-l', victimNode), new RegExp(`^${device.id}$`, 'm'));

    await admin(fencer, 'ok', '-F', victimNode, '-t', '60');
    assert.equal(await virsh('domstate', victimVm), 'shut off', 'fenced: off');
    await admin(fencer, 'ok', '-U', victimNode, '-t', '60');
    assert.equal(await virsh('domstate', victimVm), 'running', 'unfenced: on');
    const id = await virsh('domid', victimVm);
    await admin(fencer, 'ok', '-B', victimNode, '-t', '60');
    assert.equal(await virsh('domstate', victimVm), 'running', 'rebooted: running again');
    assert.notEqual(await virsh('domid', victimVm), id, 'rebooted: a new domain id, so it was really stopped');
    assert.equal(await virsh('domstate', guestVm), 'running', 'the other VM was left alone');
  } finally {
    await admin(fencer, 'ok', '-D', device.id);
  }
}

for (const flavour of ['C', 'ours'] as const) {
  describe(`Pacemaker's fencer with ${flavour === 'C' ? 'the C agents (control)' : 'our agents'}`, { skip }, () => {
    let fencer: Fencer;
    before(async () => {
      fencer = await startFencer(flavour);
    });
    after(() => fencer?.stop());

    it('fence_xvm over multicast, as in the README', async () => {
      await exercise(fencer, flavour, devices.xvm);
      if (flavour === 'ours') assert.ok((await fencer.agentRuns('fence_xvm')) >= 8, 'the fencer ran our fence_xvm');
    });

    it('fence_virt over a serial port, as in the README', async () => {
      await exercise(fencer, flavour, devices.serial);
      if (flavour === 'ours') assert.ok((await fencer.agentRuns('fence_virt')) >= 8, 'the fencer ran our fence_virt');
    });

    it('a device whose daemon is unreachable fails within its timeout, never succeeds', async (t) => {
      // The README's fence_xvm device on a port no daemon listens on, for a node whose VM runs.
      const lost: StonithDevice = {
        id: 'fence-lost',
        agent: 'fence_xvm',
        options: {
          ...devices.xvm.options,
          ipport: String(MULTICAST_PORT + 100),
          timeout: '3',
          pcmk_host_map: `lost.example.com:${guestVm}`,
        },
      };
      await admin(fencer, 'ok', ...registerArgs(lost));
      try {
        const id = await virsh('domid', guestVm);
        await admin(fencer, 'fails', '-Q', lost.id, '-t', '30');
        const started = Date.now();
        await admin(fencer, 'fails', '-F', 'lost.example.com', '-t', '30');
        const elapsed = Date.now() - started;
        t.diagnostic(`failed after ${elapsed} ms`);
        assert.ok(elapsed < 30_000, `failed after ${elapsed} ms, not within the fencer's timeout (-t 30)`);
        assert.equal(await virsh('domid', guestVm), id, 'nothing happened to the VM');
        // The fencer's own record: every run of the agent for the fence failed.
        const offs = await fencer.actionResults(lost.id, 'off');
        assert.ok(offs.length > 0 && offs.every((code) => code !== 0), `the agent's off runs: ${offs.join(', ')}`);
      } finally {
        await admin(fencer, 'ok', '-D', lost.id);
      }
    });

    if (flavour === 'ours') {
      it('the README vsock device: valid options for our fence_virt (validated only, never run)', async () => {
        const metadata = await admin(fencer, 'ok', '-M', '-a', 'fence_virt');
        for (const name of Object.keys(devices.vsock.options).filter((k) => !k.startsWith('pcmk_'))) {
          assert.match(metadata, new RegExp(`<parameter name="${name}"`), `${name} is a fence_virt parameter`);
        }
        // validate-all returns before the agent opens any connection (src/agent/run-agent.ts).
        const runs = await fencer.agentRuns('fence_virt');
        assert.match(await admin(fencer, 'ok', '-K', '-a', 'fence_virt', ...optionArgs(devices.vsock)), /succeeded/);
        assert.ok((await fencer.agentRuns('fence_virt')) > runs, 'our fence_virt validated it');
      });

      it('what stonith_admin shows is the same with our agents as with the C ones', () => {
        assert.ok(seen.C.size > 0 && seen.C.size === seen.ours.size, 'both flavours ran');
        for (const [call, text] of seen.C) assert.equal(seen.ours.get(call), text, call);
      });

      it('the monitor fails while libvirtd is down and recovers when it is back', async () => {
        await admin(fencer, 'ok', ...registerArgs(devices.xvm));
        try {
          const earlier = (await fencer.actionResults(devices.xvm.id, 'monitor')).length;
          const monitors = async () => (await fencer.actionResults(devices.xvm.id, 'monitor')).slice(earlier);
          await admin(fencer, 'ok', '-Q', devices.xvm.id);
          assert.deepEqual(await monitors(), [0]);
          await libvirtd.kill();
          // stonith_admin -Q then falls back to `list`, which prints the (empty) list and succeeds as
          // with the C agents; the monitor itself is what the cluster's recurring check runs.
          await fencer.admin('-Q', devices.xvm.id, '-t', '30');
          const down = (await monitors()).slice(1);
          assert.ok(down.length > 0 && down.every((code) => code !== 0), `the monitor failed while libvirtd was down: ${down.join(', ')}`);
          await libvirtd.launch();
          await waitUntil(
            async () => (await fencer.admin('-Q', devices.xvm.id)).code === 0 && (await monitors()).at(-1) === 0,
            'the monitor succeeding again',
            30_000,
          );
        } finally {
          await admin(fencer, 'ok', '-D', devices.xvm.id);
        }
      });
    }
  });
}
