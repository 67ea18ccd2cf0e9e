import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { StaticMap } from '../../src/daemon/static-map.js';
import { DomainState, Request, Response } from '../../src/protocol/index.js';
import { silentLogger } from '../../src/util/log.js';
import { CapturedLog } from '../support/captured-log.js';
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
    await setImmediate();
    await setImmediate();
    assert.deepEqual(backend.calls, ['reboot vm1 start', 'status vm2 start'], 'the off waits; the other VM does not');
    open();
    assert.deepEqual(await reboot, { kind: 'code', code: Response.SUCCESS, uuid: UUID }, 'with the UUID it was resolved to');
    assert.deepEqual(await off, { kind: 'code', code: Response.SUCCESS, uuid: UUID });
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
    assert.deepEqual(await d.execute({ request: Request.OFF, domain: 'vm1', seqno: 1 }, who), {
      kind: 'code',
      code: Response.PERM,
      reason: 'no group gives this requester the domain',
    });
    assert.deepEqual(backend.calls, []);
  });

  it("filters the host list through the map, keeps the backend's code, and audits the count", async () => {
    const backend = new FakeBackend([
      { name: 'vm1', uuid: UUID, state: DomainState.RUNNING },
      { name: 'vm2', uuid: 'a0000000-0000-4000-8000-000000000002', state: DomainState.SHUTOFF },
    ]);
    const { lines, logger } = new CapturedLog(1);
    const d = new Dispatcher(backend, () => new StaticMap([{ name: 'g', ips: ['10.0.0.1'], uuids: ['vm2'] }]), logger);
    const answer = await d.execute({ request: Request.HOSTLIST, domain: '', seqno: 4 }, who);
    assert.deepEqual(answer, { kind: 'hostlist', hosts: [backend.domains[1]], code: Response.SUCCESS });
    assert.deepEqual(
      lines.map((l) => l.replace(/duration_ms=[\d.]+/, 'duration_ms=T')),
      ['info: audit: listener=tcp requester=10.0.0.1 target="" op=list seqno=4 result=1 domain duration_ms=T protocol=1\n'],
    );
  });

  it('audits every request in one line: fencing as a notice, the rest at info level, with the result in words', async () => {
    const backend = new FakeBackend([{ name: 'vm1', uuid: UUID, state: DomainState.RUNNING }]);
    const { lines, logger } = new CapturedLog(0);
    const map = new StaticMap([{ name: 'g', ips: ['10.0.0.1'], uuids: ['vm1'] }]);
    const d = new Dispatcher(backend, () => map, logger);
    await d.execute({ request: Request.STATUS, domain: 'vm1', seqno: 1 }, who);
    await d.execute({ request: Request.OFF, domain: 'vm1', seqno: 2 }, who);
    await d.execute({ request: Request.REBOOT, domain: 'vm9', seqno: 3 }, who);
    await d.execute(
      { request: Request.ON, domain: 'vm1', seqno: 4 },
      { ...who, display: '10.0.0.2', addresses: ['10.0.0.2'], protocol: 2 },
    );
    assert.deepEqual(
      lines.map((l) => l.replace(/ duration_ms=[\d.]+/, '')),
      [
        'notice: audit: listener=tcp requester=10.0.0.1 target="vm1" op=off seqno=2 result=success protocol=1\n',
        'notice: audit: listener=tcp requester=10.0.0.1 target="vm9" op=reboot seqno=3 result=permission-denied reason="no group gives this requester the domain" protocol=1\n',
        'notice: audit: listener=tcp requester=10.0.0.2 target="vm1" op=on seqno=4 result=permission-denied reason="no group gives this requester the domain" protocol=2\n',
      ],
      'status is at info level, below verbosity 0',
    );
    assert.deepEqual(backend.calls, ['status vm1 start', 'status vm1 end', 'off vm1 start', 'off vm1 end']);
  });

  it('answers FAIL, never success, when the backend throws, and logs the error with the audit line', async () => {
    class DeadConnection extends FakeBackend {
      override off(): Promise<number> {
        return Promise.reject(new Error('connection reset by libvirtd'));
      }
    }
    const { lines, logger } = new CapturedLog(0);
    const d = new Dispatcher(
      new DeadConnection([{ name: 'vm1', uuid: UUID, state: DomainState.RUNNING }]),
      () => new StaticMap([]),
      logger,
    );
    assert.deepEqual(await d.execute({ request: Request.OFF, domain: 'vm1', seqno: 9 }, who), {
      kind: 'code',
      code: Response.FAIL,
      uuid: UUID,
      reason: 'backend error: connection reset by libvirtd',
    });
    assert.match(lines[0] ?? '', /^error: backend fake failed on off "vm1": connection reset by libvirtd\n$/);
    assert.match(
      lines[1] ?? '',
      /^notice: audit: .* op=off seqno=9 result=failed\(1\) reason="backend error: connection reset by libvirtd" /,
    );
  });

  it('passes null and devstatus to the backend and answers FAIL to a request code it does not know, touching nothing', async () => {
    const backend = new FakeBackend([{ name: 'vm1', uuid: UUID, state: DomainState.RUNNING }]);
    const d = new Dispatcher(backend, () => new StaticMap([]), silentLogger);
    assert.deepEqual(await d.execute({ request: Request.DEVSTATUS, domain: '', seqno: 1 }, who), { kind: 'code', code: Response.SUCCESS });
    assert.deepEqual(await d.execute({ request: Request.NULL, domain: 'x', seqno: 2 }, who), { kind: 'code', code: Response.FAIL });
    assert.deepEqual(await d.execute({ request: 0x7f, domain: 'vm1', seqno: 3 }, who), {
      kind: 'code',
      code: Response.FAIL,
      reason: 'unknown request code',
    });
    assert.deepEqual(backend.calls, ['devstatus', 'null x']);
  });

  it('is idle only once every request in flight has finished', async () => {
    const backend = new FakeBackend([{ name: 'vm1', uuid: UUID, state: DomainState.RUNNING }]);
    const d = new Dispatcher(backend, () => new StaticMap([]), silentLogger);
    await d.idle();
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));
    const off = d.execute({ request: Request.OFF, domain: 'vm1', seqno: 1 }, who);
    let idle = false;
    const idled = d.idle().then(() => (idle = true));
    await setImmediate();
    assert.equal(idle, false, 'an off is still running');
    open();
    await idled;
    assert.deepEqual(backend.calls, ['off vm1 start', 'off vm1 end'], 'idle came after the off ended');
    await off;
  });
  it('answers FAIL at the deadline to each request held past it, one after another, and not to those that finish', async () => {
    const backend = new FakeBackend([
      { name: 'vm1', uuid: UUID, state: DomainState.RUNNING },
      { name: 'vm2', uuid: 'a0000000-0000-4000-8000-000000000002', state: DomainState.RUNNING },
    ]);
    const { lines, logger } = new CapturedLog(0);
    const deadlineMs = 150;
    const d = new Dispatcher(backend, () => new StaticMap([]), logger, deadlineMs);
    assert.deepEqual(await d.execute({ request: Request.STATUS, domain: 'vm1', seqno: 1 }, who), { kind: 'code', code: 0, uuid: UUID });
    let open!: () => void;
    backend.gate = new Promise((r) => (open = r));
    const started = performance.now();
    const first = d.execute({ request: Request.OFF, domain: 'vm1', seqno: 2 }, who).then((a) => ({ a, ms: performance.now() - started }));
    await sleep(deadlineMs / 2);
    const second = d
      .execute({ request: Request.STATUS, domain: 'vm2', seqno: 3 }, who)
      .then((a) => ({ a, ms: performance.now() - started }));
    const [one, two] = await Promise.all([first, second]);
    assert.deepEqual(one.a, { kind: 'code', code: Response.FAIL, uuid: UUID, reason: `not finished within ${deadlineMs} ms` });
    assert.equal(two.a.code, Response.FAIL);
    assert.ok(one.ms >= deadlineMs - 5 && one.ms < deadlineMs + 2_000, `the off was answered after ${one.ms} ms`);
    assert.ok(two.ms >= deadlineMs * 1.5 - 5, `the status, begun half a deadline later, was answered after ${two.ms} ms`);
    assert.equal(lines.filter((l) => l.includes('did not finish within')).length, 2);
    assert.equal(d.actionsInProgress, 1, 'the off still runs after its answer went out');
    open();
    await d.idle();
    assert.deepEqual(await d.execute({ request: Request.STATUS, domain: 'vm1', seqno: 4 }, who), { kind: 'code', code: 2, uuid: UUID });
  });
});
