/** The libvirt client against the real libvirtd and its test driver. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { LibvirtConnectionError, LibvirtError, UnsupportedUriError } from '../../src/libvirt/errors.js';
import { ErrorCode, LifecycleEventType, ListDomainsFlag } from '../../src/libvirt/protocol.js';
import { DomainState } from '../../src/protocol/constants.js';
import { needsSharedLibvirtd } from '../support/requirement.js';
import { fixturePath, fixtureUri, LifecycleRecorder } from './support.js';

const skip = needsSharedLibvirtd();
const NODE = fixtureUri('node.xml');
const RUNNING_UUID = '6a7e0001-0000-4000-8000-00000000aa01';

describe('LibvirtClient on the shared libvirtd', { skip }, () => {
  let client: LibvirtClient;
  before(async () => {
    client = await LibvirtClient.open({ uri: NODE });
  });
  after(() => client.close());

  it('opens test:///PATH through libvirtd and reports the URI libvirtd opened', async () => {
    assert.equal(client.isConnected, true);
    assert.equal(client.socketPath, '/run/libvirt/libvirt-sock');
    assert.equal(await client.getUri(), NODE);
  });

  it('lists all domains with names, UUIDs and ids, and counts the running ones', async () => {
    const domains = await client.listAllDomains();
    const byName = new Map(domains.map((d) => [d.name, d]));
    assert.equal(domains.length, 8);
    assert.deepEqual(byName.get('vm-running'), { name: 'vm-running', uuid: RUNNING_UUID, id: byName.get('vm-running')!.id });
    assert.ok(byName.get('vm-running')!.id > 0);
    assert.equal(byName.get('vm-shutoff')!.id, -1);
    assert.equal(await client.numOfDomains(), 7);
    assert.equal((await client.listAllDomains(ListDomainsFlag.Active)).length, 7);
    assert.deepEqual(
      (await client.listAllDomains(ListDomainsFlag.Inactive)).map((d) => d.name),
      ['vm-shutoff'],
    );
    assert.deepEqual(
      (await client.listAllDomains(ListDomainsFlag.Transient)).map((d) => d.name),
      ['vm-transient'],
    );
  });

  it('looks domains up by name and by UUID and reads their state', async () => {
    const byName = await client.lookupByName('vm-paused');
    const byUuid = await client.lookupByUuid(byName.uuid);
    assert.deepEqual(byUuid, byName);
    assert.deepEqual(await client.lookupById(byName.id), byName);
    assert.equal((await client.getInfo(byName)).state, DomainState.PAUSED);
    assert.deepEqual(await client.getState(byName), { state: DomainState.PAUSED, reason: 0 });
    const expected: [string, number][] = [
      ['vm-running', DomainState.RUNNING],
      ['vm-blocked', DomainState.BLOCKED],
      ['vm-in-shutdown', DomainState.SHUTDOWN],
      ['vm-shutoff', DomainState.SHUTOFF],
      ['vm-crashed', DomainState.CRASHED],
      ['vm-pmsuspended', DomainState.PMSUSPENDED],
    ];
    for (const [name, state] of expected) {
      assert.equal((await client.getInfo(await client.lookupByName(name))).state, state, name);
    }
  });

  it('returns the domain XML', async () => {
    const xml = await client.getXmlDesc(await client.lookupByName('vm-running'));
    assert.match(xml, /<name>vm-running<\/name>/);
    assert.match(xml, new RegExp(`<uuid>${RUNNING_UUID}</uuid>`));
  });

  it('surfaces a missing domain as LibvirtError code 42 with libvirt’s message', async () => {
    await assert.rejects(client.lookupByName('no-such-vm'), (err: unknown) => {
      assert.ok(err instanceof LibvirtError);
      assert.equal(err.code, ErrorCode.NoDomain);
      assert.match(err.message, /^Domain not found/);
      return true;
    });
    await assert.rejects(client.lookupByUuid('6a7e0001-0000-4000-8000-0000000000ff'), { name: 'LibvirtError', code: ErrorCode.NoDomain });
    // Names are case-sensitive in libvirt.
    await assert.rejects(client.lookupByName('VM-RUNNING'), { code: ErrorCode.NoDomain });
  });

  it('keeps many calls in flight and matches every reply to its call', async () => {
    const names = (await client.listAllDomains()).map((d) => d.name);
    const asked = Array.from({ length: 400 }, (_, i) => names[i % names.length]!);
    const answers = await Promise.all(asked.map((name) => client.lookupByName(name)));
    assert.deepEqual(
      answers.map((d) => d.name),
      asked,
    );
    const mixed = await Promise.allSettled(
      asked.map((name, i) => (i % 3 === 0 ? client.lookupByName(`${name}-missing`) : client.lookupByName(name))),
    );
    mixed.forEach((r, i) => {
      if (i % 3 === 0) assert.equal(r.status, 'rejected', `call ${i}`);
      else assert.equal(r.status === 'fulfilled' && r.value.name, asked[i], `call ${i}`);
    });
  });

  it('destroys, creates, resets and reboots, with lifecycle events; deregistering stops them', async () => {
    const events = new LifecycleRecorder(client);
    await client.enableLifecycleEvents();

    const crashed = await client.lookupByName('vm-crashed');
    await client.destroy(crashed);
    const stopped = await events.waitFor('vm-crashed', LifecycleEventType.Stopped);
    assert.equal(stopped.uuid, crashed.uuid);
    assert.equal(stopped.detail, 1); // VIR_DOMAIN_EVENT_STOPPED_DESTROYED
    assert.equal((await client.getInfo(crashed)).state, DomainState.SHUTOFF);

    await client.create(crashed);
    const started = await events.waitFor('vm-crashed', LifecycleEventType.Started);
    assert.ok(started.id > 0);
    assert.equal((await client.getInfo(crashed)).state, DomainState.RUNNING);

    const running = await client.lookupByName('vm-running');
    await client.reset(running);
    await client.reboot(running);
    assert.equal((await client.getInfo(running)).state, DomainState.RUNNING);

    // Transient domain: destroy removes it, create-from-XML brings it back.
    const transient = await client.lookupByName('vm-transient');
    const xml = await client.getXmlDesc(transient);
    await client.destroy(transient);
    await assert.rejects(client.lookupByUuid(transient.uuid), { code: ErrorCode.NoDomain });
    const back = await client.createXml(xml);
    assert.equal(back.uuid, transient.uuid);
    await events.waitFor('vm-transient', LifecycleEventType.Started);

    await client.disableLifecycleEvents();
    await client.destroy(await client.lookupByName('vm-blocked'));
    // Events travel in order on the one socket: once a later registration delivers its event, an event
    // for the destroy above would already have arrived.
    await client.enableLifecycleEvents();
    await client.destroy(await client.lookupByName('vm-paused'));
    await events.waitFor('vm-paused', LifecycleEventType.Stopped);
    assert.equal(events.events.filter((e) => e.name === 'vm-blocked').length, 0);
    await client.disableLifecycleEvents();
  });
});

describe('LibvirtClient opening', { skip }, () => {
  it('opens qemu:///system on the system socket: virtqemud’s where it runs, else libvirtd’s', async () => {
    const modular = '/run/libvirt/virtqemud-sock';
    const client = await LibvirtClient.open({ uri: 'qemu:///system' });
    try {
      assert.equal(client.socketPath, existsSync(modular) ? modular : '/run/libvirt/libvirt-sock');
      assert.equal(await client.getUri(), 'qemu:///system');
      assert.ok((await client.numOfDomains()) >= 0);
    } finally {
      await client.close();
    }
  });

  it('opens test+unix:///default with the transport stripped for libvirtd', async () => {
    const client = await LibvirtClient.open({ uri: 'test+unix:///default' });
    try {
      assert.equal(await client.getUri(), 'test:///default');
      assert.deepEqual(
        (await client.listAllDomains()).map((d) => d.name),
        ['test'],
      );
    } finally {
      await client.close();
    }
  });

  it('rejects a URI it cannot serve at once, naming it', async () => {
    for (const uri of ['qemu+ssh://host/system', 'qemu+tcp://host/system']) {
      await assert.rejects(LibvirtClient.open({ uri }), (err: unknown) => err instanceof UnsupportedUriError && err.message.includes(uri));
    }
  });

  it('names the socket and the URI when nothing listens there', async () => {
    const uri = 'test+unix:///default?socket=/nonexistent/libvirt-sock';
    await assert.rejects(
      LibvirtClient.open({ uri }),
      (err: unknown) =>
        err instanceof LibvirtConnectionError && err.message.includes('/nonexistent/libvirt-sock') && err.message.includes(uri),
    );
  });

  it('reports libvirt’s refusal to open a URI as a LibvirtError naming the URI', async () => {
    const uri = `test://${fixturePath('does-not-exist.xml')}`;
    await assert.rejects(LibvirtClient.open({ uri }), (err: unknown) => err instanceof LibvirtError && err.message.includes(uri));
  });

  it('fails calls after close with a connection error', async () => {
    const client = await LibvirtClient.open({ uri: NODE });
    await client.close();
    assert.equal(client.isConnected, false);
    await assert.rejects(client.numOfDomains(), LibvirtConnectionError);
    assert.equal(await client.ensureConnected(), false);
  });
});
