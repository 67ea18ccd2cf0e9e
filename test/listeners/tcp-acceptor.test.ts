/**
 * The TCP acceptor on real loopback sockets. It binds through net.Server's internal listen step rather
 * than listen() (src/listeners/tcp/acceptor.ts), so these hold what listen() gave: the address family
 * of an IPv6 literal, the errors of a port in use and of an address this host does not have, the peer
 * it reports, and a port freed by close().
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { TcpAcceptor, type TcpPeer } from '../../src/listeners/tcp/acceptor.js';

const unexpected = (what: string) => () => assert.fail(`unexpected ${what}`);

/** A server of the test's own on `address`, port 0: it holds the port the kernel gave it. */
async function holdPort(address: string): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.listen(0, address);
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

async function freePort(address: string): Promise<number> {
  const { server, port } = await holdPort(address);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('TCP acceptor', () => {
  for (const [address, endpoint] of [
    ['127.0.0.1', (port: number) => `127.0.0.1:${port}`],
    ['::1', (port: number) => `[::1]:${port}`],
  ] as const) {
    it(`on ${address}: a port in use is refused with the address and port named`, async () => {
      const { server, port } = await holdPort(address);
      try {
        const acceptor = new TcpAcceptor(address, port);
        await assert.rejects(acceptor.listen(unexpected('connection'), unexpected('error')), {
          message: `cannot listen on ${endpoint(port)}: listen EADDRINUSE: address already in use ${address}:${port}`,
        });
        await acceptor.close(); // nothing to close: it never listened
      } finally {
        server.close();
      }
    });
  }

  it('refuses an address this host does not have', async () => {
    const port = await freePort('127.0.0.1');
    // 192.0.2.0/24 is reserved for documentation: no interface has it, and bind() sends nothing.
    await assert.rejects(new TcpAcceptor('192.0.2.1', port).listen(unexpected('connection'), unexpected('error')), {
      message: `cannot listen on 192.0.2.1:${port}: listen EADDRNOTAVAIL: address not available 192.0.2.1:${port}`,
    });
  });

  for (const [address, from] of [
    ['::1', '::1'],
    // An IPv4-mapped IPv6 address (family ipv6 in the configuration) takes IPv4 connections.
    ['::ffff:127.0.0.1', '127.0.0.1'],
  ] as const) {
    it(`listens on ${address}, reports the peer's address and port, and frees the port on close`, async () => {
      const port = await freePort(address);
      const acceptor = new TcpAcceptor(address, port);
      let accepted: (peer: TcpPeer) => void = unexpected('connection');
      const arrived = new Promise<TcpPeer>((resolve) => (accepted = resolve));
      await acceptor.listen((stream, peer) => {
        stream.end('hello');
        accepted(peer);
      }, unexpected('error'));
      try {
        const client = connect({ host: from, port, localAddress: from });
        const [data] = (await once(client, 'data')) as [Buffer];
        assert.equal(data.toString(), 'hello');
        assert.deepEqual(await arrived, { address: address === '::1' ? '::1' : '::ffff:127.0.0.1', port: client.localPort });
        client.destroy();
      } finally {
        await acceptor.close();
      }
      // The port is free again: a server of the test's own takes it.
      const again = createServer();
      again.listen(port, address);
      await once(again, 'listening');
      await new Promise((resolve) => again.close(resolve));
    });
  }
});
