/**
 * Which admitted requests the session may ask of the backend before the peer has proven the key
 * (askEarly, src/listeners/authenticated-session.ts): a signed status only. The whole exchange over a
 * real connect-back is in test/daemon/daemon-security.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { StaticMap } from '../../src/daemon/static-map.js';
import { askEarly } from '../../src/listeners/authenticated-session.js';
import { decodeFenceRequest, DomainState, Family, Hash, Request, Response, type HashType } from '../../src/protocol/index.js';
import { CapturedLog } from '../support/captured-log.js';
import { FakeBackend } from '../support/fake-backend.js';
import { signedRequest } from '../support/raw-client.js';

const key = new AuthKey(Buffer.from('early status test key'));
const who = { listener: 'multicast', display: '127.0.0.1', addresses: ['127.0.0.1'], domains: [] };

function setup() {
  const backend = new FakeBackend([{ name: 'vm-a', uuid: 'e0000000-0000-4000-8000-00000000000a', state: DomainState.RUNNING }]);
  const dispatcher = new Dispatcher(backend, () => new StaticMap([]), new CapturedLog(0).logger);
  const ask = (request: number, hashType: HashType = Hash.SHA256) => {
    const raw = signedRequest({ request, domain: 'vm-a', hashType, family: Family.INET, address: '127.0.0.1', port: 1229 }, key);
    const admitted = { request: decodeFenceRequest(raw), finish: () => undefined };
    return askEarly(admitted, who, { version: 1, raw }, dispatcher);
  };
  return { backend, ask };
}

describe('asking a request early', () => {
  it('asks a signed status of the backend, and gives its answer', async () => {
    const { backend, ask } = setup();
    const early = ask(Request.STATUS);
    assert.ok(early);
    assert.deepEqual(await early, { kind: 'code', code: Response.SUCCESS, uuid: 'e0000000-0000-4000-8000-00000000000a' });
    assert.deepEqual(backend.calls, ['status vm-a start', 'status vm-a end']);
  });

  it('leaves an unsigned status, the actions and the host list to run after the exchange', async () => {
    const { backend, ask } = setup();
    for (const early of [ask(Request.STATUS, Hash.NONE), ask(Request.OFF), ask(Request.REBOOT), ask(Request.ON), ask(Request.HOSTLIST)]) {
      assert.equal(early, undefined);
    }
    // Anything asked would have run by the next turn of the event loop.
    await setImmediate();
    assert.deepEqual(backend.calls, []);
    assert.equal(backend.domains[0]?.state, DomainState.RUNNING);
  });
});
