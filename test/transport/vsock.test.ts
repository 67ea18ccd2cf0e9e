/**
 * AF_VSOCK through the native addon against the real kernel: bind, listen, EADDRINUSE, bad
 * addresses, closing, fd and handle hygiene. NEVER connect: these machines have no vsock loopback
 * transport, so a connect to any CID goes to the real host. Ports 25000-25099 belong to this file.
 */
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { loadAddon } from '../../src/native/addon.js';
import { connectVsock, explainVsockError, listenVsock, VMADDR_CID_ANY, VsockAddressError, vsockLocalCid } from '../../src/native/vsock.js';
import { fdsOpenedSince, openFds, readBytes } from './helpers.js';

const here = new URL('.', import.meta.url).pathname;

/** Listening vsock ports per `ss`, or undefined where ss cannot list vsock (no vsock_diag). */
function ssListeningPorts(): number[] | undefined {
  let out: string;
  try {
    out = execFileSync('ss', ['--vsock', '-l', '-n', '-H'], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
  const ports = out
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => Number(line.trim().split(/\s+/)[4]?.split(':').pop()));
  return ports.length ? ports : undefined;
}

test('listening on VMADDR_CID_ANY binds the port; a second listen gets EADDRINUSE', async (t) => {
  const server = listenVsock({ port: 25000 });
  t.after(() => server.close());
  assert.deepEqual(server.address(), { cid: VMADDR_CID_ANY, port: 25000 });
  assert.equal(server.listening, true);

  const listed = ssListeningPorts();
  if (listed) assert.ok(listed.includes(25000), `ss lists ${listed.join(', ')}`);
  else t.diagnostic('ss --vsock lists nothing here (no vsock_diag); the EADDRINUSE below proves the bind');

  assert.throws(
    () => listenVsock({ port: 25000 }),
    (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'EADDRINUSE');
      assert.equal(err.syscall, 'bind');
      assert.equal(err.errno, -98);
      assert.match(err.message, /^EADDRINUSE: address already in use, bind vsock 4294967295:25000$/);
      return true;
    },
  );

  server.close();
  assert.equal(server.listening, false);
  await once(server, 'close');
  // The port is free again once closed.
  listenVsock({ port: 25000 }).close();
});

test('the local CID from /dev/vsock; binding a CID that is not ours is EADDRNOTAVAIL', (t) => {
  const cid = vsockLocalCid();
  t.diagnostic(`local CID ${cid}`);
  assert.ok(Number.isInteger(cid) && cid > 2 && cid < VMADDR_CID_ANY);
  const local = listenVsock({ cid, port: 25001 });
  assert.deepEqual(local.address(), { cid, port: 25001 });
  local.close();
  assert.throws(() => listenVsock({ cid: cid + 1000, port: 25002 }), { code: 'EADDRNOTAVAIL', syscall: 'bind' });
});

test('bad CIDs, ports and backlogs are rejected before any syscall', () => {
  for (const cid of [-1, 1.5, 2 ** 32, Number.NaN]) {
    assert.throws(
      () => listenVsock({ cid, port: 25003 }),
      (err: Error) => {
        assert.ok(err instanceof VsockAddressError);
        assert.equal((err as VsockAddressError).code, 'ERR_VSOCK_ADDRESS');
        assert.match(err.message, /^invalid vsock CID .*: must be an integer from 0 to 4294967295$/);
        return true;
      },
    );
  }
  assert.throws(() => listenVsock({ port: -5 }), /invalid vsock port -5/);
  assert.throws(() => listenVsock({ port: 25003, backlog: 0.5 }), /invalid vsock backlog 0.5/);
  // connect: these fail in the argument checks; no socket is even created.
  assert.throws(() => connectVsock({ cid: VMADDR_CID_ANY, port: 25003 }), VsockAddressError);
  assert.throws(() => connectVsock({ cid: 3, port: 2 ** 32 }), VsockAddressError);

  // The addon checks again on its own (before socket()), for callers that bypass the wrapper.
  const addon = loadAddon();
  const noop = (): void => undefined;
  assert.throws(() => addon.connect(VMADDR_CID_ANY, 25003, noop), {
    name: 'RangeError',
    code: 'ERR_OUT_OF_RANGE',
    message: 'cid must be an integer from 0 to 4294967294, got 4294967295',
  });
  assert.throws(() => addon.connect(-1, 25003, noop), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => addon.listen(0.5, 25003, 1, noop), { message: 'cid must be an integer from 0 to 4294967295, got 0.5' });
  assert.throws(() => addon.connect('2' as unknown as number, 25003, noop), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => addon.listen(VMADDR_CID_ANY, 25003, 1, 'x' as unknown as () => void), { message: 'onEvent must be a function' });
});

test('a kernel without vsock gets an error that names the cause', () => {
  // Mock: socket(AF_VSOCK) cannot be made to fail here (the kernel has vsock and it is not per
  // namespace), so this feeds the translation the error the addon throws in that case.
  const err: NodeJS.ErrnoException = Object.assign(new Error('EAFNOSUPPORT: address family not supported, socket vsock 4294967295:1229'), {
    code: 'EAFNOSUPPORT',
    errno: -97,
    syscall: 'socket',
  });
  const explained = explainVsockError(err);
  assert.equal(explained.code, 'EAFNOSUPPORT');
  assert.match(explained.message, /^AF_VSOCK is not available in this kernel \(socket\(\) failed with EAFNOSUPPORT\)/);
  const other = explainVsockError(Object.assign(new Error('EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'bind' }));
  assert.equal(other.message, 'EADDRINUSE');
});

test('accept with no connection waiting answers null (EAGAIN), and a closed handle refuses calls', () => {
  const noop = (): void => undefined;
  const handle = loadAddon().listen(VMADDR_CID_ANY, 25004, 4, noop);
  assert.equal(handle.accept(noop), null);
  handle.socketError(); // no pending error on a listening socket
  assert.throws(() => handle.shutdown(), { code: 'ENOTCONN', syscall: 'shutdown' });
  handle.close();
  handle.close(); // idempotent
  assert.throws(() => handle.accept(noop), { code: 'EBADF', message: 'EBADF: bad file descriptor, handle (already closed)' });
  assert.throws(() => handle.poll(true, false), { code: 'EBADF' });
});

test('listening, failing and closing leaks no fds', async () => {
  const before = openFds();
  for (let i = 0; i < 20; i++) {
    const server = listenVsock({ port: 25010 + (i % 5) });
    assert.throws(() => listenVsock({ port: 25010 + (i % 5) }), { code: 'EADDRINUSE' });
    assert.throws(() => listenVsock({ cid: 999_999, port: 25015 }), { code: 'EADDRNOTAVAIL' });
    server.close();
  }
  await sleep(10); // let libuv finish closing the pollers
  assert.deepEqual(fdsOpenedSince(before), []);
});

test('a process exits by itself once its last vsock and device handles are closed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vsock-exit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'child-holder.ts'), '25020', fifo], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
  t.after(() => {
    clearTimeout(guard);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit');
  assert.equal((await readBytes(child.stdout, 6)).toString(), 'ready\n');

  // The open listener and the reading device keep it alive...
  await sleep(500);
  assert.equal(child.exitCode, null, 'the child must stay alive while its handles are open');
  // ...and closing them is all it takes to let it end on its own.
  child.kill('SIGUSR2');
  const [code, signal] = await exited;
  assert.equal(signal, null, 'the child was killed: it did not exit by itself after closing its handles');
  assert.equal(code, 0);
});
