import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connect, createServer, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { parseConfig } from '../../src/config/index.js';
import { toDaemonConfig } from '../../src/daemon-config/index.js';
import { FenceDaemon } from '../../src/daemon/fence-daemon.js';
import { decodeFenceRequest, Family, Hash, Request } from '../../src/protocol/index.js';
import { CapturedLog } from '../support/captured-log.js';
import { configText } from '../support/daemon-config-text.js';
import { multicastExchange, signedRequest, tcpExchange, sendToGroup } from '../support/raw-client.js';

const run = promisify(execFile);
const TCP_PORT = 24301;
const MCAST_PORT = 24302;
const CALLBACK_PORT = 24303;
const GUARDED_TCP_PORT = 24304;
const NODE = fileURLToPath(new URL('../fixtures/daemon/node.xml', import.meta.url));
const keyBytes = Buffer.from('daemon security test key\n');
const key = new AuthKey(keyBytes);

let dir: string;
let keyFile: string;
let daemon: FenceDaemon;
const captured = new CapturedLog(2);

async function startDaemon(text: string): Promise<FenceDaemon> {
  const config = toDaemonConfig(parseConfig(text, join(dir, 'fence_virt.conf')));
  return FenceDaemon.start(config, captured.logger);
}

const sendDatagram = (datagram: Buffer) => sendToGroup(datagram, MCAST_PORT);

/**
 * A signed request's connection, and what the daemon sends on it: over TCP, connected to the daemon;
 * over multicast, sent to the group and the daemon's connect-back accepted.
 */
async function session(via: 'multicast' | 'tcp', request: number, domain: string, seqno: number): Promise<[Socket, Buffer[]]> {
  const collect = (socket: Socket): [Socket, Buffer[]] => {
    const sent: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => sent.push(chunk)).on('error', () => undefined);
    return [socket, sent];
  };
  if (via === 'tcp') {
    const socket = connect(TCP_PORT, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(signedRequest({ request, domain, seqno }, key));
    return collect(socket);
  }
  const server = createServer();
  server.listen(CALLBACK_PORT, '127.0.0.1');
  await once(server, 'listening');
  try {
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    await sendDatagram(signedRequest({ request, domain, seqno, family: Family.INET, address: '127.0.0.1', port: CALLBACK_PORT }, key));
    const [socket] = await accepted;
    return collect(socket);
  } finally {
    server.close();
  }
}

function status(domain: string) {
  return tcpExchange(TCP_PORT, signedRequest({ request: Request.STATUS, domain }, key), key, Hash.SHA256);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-sec-'));
  keyFile = join(dir, 'key');
  await writeFile(keyFile, keyBytes, { mode: 0o600 });
  daemon = await startDaemon(
    configText({
      listeners: {
        tcp: { address: '127.0.0.1', port: String(TCP_PORT), key_file: keyFile },
        multicast: { interface: 'lo', port: String(MCAST_PORT), key_file: keyFile },
      },
      backendUri: `test+unix://${NODE}`,
    }),
  );
});
after(async () => {
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('bad requests are refused and nothing is fenced', () => {
  it('answers a correct request (baseline)', async () => {
    assert.deepEqual(await status('vm-a'), { kind: 'code', code: 0 });
  });

  it('closes a TCP request signed with the wrong key without a byte', async () => {
    const other = new AuthKey(Buffer.from('not the key'));
    const outcome = await tcpExchange(TCP_PORT, signedRequest({ request: Request.OFF, domain: 'vm-a' }, other), other, Hash.SHA256);
    assert.equal(outcome.kind, 'closed');
    await captured.waitFor(/key mismatch/);
    assert.deepEqual(await status('vm-a'), { kind: 'code', code: 0 }, 'vm-a is still on');
  });

  it('closes a request hashed weaker than the minimum', async () => {
    for (const hashType of [Hash.NONE, Hash.SHA1]) {
      const outcome = await tcpExchange(TCP_PORT, signedRequest({ request: Request.OFF, domain: 'vm-a', hashType }, key), key, Hash.SHA256);
      assert.equal(outcome.kind, 'closed');
    }
    await captured.waitFor(/weaker than the required sha256/);
    assert.deepEqual(await status('vm-a'), { kind: 'code', code: 0 });
  });

  it('drops truncated and oversized datagrams without connecting back', async () => {
    const good = signedRequest(
      { request: Request.OFF, domain: 'vm-a', family: Family.INET, address: '127.0.0.1', port: CALLBACK_PORT },
      key,
    );
    for (const datagram of [good.subarray(0, 100), Buffer.concat([good, Buffer.alloc(24)])]) {
      const outcome = await multicastExchange(sendDatagram, datagram, CALLBACK_PORT, key, Hash.SHA256, 800);
      assert.equal(outcome.kind, 'closed');
    }
    await captured.waitFor(/dropping 100-byte datagram/);
    await captured.waitFor(/dropping 200-byte datagram/);
    assert.deepEqual(await status('vm-a'), { kind: 'code', code: 0 });
  });

  it('serves a valid multicast request, then ignores its replay within 10 s', async () => {
    const datagram = signedRequest(
      { request: Request.STATUS, domain: 'vm-b', family: Family.INET, address: '127.0.0.1', port: CALLBACK_PORT },
      key,
    );
    assert.deepEqual(await multicastExchange(sendDatagram, datagram, CALLBACK_PORT, key, Hash.SHA256), { kind: 'code', code: 0 });
    assert.equal((await multicastExchange(sendDatagram, datagram, CALLBACK_PORT, key, Hash.SHA256, 800)).kind, 'closed');
    await captured.waitFor(/dropping duplicate request .*status "vm-b"/);
  });

  it('remembers a failed connect-back, so a replayed packet does not make the daemon try again', async () => {
    // Nobody listens on the connect-back port: the daemon's connect fails (refused).
    const unanswered = signedRequest(
      { request: Request.STATUS, domain: 'vm-a', family: Family.INET, address: '127.0.0.1', port: CALLBACK_PORT + 10 },
      key,
    );
    await sendDatagram(unanswered);
    await captured.waitFor(new RegExp(`failed to call back 127\\.0\\.0\\.1 port ${CALLBACK_PORT + 10}`));
    await sendDatagram(unanswered);
    await captured.waitFor(/connecting back to 127\.0\.0\.1 port \d+ failed moments ago/);
    const attempts = captured.matching(new RegExp(`failed to call back 127\\.0\\.0\\.1 port ${CALLBACK_PORT + 10}`)).length;
    assert.equal(attempts, 1, 'the replay caused no second connect-back');
  });

  for (const [via, seqnos] of [
    ['multicast', 71000],
    ['tcp', 72000],
  ] as const) {
    it(`asks for a signed ${via} status while the client has yet to prove the key, and answers only once it has`, async () => {
      const seqno = seqnos + 1;
      const [socket, sent] = await session(via, Request.STATUS, 'vm-a', seqno);
      // libvirt was asked before the client proved the key (src/listeners/authenticated-session.ts).
      await captured.waitFor(
        new RegExp(`audit: listener=${via} requester=127\\.0\\.0\\.1 target="vm-a" op=status seqno=${seqno} result=on`),
      );
      // Our challenge, then a wrong answer to the daemon's: it closes the connection without the answer byte.
      socket.end(Buffer.concat([randomBytes(64), Buffer.alloc(64)]));
      await once(socket, 'close');
      assert.equal(Buffer.concat(sent).length, 128, 'its answer and challenge, and no answer byte after them');
      await captured.waitFor(/challenge-response with 127\.0\.0\.1 failed/);
    });

    it(`runs no ${via} off before the client has proven the key`, async () => {
      const seqno = seqnos + 2;
      const [socket, sent] = await session(via, Request.OFF, 'vm-a', seqno);
      socket.end(Buffer.concat([randomBytes(64), Buffer.alloc(64)]));
      await once(socket, 'close');
      assert.equal(Buffer.concat(sent).length, 128);
      await captured.waitFor(/challenge-response with 127\.0\.0\.1 failed/);
      assert.deepEqual(captured.matching(new RegExp(`op=off seqno=${seqno}`)), []);
      assert.deepEqual(await status('vm-a'), { kind: 'code', code: 0 }, 'vm-a is still on');
    });
  }

  it('ignores a TCP replay of an executed off within 10 s', async () => {
    const off = signedRequest({ request: Request.OFF, domain: 'vm-b' }, key);
    assert.deepEqual(await tcpExchange(TCP_PORT, off, key, Hash.SHA256), { kind: 'code', code: 0 });
    assert.equal((await tcpExchange(TCP_PORT, off, key, Hash.SHA256)).kind, 'closed');
    // Same seqno but a different case of the name is still the same request
    // (docs/protocol.md#duplicate-window).
    const upper = signedRequest({ request: Request.OFF, domain: 'VM-B', seqno: decodeFenceRequest(off).seqno }, key);
    assert.equal((await tcpExchange(TCP_PORT, upper, key, Hash.SHA256)).kind, 'closed');
    assert.deepEqual(await status('vm-b'), { kind: 'code', code: 2 });
  });

  it('fails the challenge-response of a client using another auth algorithm', async () => {
    const outcome = await tcpExchange(TCP_PORT, signedRequest({ request: Request.OFF, domain: 'vm-a' }, key), key, Hash.SHA512);
    assert.equal(outcome.kind, 'closed');
    await captured.waitFor(/challenge-response with 127\.0\.0\.1 failed/);
    assert.deepEqual(await status('vm-a'), { kind: 'code', code: 0 });
  });

  it("answers a stalled peer's neighbour at once", async () => {
    const { connect } = await import('node:net');
    const stalled = connect(TCP_PORT, '127.0.0.1');
    // A request, then silence where the challenge should be: the daemon waits up to 10 s for it.
    stalled.write(signedRequest({ request: Request.STATUS, domain: 'vm-a' }, key));
    let stalledClosed = false;
    stalled.on('close', () => (stalledClosed = true)).on('error', () => undefined);
    await sleep(100);
    assert.deepEqual(await status('vm-a'), { kind: 'code', code: 0 });
    assert.equal(stalledClosed, false, 'the other request was answered while the first still waited');
    stalled.destroy();
  });

  it('the real C fence_virt is served by the same daemon', async () => {
    const { stdout } = await run('/usr/sbin/fence_virt', ['-T', '127.0.0.1', '-p', String(TCP_PORT), '-k', keyFile, '-o', 'list']);
    assert.match(stdout, /^vm-a {29}d0000000-0000-4000-8000-00000000000a on$/m);
    assert.match(stdout, /^vm-off {27}d0000000-0000-4000-8000-0000000000ff off$/m);
  });
});

describe('groups', () => {
  let guarded: FenceDaemon;
  before(async () => {
    guarded = await startDaemon(
      configText({
        listeners: { tcp: { address: '127.0.0.1', port: String(GUARDED_TCP_PORT), key_file: keyFile } },
        backendUri: `test+unix://${NODE}`,
        groups: [
          { name: 'others', ip: ['127.0.0.2'], uuid: ['vm-a'] },
          { name: 'local', ip: ['127.0.0.1'], uuid: ['vm-b', 'D0000000-0000-4000-8000-0000000000FF'] },
        ],
      }),
    );
  });
  after(() => guarded?.stop());

  const ask = (request: number, domain: string) => tcpExchange(GUARDED_TCP_PORT, signedRequest({ request, domain }, key), key, Hash.SHA256);

  it("refuses a target outside the requester's groups with PERM and fences nothing", async () => {
    assert.deepEqual(await ask(Request.OFF, 'vm-a'), { kind: 'code', code: 3 });
    assert.deepEqual(await ask(Request.STATUS, 'vm-a'), { kind: 'code', code: 3 });
    assert.deepEqual(await ask(Request.STATUS, 'vm-b'), { kind: 'code', code: 0 });
    // Name and UUID are separate entries: vm-off is listed by UUID only.
    assert.deepEqual(await ask(Request.STATUS, 'vm-off'), { kind: 'code', code: 3 });
    assert.deepEqual(await ask(Request.STATUS, 'd0000000-0000-4000-8000-0000000000ff'), { kind: 'code', code: 2 });
    await captured.waitFor(/op=off .*result=permission-denied/);
  });

  it('filters the host list and leaves monitor and null alone', async () => {
    assert.deepEqual(await ask(Request.HOSTLIST, ''), { kind: 'hosts', names: ['vm-b', 'vm-off'] });
    assert.deepEqual(await ask(Request.DEVSTATUS, ''), { kind: 'code', code: 0 });
    assert.deepEqual(await ask(Request.NULL, 'vm-a'), { kind: 'code', code: 1 });
  });
});
