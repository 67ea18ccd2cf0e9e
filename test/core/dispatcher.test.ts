import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { StaticMap } from '../../src/daemon/static-map.js';
import { DomainState, Request, Response } from '../../src/protocol/index.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeBackend } from '../support/fake-backend.js';

const UUID = 'a0000000-0000-4000-8000-000000000001';
const who = { listener: 'tcp', display: '10.0.0.1', addresses: ['10.0.0.1'], domains: [] };

describe('dispatcher', () => {
  it('runs requests for one VM one after another however they name it', async () => {
    const backend = new FakeBackend([
      { name: 'vm1', uuid: UUID, state: DomainState.RUNNING },
      { name: 'vm2', uuid: 'a0000000-0000-4000-8000-000000000002', state: DomainState.RUNNING },
    ]);
    const d = new Dispatcher(backend, () => new StaticMap([]), silentLogger);
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));
    const reboot = d.execute({ request: Request.REBOOT, domain: 'vm1', seqno: 1 }, who);
    const off = d.execute({ request: Request.OFF, domain: UUID.toUpperCase(), seqno: 2 }, who);
    const other = d.execute({ request: Request.STATUS, domain: 'vm2', seqno: 3 }, who);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(backend.calls, ['reboot vm1 start', 'status vm2 start'], 'the off waits; the other VM does not');
    open();
    assert.deepEqual(await reboot, { kind: 'code', code: Response.SUCCESS });
    assert.deepEqual(await off, { kind: 'code', code: Response.SUCCESS });
    await other;
    const order = backend.calls.filter((c) => !c.includes('vm2'));
    assert.deepEqual(order, ['reboot vm1 start', 'reboot vm1 end', `off ${UUID.toUpperCase()} start`, `off ${UUID.toUpperCase()} end`]);
    assert.equal(backend.domains[0]?.state, DomainState.SHUTOFF, 'the last action wins: off');
  });

  it('answers permission denied without touching the backend and says which requests need permission', async () => {
    const backend = new FakeBackend([{ name: 'vm1', uuid: UUID, state: DomainState.RUNNING }]);
    const map = new StaticMap([{ name: 'g', ips: ['10.0.0.9'], uuids: ['vm1'] }]);
    const d = new Dispatcher(backend, () => map, silentLogger);
    assert.equal(d.permits({ request: Request.OFF, domain: 'vm1', seqno: 1 }, who), false);
    assert.equal(d.permits({ request: Request.HOSTLIST, domain: '', seqno: 1 }, who), true, 'a list is filtered, not refused');
    assert.deepEqual(await d.execute({ request: Request.OFF, domain: 'vm1', seqno: 1 }, who), { kind: 'code', code: Response.PERM });
    assert.deepEqual(backend.calls, []);
  });
});
