/**
 * The TCP and vsock flow (StreamRequestListener) over an in-memory acceptor: the test makes each
 * connection and chooses its peer, the listener gets the other end of an in-memory stream pair. Behind
 * it run the real gate, challenge registry, connection bounds and Dispatcher, with the in-memory
 * FakeBackend. The same flow on real sockets: test/daemon, test/vsock/listener-flow.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import { challengeAsClient } from '../../src/auth/challenge-response.js';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { defaultLimits, type SecurityLimits } from '../../src/core/limits.js';
import { createRequestCore } from '../../src/core/request-core.js';
import type { Requester } from '../../src/core/requester.js';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { StaticMap, type GroupRule } from '../../src/daemon/static-map.js';
import { LibvirtConnectionPool } from '../../src/libvirt/index.js';
import { StreamRequestListener } from '../../src/listeners/stream-listener.js';
import type { TcpPeer } from '../../src/listeners/tcp/acceptor.js';
import { DomainState, Hash, Request, Response } from '../../src/protocol/index.js';
import { StreamIO } from '../../src/util/stream-io.js';
import { CapturedLog } from '../support/captured-log.js';
import { FakeBackend } from '../support/fake-backend.js';
import { MemoryAcceptor } from '../support/memory-stream.js';
import { exchangeOn, signedRequest } from '../support/raw-client.js';
import { defaultProtocolSettings } from '../../src/listeners/protocol-policy.js';

const key = new AuthKey(Buffer.from('stream listener unit test key'));
const otherKey = new AuthKey(Buffer.from('not the key'));
const VM_B = 'b0000000-0000-4000-8000-00000000000b';

async function listen(options: { limits?: Partial<SecurityLimits>; groups?: GroupRule[] } = {}) {
  const backend = new FakeBackend([
    { name: 'vm-a', uuid: 'b0000000-0000-4000-8000-00000000000a', state: DomainState.RUNNING },
    { name: 'vm-b', uuid: VM_B, state: DomainState.RUNNING },
  ]);
  const captured = new CapturedLog(2);
  const log = captured.logger;
  const map = new StaticMap(options.groups ?? []);
  const dispatcher = new Dispatcher(backend, () => map, log);
  const core = createRequestCore((r, w) => dispatcher.permits(r, w), log, { ...defaultLimits, ...options.limits });
  const acceptor = new MemoryAcceptor<TcpPeer>();
  const identified: TcpPeer[] = [];
  const identify = (peer: TcpPeer): Requester => {
    identified.push(peer);
    return { listener: 'tcp', display: peer.address, addresses: [peer.address], domains: [] };
  };
  // The pool is part of the listener context; this flow never asks it for a connection.
  const libvirt = new LibvirtConnectionPool(log);
  const settings = {
    name: 'tcp',
    key: () => key,
    minimumHash: Hash.SHA256,
    auth: Hash.SHA256,
    ...defaultProtocolSettings,
    sourceOf: (p: TcpPeer) => p.address,
    identify,
  };
  const listener = new StreamRequestListener(acceptor, settings, { dispatcher, core, log, libvirt });
  await listener.start();
  const connect = (address: string): Duplex => acceptor.connect({ address, port: 40_000 });
  const ask = (address: string, packet: Buffer, signer = key) => exchangeOn(connect(address), packet, signer, Hash.SHA256, 2_000);
  return { backend, captured, identified, listener, acceptor, connect, ask };
}

const status = (domain: string) => signedRequest({ request: Request.STATUS, domain }, key);

/** Resolves when the listener has closed the connection (its end of the stream, read to the end). */
function closedByListener(stream: Duplex): Promise<unknown> {
  stream.resume();
  return once(stream, 'end');
}

describe('stream request listener (in-memory acceptor)', () => {
  it('runs a signed request through the challenge-response to the backend, answers and closes', async () => {
    const { connect, captured, backend, listener } = await listen();
    const stream = connect('10.0.0.1');
    const io = new StreamIO(stream);
    const closed = once(stream, 'end');
    await io.write(signedRequest({ request: Request.OFF, domain: 'vm-b' }, key), 1_000);
    await challengeAsClient(io, key, Hash.SHA256, 1_000);
    assert.deepEqual(await io.read(1, 1_000), Buffer.of(Response.SUCCESS));
    await closed;
    assert.deepEqual(backend.calls, ['off vm-b start', 'off vm-b end']);
    await captured.waitFor(/notice: audit: listener=tcp requester=10\.0\.0\.1 target="vm-b" op=off .*result=success/);
    assert.equal(captured.matching(/listening on in-memory acceptor/).length, 1);
    await listener.stop();
  });

  it('drops a request signed with another key or hashed too weakly at once, before asking who the peer is', async () => {
    const { ask, captured, backend, identified } = await listen();
    assert.equal((await ask('10.0.0.1', signedRequest({ request: Request.OFF, domain: 'vm-b' }, otherKey), otherKey)).kind, 'closed');
    assert.equal((await ask('10.0.0.1', signedRequest({ request: Request.OFF, domain: 'vm-b', hashType: Hash.SHA1 }, key))).kind, 'closed');
    await captured.waitFor(/dropping request from 10\.0\.0\.1: .*key mismatch/i);
    await captured.waitFor(/dropping request from 10\.0\.0\.1: .*weaker than the required sha256/);
    assert.deepEqual(identified, []);
    assert.deepEqual(backend.calls, []);
  });

  it('closes a connection whose request does not arrive within 1 s', async () => {
    const { connect, captured } = await listen();
    const stream = connect('10.0.0.1');
    stream.write(status('vm-a').subarray(0, 100));
    const started = performance.now();
    await closedByListener(stream);
    assert.ok(performance.now() - started >= 900, 'not before the deadline');
    await captured.waitFor(/closing connection from 10\.0\.0\.1: timed out waiting for the request \(100 received\)/);
  });

  it('applies the groups to the identity found for the peer', async () => {
    const { ask, identified } = await listen({ groups: [{ name: 'g', ips: ['10.0.0.1'], uuids: ['vm-a'] }] });
    assert.deepEqual(await ask('10.0.0.1', status('vm-a')), { kind: 'code', code: Response.SUCCESS });
    assert.deepEqual(await ask('10.0.0.1', status('vm-b')), { kind: 'code', code: Response.PERM });
    assert.deepEqual(await ask('10.0.0.2', status('vm-a')), { kind: 'code', code: Response.PERM });
    assert.deepEqual(await ask('10.0.0.1', signedRequest({ request: Request.HOSTLIST }, key)), { kind: 'hosts', names: ['vm-a'] });
    assert.deepEqual(
      identified.map((p) => p.address),
      ['10.0.0.1', '10.0.0.1', '10.0.0.2', '10.0.0.1'],
    );
  });

  it('executes nothing after a failed challenge-response, and the request may come again; once executed it may not', async () => {
    const { ask, captured, backend } = await listen();
    const reboot = signedRequest({ request: Request.REBOOT, domain: 'vm-b' }, key);
    assert.equal((await ask('10.0.0.1', reboot, otherKey)).kind, 'closed', 'the client did not know the key');
    await captured.waitFor(/challenge-response with 10\.0\.0\.1 failed/);
    assert.deepEqual(backend.calls, []);
    assert.deepEqual(await ask('10.0.0.1', reboot), { kind: 'code', code: Response.SUCCESS });
    assert.equal((await ask('10.0.0.1', reboot)).kind, 'closed');
    await captured.waitFor(/dropping duplicate request from 10\.0\.0\.1 \(reboot "vm-b"/);
    assert.deepEqual(backend.calls, ['reboot vm-b start', 'reboot vm-b end']);
  });

  it('sheds connections beyond the per-source and total bounds at once, serves the others, and frees slots', async () => {
    const { connect, ask, captured } = await listen({ limits: { maxConnections: 3, maxConnectionsPerSource: 2 } });
    // Idle connections hold their slots until their request deadline (1 s); everything below is quicker.
    const held = [connect('10.0.0.1'), connect('10.0.0.1')];
    await closedByListener(connect('10.0.0.1'));
    await captured.waitFor(/tcp: closing a connection from 10\.0\.0\.1 at once: connection limit max_connections_per_source reached/);
    assert.deepEqual(await ask('10.0.0.2', status('vm-a')), { kind: 'code', code: Response.SUCCESS }, 'another source is served');
    const third = connect('10.0.0.2');
    await closedByListener(connect('10.0.0.3'));
    await captured.waitFor(/closing a connection from 10\.0\.0\.3 at once: connection limit max_connections reached/);
    third.destroy();
    held[0]?.destroy();
    await setImmediate();
    assert.deepEqual(await ask('10.0.0.1', status('vm-a')), { kind: 'code', code: Response.SUCCESS }, 'a freed slot is used again');
    held[1]?.destroy();
  });

  it('serves each connection on its own: a peer stalled in the challenge-response delays nobody', async () => {
    const { connect, ask } = await listen();
    const stalled = connect('10.0.0.1');
    stalled.write(status('vm-a'));
    stalled.resume();
    assert.deepEqual(await ask('10.0.0.2', status('vm-b')), { kind: 'code', code: Response.SUCCESS });
    stalled.destroy();
  });

  it('stops accepting when stopped', async () => {
    const { listener, connect } = await listen();
    await listener.stop();
    assert.throws(() => connect('10.0.0.1'), /connection refused/);
  });
});
