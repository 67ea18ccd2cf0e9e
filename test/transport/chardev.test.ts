/**
 * The poller-driven Duplex over character devices and FIFOs (what a guest's virtio-serial port is
 * opened as), against real ones: a pty whose other end socat relays to our pipes, FIFOs read and
 * written by real processes, and /dev/random.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import { openCharDevice } from '../../src/native/chardev.js';
import { waitForPath } from '../support/processes.js';
import { fdsOpenOn, fdsOpenedSince, openFds, readBytes, readToEnd } from './helpers.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'chardev-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Spawns a process that the test stops (by PID) when it ends, if it is still running. */
function spawnOwned(t: TestContext, command: string, args: string[]): ChildProcessWithoutNullStreams {
  const child = spawn(command, args, { stdio: 'pipe' });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** socat with a raw pty at `link` on one side and its own stdin/stdout on the other. */
async function ptyRelay(t: TestContext, link: string): Promise<ChildProcessWithoutNullStreams> {
  const socat = spawnOwned(t, 'socat', [`PTY,link=${link},rawer`, 'STDIO']);
  await waitForPath(link, 'socat pty');
  return socat;
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

test('a pty: data both ways, end of stream when the other side closes, then close', async (t) => {
  const link = join(tempDir(t), 'port');
  const socat = await ptyRelay(t, link);
  const ptyPath = realpathSync(link);
  const device = openCharDevice(link);
  assert.equal(fdsOpenOn(ptyPath), 1);
  const closed = once(device, 'close');

  // Relay → device.
  socat.stdin.write('hello from the host side');
  assert.equal((await readBytes(device, 24)).toString(), 'hello from the host side');

  // Device → relay, big enough to fill the pty buffers (writes hit EAGAIN and wait for the poller).
  const payload = randomBytes(256 * 1024);
  const written = new Promise<void>((resolve, reject) => device.write(payload, (err) => (err ? reject(err) : resolve())));
  assert.equal(sha256(await readBytes(socat.stdout, payload.length)), sha256(payload));
  await written;

  // The relay's end of input makes socat close the pty master: the device reads end of stream.
  const rest = readToEnd(device);
  const socatExit = once(socat, 'exit');
  socat.stdin.end('last words');
  assert.equal((await rest).toString(), 'last words');
  await socatExit;

  device.destroy();
  await closed;
  assert.equal(device.destroyed, true);
  assert.equal(fdsOpenOn(ptyPath), 0, 'the device fd is closed');
});

test('FIFOs (not ttys): a writer process to us, and us to a reader process, 1 MiB each way', async (t) => {
  const dir = tempDir(t);
  const inbound = join(dir, 'in');
  const outbound = join(dir, 'out');
  execFileSync('mkfifo', [inbound, outbound]);

  const fromWriter = openCharDevice(inbound);
  const toReader = openCharDevice(outbound);
  assert.deepEqual([fdsOpenOn(inbound), fdsOpenOn(outbound)], [1, 1]);

  const incoming = randomBytes(1024 * 1024);
  const source = join(dir, 'incoming.bin');
  writeFileSync(source, incoming);
  const writer = spawnOwned(t, 'sh', ['-c', 'cat "$1" > "$2"', 'sh', source, inbound]);
  const writerExit = once(writer, 'exit');
  assert.equal(sha256(await readBytes(fromWriter, incoming.length)), sha256(incoming));
  assert.deepEqual(await writerExit, [0, null]);

  const outgoing = randomBytes(1024 * 1024);
  const reader = spawnOwned(t, 'sh', ['-c', 'head -c "$1" "$2" | sha256sum', 'sh', String(outgoing.length), outbound]);
  const digest = readToEnd(reader.stdout);
  const finished = once(toReader, 'finish');
  toReader.end(outgoing); // far more than a FIFO holds: backpressure through EAGAIN and the poller
  assert.equal((await digest).toString().split(' ')[0], sha256(outgoing));
  await finished;

  fromWriter.destroy();
  toReader.destroy();
  await Promise.all([once(fromWriter, 'close'), once(toReader, 'close')]);
  assert.deepEqual([fdsOpenOn(inbound), fdsOpenOn(outbound)], [0, 0], 'the FIFO fds are closed');
});

test('a writer that stops writing while we wait to read: no busy loop, data when it comes', async (t) => {
  const dir = tempDir(t);
  const fifo = join(dir, 'slow');
  execFileSync('mkfifo', [fifo]);
  const device = openCharDevice(fifo);
  t.after(() => device.destroy());
  const writer = spawnOwned(t, 'sh', ['-c', 'printf first > "$1"; sleep 1; printf second > "$1"', 'sh', fifo]);
  const writerExit = once(writer, 'exit');
  const cpuBefore = process.cpuUsage();
  assert.equal((await readBytes(device, 11)).toString(), 'firstsecond');
  await writerExit;
  const cpu = process.cpuUsage(cpuBefore);
  // Not a speed check: waiting 1 s in a poll loop would burn about 1 s of CPU; epoll burns ~none, and
  // the bound leaves room for whatever else the process (GC, libuv threads) does meanwhile.
  assert.ok(cpu.user + cpu.system < 200_000, `CPU while waiting: ${cpu.user + cpu.system} µs`);
});

test('a real non-tty character device: /dev/random reads', async () => {
  const device = openCharDevice('/dev/random');
  const bytes = await readBytes(device, 64);
  assert.equal(bytes.length, 64);
  assert.notDeepEqual(bytes, Buffer.alloc(64));
  device.destroy();
  await once(device, 'close');
});

test('paths that are not devices fail with clear errors', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'regular');
  writeFileSync(file, 'x');
  const fdsBefore = openFds();
  assert.throws(() => openCharDevice(file), {
    code: 'ERR_NOT_CHAR_DEVICE',
    message: `open ${file}: not a character device, FIFO or socket`,
  });
  assert.throws(() => openCharDevice(join(dir, 'missing')), {
    code: 'ENOENT',
    syscall: 'open',
    message: `ENOENT: no such file or directory, open ${join(dir, 'missing')}`,
  });
  assert.throws(() => openCharDevice(dir), { code: 'EISDIR' });
  assert.deepEqual(fdsOpenedSince(fdsBefore), []);
});

test('writing after the other side of a pty went away is an errno-coded error', async (t) => {
  const link = join(tempDir(t), 'port');
  const socat = await ptyRelay(t, link);
  const device = openCharDevice(link);
  const socatExit = once(socat, 'exit');
  socat.kill('SIGTERM');
  await socatExit;
  await sleep(10);
  const failed = once(device, 'error');
  const closed = new Promise((resolve) => device.once('close', resolve)); // once() would reject on 'error'
  device.write('nobody listens');
  const [err] = (await failed) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'EIO');
  assert.equal(err.syscall, 'write');
  await closed;
});
