import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { AuthKey, verifyRequest } from '../../src/auth/index.js';
import { decodeFenceRequest, Family, Hash, Request } from '../../src/protocol/index.js';

// Runs inside the test runner's private network namespace (lo + multicast route only).
const PORT = 24101;
const GROUP = '225.0.0.12';
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-xvm-'));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const [hashName, hash] of [
  ['sha1', Hash.SHA1],
  ['sha256', Hash.SHA256],
  ['sha512', Hash.SHA512],
] as const) {
  it(`accepts the datagram the real C fence_xvm sends (hash ${hashName})`, async () => {
    const keyBytes = Buffer.from(`interop key for ${hashName}\n`);
    const keyPath = join(dir, `key-${hashName}`);
    await writeFile(keyPath, keyBytes, { mode: 0o600 });

    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    sock.bind(PORT);
    await once(sock, 'listening');
    sock.addMembership(GROUP, '127.0.0.1');
    const received = once(sock, 'message') as Promise<[Buffer, unknown]>;

    const agent = spawn(
      '/usr/sbin/fence_xvm',
      ['-o', 'off', '-H', 'vm-α1', '-k', keyPath, '-c', hashName, '-p', String(PORT), '-t', '3', '-r', '10'],
      { stdio: 'ignore' },
    );
    try {
      const [msg] = await received;
      assert.equal(msg.length, 176);
      assert.deepEqual(verifyRequest(msg, new AuthKey(keyBytes), Hash.SHA1), { ok: true, hashType: hash });
      assert.equal(verifyRequest(msg, new AuthKey(Buffer.from('wrong')), Hash.SHA1).ok, false);
      const req = decodeFenceRequest(msg);
      assert.equal(req.request, Request.OFF);
      assert.equal(req.domain, 'vm-α1');
      assert.equal(req.family, Family.INET);
      assert.equal(req.address, '127.0.0.1');
      assert.equal(req.port, PORT);
      assert.ok(req.seqno >= 0 && req.seqno < 1_000_000, 'seqno is the microseconds of the client clock');
    } finally {
      agent.kill('SIGTERM');
      sock.close();
      if (agent.exitCode === null) await once(agent, 'exit');
    }
  });
}
