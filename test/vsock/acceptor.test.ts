/**
 * The real vsock acceptor and the listener the factory builds on it: bind and listen on
 * VMADDR_CID_ANY, never connect (these machines have no vsock loopback transport, so a connect would
 * reach the real host). Ports: vsock 25100-25149.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { VsockListenerConfig } from '../../src/listeners/vsock/config.js';
import { KeyRing } from '../../src/daemon/key-ring.js';
import { loadListener } from '../../src/listeners/registry.js';
import { LibvirtBackend } from '../../src/backends/libvirt/backend.js';
import { createRequestCore } from '../../src/core/request-core.js';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { StaticMap } from '../../src/daemon/static-map.js';
import { LibvirtConnectionPool } from '../../src/libvirt/index.js';
import { VsockAcceptor } from '../../src/listeners/vsock/acceptor.js';
import { Hash } from '../../src/protocol/index.js';
import { listenVsock } from '../../src/native/vsock.js';
import { CapturedLog } from '../support/captured-log.js';
import { defaultProtocolSettings } from '../../src/listeners/protocol-policy.js';

const NODE = fileURLToPath(new URL('../fixtures/vsock/node.xml', import.meta.url));
const URI = `test+unix://${NODE}`;
const { lines: logLines, logger: log } = new CapturedLog(3);
const pool = new LibvirtConnectionPool(log);
after(() => pool.closeAll());

const unexpected = (what: string) => () => assert.fail(`unexpected ${what}`);

/** Binding proves the port is free; the probe is closed again at once. */
function portIsFree(port: number): boolean {
  try {
    listenVsock({ port }).close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return false;
    throw err;
  }
}

describe('vsock acceptor (real AF_VSOCK socket, bind and listen only)', () => {
  it('listens on VMADDR_CID_ANY:port, refuses a second listener there, and frees the port on close', async () => {
    const acceptor = new VsockAcceptor(25100);
    await acceptor.listen(unexpected('connection'), unexpected('accept error'));
    try {
      assert.equal(acceptor.endpoint, 'vsock *:25100');
      const second = new VsockAcceptor(25100);
      await assert.rejects(second.listen(unexpected('connection'), unexpected('accept error')), (err: Error) => {
        assert.match(err.message, /^cannot listen on vsock \*:25100: EADDRINUSE/);
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
        return true;
      });
      assert.equal(portIsFree(25100), false);
    } finally {
      await acceptor.close();
    }
    assert.equal(portIsFree(25100), true);
  });

  it('is what the factory builds for a vsock listener: it holds its port from start to stop', async () => {
    const backend = await LibvirtBackend.open([URI], log, { connect: (uri) => pool.get(uri) });
    const dispatcher = new Dispatcher(backend, () => new StaticMap([]), log);
    const config: VsockListenerConfig = {
      module: 'vsock',
      name: 'guests',
      keyFile: '/nonexistent/unused',
      hash: Hash.SHA256,
      auth: Hash.SHA256,
      port: 25101,
      ...defaultProtocolSettings,
    };
    const listener = (await loadListener(config))({
      keys: new KeyRing(log),
      context: (name) => ({
        dispatcher,
        core: createRequestCore((req, who) => dispatcher.permits(req, who), log),
        libvirt: pool,
        log: log.child(`vsock:${name}`),
      }),
      backendUris: [URI],
    });
    assert.equal(listener.name, 'guests');
    await listener.start();
    try {
      assert.ok(logLines.some((l) => l.includes('vsock:guests: listening on vsock *:25101')));
      assert.equal(portIsFree(25101), false);
    } finally {
      await listener.stop();
    }
    assert.equal(portIsFree(25101), true);
  });
});
