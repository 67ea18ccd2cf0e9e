/**
 * The libvirt backend against the real libvirtd's test driver: every row of the operation table in
 * docs/protocol.md#libvirt-backend, by name and by UUID in both letter cases. Each test opens its own
 * backend, so it starts from the fixture's state; state is always read back through the backend's own
 * connection, because a test-driver node loaded from a file keeps its state per connection (a change
 * made on one connection is invisible on every other).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LibvirtBackend, LibvirtBackendInitError, type LibvirtBackendOptions } from '../../src/backends/libvirt/backend.js';
import type { LibvirtClient } from '../../src/libvirt/index.js';
import { LifecycleEventType } from '../../src/libvirt/protocol.js';
import { DomainState } from '../../src/protocol/constants.js';
import { silentLogger } from '../../src/util/log.js';
import { CapturedLog } from '../support/captured-log.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';
import { needsSharedLibvirtd } from '../support/requirement.js';
import { fixtureUri, LifecycleRecorder } from './support.js';

const skip = needsSharedLibvirtd();
const NODE = fixtureUri('node.xml');
const NODE_B = fixtureUri('node-b.xml');
const origin = { source: '192.0.2.7', seqno: 4711 };
/** An origin that keeps what the backend explains for the audit line. */
function explaining(): { origin: typeof origin & { explain(r: string): void }; reasons: string[] } {
  const reasons: string[] = [];
  return { origin: { ...origin, explain: (r) => reasons.push(r) }, reasons };
}
const FAST: LibvirtBackendOptions = { pollIntervalMs: 20 };

interface Vm {
  name: string;
  uuid: string;
  state: number;
}

const uuid = (n: number): string => `6a7e0001-0000-4000-8000-00000000aa0${n}`;
/**
 * Every domain of node.xml that is not shut off: all count as "on" (docs/protocol.md#libvirt-backend).
 */
const ON: Vm[] = [
  { name: 'vm-running', uuid: uuid(1), state: DomainState.RUNNING },
  { name: 'vm-blocked', uuid: uuid(2), state: DomainState.BLOCKED },
  { name: 'vm-paused', uuid: uuid(3), state: DomainState.PAUSED },
  { name: 'vm-in-shutdown', uuid: uuid(4), state: DomainState.SHUTDOWN },
  { name: 'vm-crashed', uuid: uuid(6), state: DomainState.CRASHED },
  { name: 'vm-pmsuspended', uuid: uuid(7), state: DomainState.PMSUSPENDED },
  { name: 'vm-transient', uuid: uuid(8), state: DomainState.RUNNING },
];
const SHUTOFF: Vm = { name: 'vm-shutoff', uuid: uuid(5), state: DomainState.SHUTOFF };
/** Strings that name no domain: unknown name, unknown UUID, a name in the wrong case. */
const MISSING = ['no-such-vm', '6a7e0001-0000-4000-8000-0000000000ff', '6A7E0001-0000-4000-8000-0000000000FF', 'VM-RUNNING'];

const forms: [string, (vm: Vm) => string][] = [
  ['name', (vm) => vm.name],
  ['lowercase UUID', (vm) => vm.uuid],
  ['uppercase UUID', (vm) => vm.uuid.toUpperCase()],
];

async function withBackend<T>(uris: string[], run: (b: LibvirtBackend) => Promise<T>, options: LibvirtBackendOptions = FAST): Promise<T> {
  const backend = await LibvirtBackend.open(uris, silentLogger, options);
  try {
    return await run(backend);
  } finally {
    await backend.close();
  }
}

/** The raw state on the backend's first connection, or null if the domain no longer exists. */
async function stateOf(backend: LibvirtBackend, vm: Vm): Promise<number | null> {
  const hosts = (await backend.hostList(origin)).hosts;
  return hosts.find((h) => h.uuid === vm.uuid)?.state ?? null;
}

describe('libvirt backend: the answers of every operation', { skip }, () => {
  it('null always fails; devstatus succeeds while libvirt answers', () =>
    withBackend([NODE], async (b) => {
      assert.equal(b.name, 'libvirt');
      assert.equal(await b.null('vm-running'), 1);
      assert.equal(await b.null(''), 1);
      assert.equal(await b.devstatus(), 0);
    }));

  it('missing domains: status 2 (off), off/on/reboot 1; names are case-sensitive', () =>
    withBackend([NODE], async (b) => {
      for (const domain of MISSING) {
        assert.equal(await b.status(domain, origin), 2, `status ${domain}`);
        assert.equal(await b.off(domain, origin), 1, `off ${domain}`);
        assert.equal(await b.on(domain, origin), 1, `on ${domain}`);
        assert.equal(await b.reboot(domain, origin), 1, `reboot ${domain}`);
      }
    }));

  it('says why for the audit line, and warns at the default level about a domain it does not know', async () => {
    const { lines, logger } = new CapturedLog(0);
    const backend = await LibvirtBackend.open([NODE], logger, FAST);
    try {
      const { origin: asked, reasons } = explaining();
      assert.equal(await backend.status('vm-runing', asked), 2, 'still off on the wire, as C answers');
      assert.equal(await backend.off('vm-runing', asked), 1);
      assert.equal(await backend.status('vm-running', asked), 0);
      assert.deepEqual(reasons, ['no such domain', 'no such domain'], 'a found domain explains nothing');
      assert.deepEqual(
        lines.filter((l) => l.includes('vm-runing')),
        [
          "warn: libvirt backend: status of 'vm-runing' (from 192.0.2.7, seq 4711): no such domain, answering off\n",
          "warn: libvirt backend: off 'vm-runing' (from 192.0.2.7, seq 4711): no such domain, answering failure\n",
        ],
      );
    } finally {
      await backend.close();
    }
  });

  for (const [form, id] of forms) {
    describe(`by ${form}`, () => {
      it('status: 0 for every state but shut off, 2 for shut off', () =>
        withBackend([NODE], async (b) => {
          for (const vm of ON) assert.equal(await b.status(id(vm), origin), 0, vm.name);
          assert.equal(await b.status(id(SHUTOFF), origin), 2);
        }));

      it('off: destroys whatever is on (then status 2); a shut-off domain is left alone with 0', () =>
        withBackend([NODE], async (b) => {
          for (const vm of ON) {
            assert.equal(await b.off(id(vm), origin), 0, vm.name);
            assert.equal(await b.status(id(vm), origin), 2, `${vm.name} after off`);
          }
          assert.equal(await b.off(id(SHUTOFF), origin), 0);
          assert.equal(await stateOf(b, SHUTOFF), DomainState.SHUTOFF);
        }));

      it('on: starts a shut-off domain; anything else (paused, crashed, …) is left as it is with 0', () =>
        withBackend([NODE], async (b) => {
          assert.equal(await b.on(id(SHUTOFF), origin), 0);
          assert.equal(await stateOf(b, SHUTOFF), DomainState.RUNNING);
          assert.equal(await b.status(id(SHUTOFF), origin), 0);
          for (const vm of ON) {
            assert.equal(await b.on(id(vm), origin), 0, vm.name);
            assert.equal(await stateOf(b, vm), vm.state, `${vm.name} untouched`);
          }
        }));

      it('reboot: destroys and starts again every domain that is on; a shut-off one stays off with 0', () =>
        withBackend([NODE], async (b) => {
          const [client] = b.clients;
          const events = new LifecycleRecorder(client!);
          await client!.enableLifecycleEvents();
          const before = new Map((await client!.listAllDomains()).map((d) => [d.uuid, d.id]));
          for (const vm of ON) {
            assert.equal(await b.reboot(id(vm), origin), 0, vm.name);
            assert.equal(await stateOf(b, vm), DomainState.RUNNING, `${vm.name} running after reboot`);
            const after = await client!.lookupByUuid(vm.uuid);
            assert.notEqual(after.id, before.get(vm.uuid), `${vm.name} has a new id`);
            await events.waitFor(vm.name, LifecycleEventType.Stopped);
            await events.waitFor(vm.name, LifecycleEventType.Started);
          }
          assert.equal(await b.reboot(id(SHUTOFF), origin), 0);
          assert.equal(await stateOf(b, SHUTOFF), DomainState.SHUTOFF);
          assert.equal(events.events.filter((e) => e.name === SHUTOFF.name).length, 0);
        }));
    });
  }
});

/**
 * Makes `meanwhile` happen on libvirtd right after each destroy through `client`, before the backend's
 * next call. Chained to the destroy itself because a lifecycle-event handler doing the same raced the
 * backend's own check or start on a busy machine.
 */
function afterDestroy(client: LibvirtClient, meanwhile: () => Promise<unknown>): void {
  const destroy = client.destroy.bind(client);
  client.destroy = async (...args) => {
    await destroy(...args);
    await meanwhile();
  };
}

describe('libvirt backend: a status after resolve uses the domain resolve found', { skip }, () => {
  it('answers the current state, and off once the domain resolve found is gone (a name not looked up before)', () =>
    withBackend([NODE], async (b) => {
      const [client] = b.clients;
      const transient = ON.find((vm) => vm.name === 'vm-transient') as Vm;
      // Between the dispatcher's resolve and the status, the domain changes state, then disappears.
      assert.equal(await b.resolve('vm-running', origin), uuid(1));
      await client!.destroy(await client!.lookupByName('vm-running'));
      assert.equal(await b.status('vm-running', origin), 2, 'shut off since resolve');
      assert.equal(await b.resolve(transient.name, origin), transient.uuid);
      await client!.destroy(await client!.lookupByName(transient.name)); // a transient domain is gone once destroyed
      assert.equal(await b.status(transient.name, origin), 2, 'gone since resolve: no such domain, off');
    }));

  it('asks the state of a name found before together with its lookup: one round trip to libvirtd', () =>
    withBackend([NODE], async (b) => {
      const calls = countCalls(b.clients[0]!);
      assert.equal(await b.resolve('vm-paused', origin), uuid(3));
      assert.equal(await b.status('vm-paused', origin), 0);
      assert.deepEqual(calls, { lookups: 1, states: 1 }, 'first time: the lookup, then the state');
      assert.equal(await b.resolve('vm-paused', origin), uuid(3));
      assert.deepEqual(calls, { lookups: 2, states: 2 }, 'the state asked beside the lookup');
      assert.equal(await b.status('vm-paused', origin), 0);
      assert.deepEqual(calls, { lookups: 2, states: 2 }, 'the status asked nothing more');
      assert.equal(await b.resolve(SHUTOFF.name, origin), SHUTOFF.uuid);
      assert.equal(await b.status(SHUTOFF.name, origin), 2);
      assert.equal(await b.resolve(SHUTOFF.name, origin), SHUTOFF.uuid);
      assert.equal(await b.status(SHUTOFF.name, origin), 2, 'the state asked beside the lookup is the answer');
    }));

  it('asks the state again when an off ran between the resolve and the status', () =>
    withBackend([NODE], async (b) => {
      assert.equal(await b.resolve('vm-running', origin), uuid(1));
      assert.equal(await b.status('vm-running', origin), 0);
      // The dispatcher resolves a status while an off of the same domain runs; the status then waits its turn.
      const off = b.off('vm-running', origin);
      assert.equal(await b.resolve('vm-running', origin), uuid(1));
      assert.equal(await off, 0);
      assert.equal(await b.status('vm-running', origin), 2, 'off since: the state asked with the lookup is not used');
    }));

  it('does not use the state asked beside the lookup when the name now finds another domain', () =>
    withBackend([NODE], async (b) => {
      const [client] = b.clients;
      const transient = ON.find((vm) => vm.name === 'vm-transient') as Vm;
      assert.equal(await b.resolve(transient.name, origin), transient.uuid);
      assert.equal(await b.status(transient.name, origin), 0);
      const old = await client!.lookupByName(transient.name);
      const xml = await client!.getXmlDesc(old);
      await client!.destroy(old);
      const again = xml.replace(transient.uuid, uuid(9));
      assert.notEqual(again, xml);
      await client!.createXml(again);
      const calls = countCalls(client!);
      assert.equal(await b.resolve(transient.name, origin), uuid(9));
      assert.equal(await b.status(transient.name, origin), 0);
      assert.deepEqual(calls, { lookups: 1, states: 2 }, 'the guess (the old UUID) failed; the state of the new one was asked');
    }));

  it('hands each request its own lookup: statuses of one domain resolved together take one round trip each', () =>
    withBackend([NODE], async (b) => {
      assert.equal(await b.resolve('vm-paused', origin), uuid(3));
      assert.equal(await b.status('vm-paused', origin), 0);
      const calls = countCalls(b.clients[0]!);
      // All nodes asking the status of one victim at once: the dispatcher resolves them all, then each
      // status runs in turn (serialised per domain).
      const origins = [1, 2, 3, 4].map((seqno) => ({ ...origin, seqno }));
      assert.deepEqual(
        await Promise.all(origins.map((o) => b.resolve('vm-paused', o))),
        origins.map(() => uuid(3)),
      );
      assert.deepEqual(calls, { lookups: 4, states: 4 }, 'each lookup with the state beside it');
      for (const o of origins) assert.equal(await b.status('vm-paused', o), 0);
      assert.deepEqual(calls, { lookups: 4, states: 4 }, 'no status asked anything more');
    }));

  it("never hands a request another request's lookup", () =>
    withBackend([NODE], async (b) => {
      const [client] = b.clients;
      const first = { ...origin, seqno: 1 };
      const second = { ...origin, seqno: 2 };
      assert.equal(await b.resolve('vm-running', first), uuid(1));
      assert.equal(await b.status('vm-running', first), 0);
      assert.equal(await b.resolve('vm-running', first), uuid(1));
      await client!.destroy(await client!.lookupByName('vm-running'));
      const calls = countCalls(client!);
      // The second request resolved nothing (as if its lookup failed): it looks the domain up itself.
      assert.equal(await b.status('vm-running', second), 2, 'shut off: asked now, not taken from the first request');
      assert.deepEqual(calls, { lookups: 1, states: 1 });
      // A lookup resolve() made for another domain is not this call's either.
      assert.equal(await b.status('vm-paused', first), 0);
      assert.deepEqual(calls, { lookups: 2, states: 2 });
    }));
});

/** Counts the lookups and state calls made on `client` from now on (the calls themselves go to libvirtd). */
function countCalls(client: LibvirtClient): { lookups: number; states: number } {
  const counts = { lookups: 0, states: 0 };
  const lookupByName = client.lookupByName.bind(client);
  const getInfo = client.getInfo.bind(client);
  client.lookupByName = (...args) => {
    counts.lookups++;
    return lookupByName(...args);
  };
  client.getInfo = (...args) => {
    counts.states++;
    return getInfo(...args);
  };
  return counts;
}

describe('libvirt backend: reboot edge cases', { skip }, () => {
  it('answers 1 when the destroyed domain is still there after the wait (someone restarted it)', async () => {
    const { lines, logger } = new CapturedLog(0);
    const backend = await LibvirtBackend.open([NODE], logger, { pollIntervalMs: 50, rebootWaitMs: 300 });
    try {
      const [client] = backend.clients;
      const dom = await client!.lookupByName('vm-running');
      // Someone (an HA manager) starts the domain again right after the backend's destroy.
      afterDestroy(client!, () => client!.create(dom));
      const { origin: asked, reasons } = explaining();
      assert.equal(await backend.reboot('vm-running', asked), 1);
      assert.deepEqual(reasons, ['still running 300 ms after the destroy']);
      assert.ok(
        lines.some((l) => /still exists after 300 ms; fencing failed/.test(l)),
        lines.join(''),
      );
    } finally {
      await backend.close();
    }
  });

  it('answers 0 like C when the domain cannot be started again, and logs it as an error', async () => {
    const { lines, logger } = new CapturedLog(0);
    const backend = await LibvirtBackend.open([NODE], logger, { pollIntervalMs: 50 });
    try {
      const [client] = backend.clients;
      const transient = await client!.lookupByName('vm-transient');
      // Once the transient domain is gone, another domain takes its name, so neither its saved live
      // XML nor its (vanished) definition can be started any more.
      const usurper = (await client!.getXmlDesc(transient)).replace(transient.uuid, '6a7e0001-0000-4000-8000-00000000ee01');
      afterDestroy(client!, () => client!.createXml(usurper));
      const { origin: asked, reasons } = explaining();
      assert.equal(await backend.reboot('vm-transient', asked), 0);
      assert.deepEqual(reasons, ['powered off; the restart failed'], 'the audit line says the fence is done but the VM stayed off');
      assert.ok(
        lines.some((l) => l.startsWith('error:') && l.includes('DID NOT COME BACK')),
        lines.join(''),
      );
      assert.equal(await backend.status(transient.uuid, origin), 2);
    } finally {
      await backend.close();
    }
  });
});

describe('libvirt backend: several connections', { skip }, () => {
  it('uses the first connection that knows the domain', () =>
    withBackend([NODE_B, NODE], async (b) => {
      assert.equal(b.clients.length, 2);
      assert.equal(await b.status('Alpha-b', origin), 0);
      assert.equal(await b.status('VM-Middle-b', origin), 2);
      assert.equal(await b.off('vm-running', origin), 0);
      assert.equal(await b.status('vm-running', origin), 2);
      assert.equal(await b.on('VM-Middle-b', origin), 0);
      assert.equal(await b.status('6A7E0002-0000-4000-8000-00000000BB02', origin), 0);
    }));

  it('acts on the first connection only when two know the same domain', () =>
    withBackend([NODE, NODE], async (b) => {
      assert.equal(await b.off('vm-running', origin), 0);
      assert.equal(await b.status('vm-running', origin), 2);
      const [, second] = b.clients;
      assert.equal((await second!.getInfo(await second!.lookupByName('vm-running'))).state, DomainState.RUNNING);
    }));

  it('returns the complete host list of all connections, sorted by name ignoring case (C loses it)', () =>
    withBackend([NODE, NODE_B], async (b) => {
      const list = await b.hostList(origin);
      assert.equal(list.code, 0);
      assert.deepEqual(
        list.hosts.map((h) => [h.name, h.state]),
        [
          ['Alpha-b', 1],
          ['vm-blocked', 2],
          ['vm-crashed', 6],
          ['vm-in-shutdown', 4],
          ['VM-Middle-b', 5],
          ['vm-paused', 3],
          ['vm-pmsuspended', 7],
          ['vm-running', 1],
          ['vm-shutoff', 5],
          ['vm-transient', 1],
          ['zz-last-b', 3],
        ],
      );
      assert.equal(list.hosts.find((h) => h.name === 'vm-running')?.uuid, uuid(1));
      assert.ok(list.hosts.every((h) => /^[0-9a-f-]{36}$/.test(h.uuid)));
    }));
});

describe('libvirt backend: start-up', { skip }, () => {
  it('skips URIs that do not open and keeps the others, in order', async () => {
    const { lines, logger } = new CapturedLog(0);
    const backend = await LibvirtBackend.open(
      ['qemu+ssh://elsewhere/system', NODE, 'test+unix:///default?socket=/nonexistent/sock', NODE_B],
      logger,
    );
    try {
      assert.deepEqual(
        backend.clients.map((c) => c.uri),
        [NODE, NODE_B],
      );
      assert.ok(lines.some((l) => l.startsWith('warn:') && l.includes("'qemu+ssh://elsewhere/system'")));
      assert.ok(lines.some((l) => l.startsWith('warn:') && l.includes('/nonexistent/sock')));
    } finally {
      await backend.close();
    }
  });

  it('fails with a clear error when no URI opens', async () => {
    await assert.rejects(
      LibvirtBackend.open(['qemu+tcp://elsewhere/system', 'test+unix:///default?socket=/nonexistent/sock'], silentLogger),
      (err: unknown) =>
        err instanceof LibvirtBackendInitError &&
        /could not connect to any hypervisor/.test(err.message) &&
        err.message.includes('qemu+tcp://elsewhere/system') &&
        err.message.includes('/nonexistent/sock'),
    );
    await assert.rejects(LibvirtBackend.open([], silentLogger), /no URI configured/);
  });
});

describe('libvirt backend: a URI skipped at start-up', { skip: skip ?? PrivateLibvirtd.unavailable() }, () => {
  it('keeps devstatus at 1 until it opens, then uses it like the others', async () => {
    const daemon = await PrivateLibvirtd.start();
    const late = daemon.uri('/default');
    try {
      await daemon.kill();
      const { lines, logger } = new CapturedLog(0);
      const backend = await LibvirtBackend.open([NODE, late], logger, { client: { connectTimeoutMs: 1_000 } });
      try {
        assert.deepEqual(
          backend.clients.map((c) => c.uri),
          [NODE],
        );
        assert.equal(await backend.devstatus(), 1, 'a configured hypervisor is unreachable');
        assert.ok(lines.some((l) => l.startsWith('warn:') && l.includes(`${late} is not open`)));
        await daemon.launch();
        assert.equal(await backend.devstatus(), 0);
        assert.deepEqual(
          backend.clients.map((c) => c.uri),
          [NODE, late],
        );
      } finally {
        await backend.close();
      }
    } finally {
      await daemon.cleanup();
    }
  });
});
