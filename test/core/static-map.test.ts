import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostInfo } from '../../src/backends/backend.js';
import type { Requester } from '../../src/core/requester.js';
import { StaticMap, type GroupRule } from '../../src/daemon/static-map.js';
import { DomainState } from '../../src/protocol/index.js';

const VM_A = { name: 'vm-a', uuid: 'a0000000-0000-4000-8000-00000000000a', state: DomainState.RUNNING };
const VM_B = { name: 'vm-b', uuid: 'a0000000-0000-4000-8000-00000000000b', state: DomainState.RUNNING };
const VM_C = { name: 'vm-c', uuid: 'a0000000-0000-4000-8000-00000000000c', state: DomainState.SHUTOFF };
const ALL: HostInfo[] = [VM_A, VM_B, VM_C];

const fromAddress = (...addresses: string[]): Requester => ({ listener: 'tcp', display: addresses.join(','), addresses, domains: [] });
const fromGuest = (uuid: string): Requester => ({ listener: 'serial', display: uuid, addresses: [], domains: [uuid] });
const map = (...rules: Partial<GroupRule>[]) => new StaticMap(rules.map((r, i) => ({ name: `g${i}`, ips: [], uuids: [], ...r })));
const visible = (m: StaticMap, who: Requester) => ALL.filter(m.visibleTo(who)).map((h) => h.name);

describe('static permission map', () => {
  it('allows everything while no group has an ip or uuid entry, as C does', () => {
    for (const m of [map(), map({ name: 'empty' })]) {
      assert.equal(m.active, false);
      assert.equal(m.allows(fromAddress('10.0.0.1'), 'anything'), true);
      assert.deepEqual(visible(m, fromAddress('10.0.0.1')), ['vm-a', 'vm-b', 'vm-c']);
    }
  });

  it('lets a requester act on the targets its groups list, by name or UUID, in any letter case', () => {
    const m = map({ ips: ['10.0.0.1'], uuids: ['vm-a', VM_B.uuid.toUpperCase()] });
    const who = fromAddress('10.0.0.1');
    assert.equal(m.allows(who, 'vm-a'), true);
    assert.equal(m.allows(who, 'VM-A'), true, 'text compared without case; libvirt then decides whether the name exists');
    assert.equal(m.allows(who, VM_B.uuid), true);
    assert.equal(m.allows(who, 'vm-b'), false, 'the group lists vm-b by UUID only: the name is another target text');
    assert.equal(m.allows(who, 'vm-c'), false);
  });

  it('refuses a requester that is in no group, once any group is in use', () => {
    const m = map({ ips: ['10.0.0.1'], uuids: ['vm-a'] });
    assert.equal(m.active, true);
    assert.equal(m.allows(fromAddress('10.0.0.2'), 'vm-a'), false);
    assert.deepEqual(visible(m, fromAddress('10.0.0.2')), []);
  });

  it("matches any of the requester's addresses, and IPv6 text without case", () => {
    const m = map({ ips: ['FE80::1'], uuids: ['vm-a'] });
    assert.equal(m.allows(fromAddress('192.0.2.7', 'fe80::1'), 'vm-a'), true);
    assert.equal(m.allows(fromAddress('fe80::2'), 'vm-a'), false);
  });

  it('matches a guest by its domain UUID against uuid entries (serial and vsock requesters)', () => {
    const m = map({ uuids: [VM_A.uuid, 'vm-b'] });
    assert.equal(m.allows(fromGuest(VM_A.uuid), 'vm-b'), true);
    assert.equal(m.allows(fromGuest(VM_C.uuid), 'vm-b'), false);
  });

  it('gives a requester in several groups the union of their targets, and nothing from groups it is not in', () => {
    const m = map(
      { ips: ['10.0.0.1'], uuids: ['vm-a'] },
      { ips: ['10.0.0.1', '10.0.0.2'], uuids: ['vm-b'] },
      { ips: ['10.0.0.3'], uuids: ['vm-c'] },
    );
    assert.deepEqual(visible(m, fromAddress('10.0.0.1')), ['vm-a', 'vm-b']);
    assert.deepEqual(visible(m, fromAddress('10.0.0.2')), ['vm-b']);
    assert.equal(m.allows(fromAddress('10.0.0.1'), 'vm-c'), false);
  });

  it('counts a group with requesters but no targets: its members may act on nothing', () => {
    const m = map({ ips: ['10.0.0.1'] });
    assert.equal(m.active, true);
    assert.equal(m.allows(fromAddress('10.0.0.1'), 'vm-a'), false);
    assert.deepEqual(visible(m, fromAddress('10.0.0.1')), []);
  });

  it('shows a VM in the host list when a group of the requester names it by UUID or by name', () => {
    const m = map({ ips: ['10.0.0.1'], uuids: [VM_A.uuid.toUpperCase(), 'VM-B'] });
    assert.deepEqual(visible(m, fromAddress('10.0.0.1')), ['vm-a', 'vm-b']);
  });
});
