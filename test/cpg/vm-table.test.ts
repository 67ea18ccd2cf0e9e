/** Which host acts on a VM, from the hosts' records: the rules the cpg backend's safety rests on. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VmTable } from '../../src/backends/cpg/vm-table.js';
import { DomainState } from '../../src/protocol/constants.js';

const UUID = '6a7e0003-0000-4000-8000-0000000c0999';
const OTHER = '6a7e0003-0000-4000-8000-0000000c0998';
const all = new Set([1, 2, 3]);
const record = (owner: number, state: number, name = 'Shared', uuid = UUID) => ({ name, uuid, owner, state });

describe('VmTable', () => {
  it('the owner is the one host where the VM is not shut off, whoever asks', () => {
    const table = new VmTable();
    table.store(record(1, DomainState.SHUTOFF));
    table.store(record(2, DomainState.PAUSED));
    table.store(record(3, DomainState.SHUTOFF));
    for (const self of [1, 2, 3])
      assert.deepEqual(table.resolve('shared', all, self, 'name'), { kind: 'owner', node: 2, record: record(2, DomainState.PAUSED) });
  });

  it('shut off everywhere: the asking host if it has a copy, else the lowest node', () => {
    const table = new VmTable();
    table.store(record(2, DomainState.SHUTOFF));
    table.store(record(3, DomainState.SHUTOFF));
    assert.equal((table.resolve('shared', all, 3, 'name') as { node: number }).node, 3);
    assert.equal((table.resolve('shared', all, 1, 'name') as { node: number }).node, 2);
  });

  it('refuses a VM active on two hosts, and a name two different VMs share', () => {
    const table = new VmTable();
    table.store(record(1, DomainState.RUNNING));
    table.store(record(3, DomainState.CRASHED));
    assert.deepEqual(table.resolve('shared', all, 2, 'name'), {
      kind: 'ambiguous',
      reason: "'shared' is not shut off on several hosts (nodes 1, 3)",
    });
    const names = new VmTable();
    names.store(record(1, DomainState.RUNNING));
    names.store(record(2, DomainState.RUNNING, 'shared', OTHER));
    assert.equal(names.resolve('SHARED', all, 2, 'name').kind, 'ambiguous');
    assert.equal(names.resolve(OTHER, all, 2, 'name').kind, 'owner', 'the UUID still tells them apart');
  });

  it('only members count; a dropped or forgotten record is gone', () => {
    const table = new VmTable();
    table.store(record(1, DomainState.SHUTOFF));
    table.store(record(2, DomainState.RUNNING));
    assert.equal((table.resolve('shared', new Set([1, 3]), 3, 'name') as { node: number }).node, 1, 'node 2 is not a member');
    table.drop(2, UUID.toUpperCase());
    assert.equal((table.resolve('shared', all, 3, 'name') as { node: number }).node, 1);
    table.retain(new Set([2, 3]));
    assert.deepEqual(table.resolve('shared', all, 3, 'name'), { kind: 'unknown', reason: "no member of the group has a VM 'shared'" });
  });

  it('names compare without ASCII case, UUIDs by syntax; uuid mode accepts UUIDs only', () => {
    const table = new VmTable();
    table.store(record(2, DomainState.RUNNING, 'Grüße'));
    assert.equal(table.resolve('grÜSSE', all, 1, 'name').kind, 'unknown', 'only ASCII letters fold, as with strcasecmp');
    assert.equal(table.resolve('grüSSE', all, 1, 'name').kind, 'unknown');
    assert.equal(table.resolve('GRüße', all, 1, 'name').kind, 'owner');
    assert.equal(table.resolve(UUID.toUpperCase(), all, 1, 'uuid').kind, 'owner');
    assert.deepEqual(table.resolve('Grüße', all, 1, 'uuid'), { kind: 'unknown', reason: "name_mode is uuid and 'Grüße' is not a UUID" });
  });

  it('store reports whether anything changed', () => {
    const table = new VmTable();
    assert.equal(table.store(record(1, DomainState.RUNNING)), true);
    assert.equal(table.store(record(1, DomainState.RUNNING)), false);
    assert.equal(table.store(record(1, DomainState.SHUTOFF)), true);
    assert.deepEqual(table.recordsOf(1), [record(1, DomainState.SHUTOFF)]);
  });
});
