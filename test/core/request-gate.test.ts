import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { ReplayMemory } from '../../src/core/replay-memory.js';
import { RequestGate, type RequestToExecute } from '../../src/core/request-gate.js';
import { RequestHistory } from '../../src/core/request-history.js';
import type { Requester } from '../../src/core/requester.js';
import { Family, Hash, Request } from '../../src/protocol/index.js';
import { RateLimitedLog } from '../../src/util/rate-limited-log.js';
import { CapturedLog } from '../support/captured-log.js';
import { signedRequest } from '../support/raw-client.js';

const key = new AuthKey(Buffer.from('gate test key'));
const who = (address: string): Requester => ({ listener: 'tcp', display: address, addresses: [address], domains: [] });

function gate(now: { t: number }, permits = (_r: RequestToExecute, _w: Requester) => true, replayEntries = 100) {
  const captured = new CapturedLog(3);
  const history = new RequestHistory({ windowMs: 10_000, maxPerRequester: 10, maxEntries: 100, now: () => now.t });
  const g = new RequestGate(
    history,
    new ReplayMemory(86_400_000, replayEntries, () => now.t),
    permits,
    new RateLimitedLog((l) => captured.logger.warn(l)),
  );
  return { g, captured, log: captured.logger };
}
const stream = { key: () => key, minimumHash: Hash.SHA256, stream: true } as const;

describe('request gate', () => {
  it('drops a wrong key, a weak hash and, on stream listeners, multicast connect-back fields', () => {
    const { g, captured, log } = gate({ t: 0 });
    const other = new AuthKey(Buffer.from('other key'));
    assert.equal(g.verify(signedRequest({ request: Request.OFF, domain: 'vm1' }, other), 'x', stream, log), undefined);
    assert.equal(g.verify(signedRequest({ request: Request.OFF, domain: 'vm1', hashType: Hash.SHA1 }, key), 'x', stream, log), undefined);
    const datagram = signedRequest({ request: Request.OFF, domain: 'vm1', family: Family.INET, address: '10.1.2.3', port: 1229 }, key);
    assert.equal(g.verify(datagram, 'x', stream, log), undefined);
    assert.ok(g.verify(datagram, 'x', { ...stream, stream: false }, log), 'the same request is fine for multicast');
    assert.equal(captured.matching(/key mismatch/).length, 1);
    assert.equal(captured.matching(/weaker than/).length, 1);
    assert.equal(captured.matching(/connect-back/).length, 1);
  });

  it('refuses the exact bytes of an executed request after the duplicate window (replay), not a fresh copy', () => {
    const now = { t: 0 };
    const { g, captured, log } = gate(now);
    const raw = signedRequest({ request: Request.OFF, domain: 'vm1' }, key);
    const req = g.verify(raw, 'x', stream, log);
    assert.ok(req);
    g.admit(req, who('10.0.0.1'), raw, log)?.finish(true);
    now.t = 11_000;
    assert.equal(g.admit(req, who('10.0.0.1'), raw, log), undefined, 'replayed bytes');
    assert.equal(captured.matching(/replay/).length, 1);
    const fresh = signedRequest({ request: Request.OFF, domain: 'vm1' }, key);
    const fresher = g.verify(fresh, 'x', stream, log);
    assert.ok(fresher && g.admit(fresher, who('10.0.0.1'), fresh, log), 'a new request for the same thing runs');
  });

  it('does not remember unsigned requests (they cannot be told apart) nor requests that did not run', () => {
    const now = { t: 0 };
    const { g, log } = gate(now);
    const none = { key: () => key, minimumHash: Hash.NONE, stream: true } as const;
    const raw = signedRequest({ request: Request.STATUS, domain: 'vm1', hashType: Hash.NONE, seqno: 5 }, key);
    const req = g.verify(raw, 'x', none, log);
    assert.ok(req);
    g.admit(req, who('a'), raw, log)?.finish(true);
    now.t = 11_000;
    assert.ok(g.admit(req, who('a'), raw, log), 'unsigned: a new request');
    const signed = signedRequest({ request: Request.STATUS, domain: 'vm1' }, key);
    const sreq = g.verify(signed, 'x', stream, log);
    assert.ok(sreq);
    g.admit(sreq, who('a'), signed, log)?.finish(false);
    assert.ok(g.admit(sreq, who('a'), signed, log), 'failed before execution: not remembered');
  });

  it('keeps executed fencing actions in a full replay memory: another request goes first, one that did not run pushes nothing out', () => {
    const now = { t: 0 };
    const { g, captured, log } = gate(now, undefined, 2);
    const admit = (request: number) => {
      const raw = signedRequest({ request, domain: 'vm1' }, key);
      const req = g.verify(raw, 'x', stream, log);
      assert.ok(req);
      const admission = g.admit(req, who('10.0.0.1'), raw, log);
      assert.ok(admission);
      return { admission, replay: () => g.admit(req, who('10.0.0.1'), raw, log) };
    };
    const run = (request: number) => {
      const { admission, replay } = admit(request);
      admission.finish(true);
      return replay;
    };
    const replays = [run(Request.OFF), run(Request.REBOOT)];
    // The memory is full of fencing actions. An action whose exchange then fails (a replayed capture of
    // a copy that never ran, from a peer without the key) is in flight while a null request runs: the
    // null request changes nothing and is the one forgotten; the failed action takes nothing with it.
    const failing = admit(Request.ON);
    run(Request.NULL);
    failing.admission.finish(false);
    now.t = 11_000;
    for (const replay of replays) assert.equal(replay(), undefined);
    assert.equal(captured.matching(/replay of a request already executed/).length, 2);
  });

  it('lets a refused (not permitted) request claim nothing', () => {
    const { g, log } = gate({ t: 0 }, (_r, w) => w.display !== 'intruder');
    const req = { request: Request.OFF, domain: 'victim', seqno: 7 };
    for (let i = 0; i < 5; i++) g.admit(req, who('intruder'), undefined, log)?.finish(true);
    const legit = g.admit(req, who('admin'), undefined, log);
    assert.ok(legit, "the intruder's refused requests left no history entry");
    legit.finish(true);
    assert.equal(g.admit(req, who('admin'), undefined, log), undefined, 'a real duplicate is still one');
  });

  it('sheds a requester whose every history slot is in flight with one rate-limited line, and still admits others', () => {
    const { g, captured, log } = gate({ t: 0 });
    const off = (seqno: number) => ({ request: Request.OFF, domain: 'vm1', seqno });
    for (let seqno = 1; seqno <= 10; seqno++) assert.ok(g.admit(off(seqno), who('10.0.0.1'), undefined, log), `slot ${seqno}`);
    assert.equal(g.admit(off(11), who('10.0.0.1'), undefined, log), undefined);
    assert.equal(g.admit(off(12), who('10.0.0.1'), undefined, log), undefined);
    assert.deepEqual(captured.matching(/history limit/), [
      'warn: dropping request from 10.0.0.1 (off "vm1", seqno 11): its history limit (max_history_per_requester) is reached\n',
    ]);
    assert.ok(g.admit(off(11), who('10.0.0.2'), undefined, log), 'another requester is not held back');
  });
});
