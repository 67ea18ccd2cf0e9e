/**
 * Requests built by our encoder and signer, and our client side of the challenge-response, against the
 * real C fence_virtd: over TCP and over multicast with its connect-back, for every hash type.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Family, Hash, Request } from '../../src/protocol/index.js';
import { startCDaemon, type CDaemon } from '../support/c-daemon.js';
import { configText } from '../support/daemon-config-text.js';
import { multicastExchange, signedRequest, tcpExchange, sendToGroup } from '../support/raw-client.js';

const TCP_PORT = 24111;
const MCAST_PORT = 24112;
const CALLBACK_PORT = 24113;
const key = new AuthKey(Buffer.from('interop: our requests, their daemon'));
const daemons: CDaemon[] = [];

before(async () => {
  // One C daemon per listener, each ready once its socket is bound: the multicast one answers a
  // single datagram, so it must have joined the group before the first test sends.
  const listeners = [
    ['tcp', { address: '127.0.0.1', port: String(TCP_PORT) }, 'tcp', TCP_PORT],
    ['multicast', { interface: 'lo', port: String(MCAST_PORT) }, 'udp', MCAST_PORT],
  ] as const;
  for (const [name, settings, protocol, port] of listeners) {
    daemons.push(
      await startCDaemon({
        key: key.bytes,
        config: ({ keyFile }) =>
          configText({ listeners: { [name]: { ...settings, key_file: keyFile, hash: 'sha1' } }, backendUri: 'test+unix:///default' }),
        ready: { listening: { protocol, port } },
      }),
    );
  }
});
after(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
});

const toGroup = (datagram: Buffer) => sendToGroup(datagram, MCAST_PORT);

describe('the real C fence_virtd answers requests we signed', () => {
  for (const [name, hashType] of [
    ['sha1', Hash.SHA1],
    ['sha256', Hash.SHA256],
    ['sha512', Hash.SHA512],
  ] as const) {
    it(`over TCP, ${name}`, async () => {
      assert.deepEqual(
        await tcpExchange(TCP_PORT, signedRequest({ request: Request.STATUS, domain: 'test', hashType }, key), key, Hash.SHA256),
        {
          kind: 'code',
          code: 0,
        },
      );
      assert.deepEqual(await tcpExchange(TCP_PORT, signedRequest({ request: Request.HOSTLIST, hashType }, key), key, Hash.SHA256), {
        kind: 'hosts',
        names: ['test'],
      });
    });

    it(`over multicast with connect-back, ${name}`, async () => {
      const datagram = signedRequest(
        { request: Request.STATUS, domain: 'test', hashType, family: Family.INET, address: '127.0.0.1', port: CALLBACK_PORT },
        key,
      );
      assert.deepEqual(await multicastExchange(toGroup, datagram, CALLBACK_PORT, key, Hash.SHA256), { kind: 'code', code: 0 });
    });
  }

  it('drops our request when the signature does not match its key', async () => {
    const wrong = new AuthKey(Buffer.from('some other key'));
    const outcome = await tcpExchange(TCP_PORT, signedRequest({ request: Request.STATUS, domain: 'test' }, wrong), wrong, Hash.SHA256);
    assert.equal(outcome.kind, 'closed');
  });
});
