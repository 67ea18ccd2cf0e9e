/**
 * The built daemon run as installed (dist/fence_virtd executed through its shebang line, as the systemd
 * unit does): the descriptor limit a service manager gives it does not cap how many guest sockets and
 * connections it can hold, its shebang line gives Node no V8 flag (one would make Node compile its
 * built-in modules afresh at every start instead of using the code cache it ships for them), and the
 * code cache the build made of the bundle fits this Node. The files it writes are written by the bundle as
 * the loader runs it (a fencing action's history entry, `-c --set`), not only by the sources.
 *
 * Node itself raises RLIMIT_NOFILE's soft limit to the hard limit when it starts (its platform set-up
 * does, for every Node process), so the daemon needs no setrlimit of its own; this test holds that in
 * place for the way the daemon is started.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Script } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Hash, Request } from '../../src/protocol/index.js';
import { configText } from '../support/daemon-config-text.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { REPO, runTool, waitUntil } from '../support/processes.js';
import { signedRequest, tcpExchange } from '../support/raw-client.js';
import { needsTools } from '../support/requirement.js';

const PORT = 24511;
const FENCE_PORT = 24512;
const VSOCK_PORT = 24513;
const INSTALLED = `${REPO}dist/fence_virtd`;
const NODE = fileURLToPath(new URL('../fixtures/daemon/node.xml', import.meta.url));
let dir: string;
let conf: string;
let keyFile: string;
const KEY_TEXT = 'a key';
const KEY = new AuthKey(Buffer.from(KEY_TEXT));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-installed-'));
  conf = join(dir, 'fence_virt.conf');
  keyFile = join(dir, 'key');
  await writeFile(keyFile, KEY_TEXT, { mode: 0o600 });
  await writeFile(
    conf,
    configText({ listeners: { tcp: { address: '127.0.0.1', port: String(PORT), key_file: keyFile } }, backendUri: 'test+unix:///default' }),
    { mode: 0o600 },
  );
});
after(() => rm(dir, { recursive: true, force: true }));

describe('fence_virtd as installed', { skip: needsTools('/usr/bin/prlimit') }, () => {
  it('raises the descriptor soft limit to the hard limit and runs node without V8 flags', async () => {
    // systemd's default for services: soft 1024; the hard limit is what the daemon may use.
    const daemon = DaemonProcess.start('/usr/bin/prlimit', ['--nofile=1024:4096', INSTALLED, '-F', '-f', conf, '-p', join(dir, 'pid')]);
    try {
      await daemon.waitForOutput(/listening on 127\.0\.0\.1:24511/);
      // prlimit execs the daemon's interpreter, so the PID is the daemon's.
      const limits = await readFile(`/proc/${daemon.pid}/limits`, 'utf8');
      const [, soft, hard] = /^Max open files\s+(\d+)\s+(\d+)/m.exec(limits) ?? [];
      assert.deepEqual([soft, hard], ['4096', '4096'], limits);
      const argv = (await readFile(`/proc/${daemon.pid}/cmdline`, 'utf8')).split('\0');
      assert.equal(argv[1], INSTALLED, argv.join(' '));
    } finally {
      await daemon.stop();
    }
  });

  it("compiles the bundle with the build's code cache, as its loader (packaging/daemon-loader.cjs) does", async () => {
    const main = `${REPO}dist/fence_virtd.main.js`;
    const source = await readFile(main, 'latin1');
    // Read as Latin-1, the text is the bundle only if every byte is ASCII; V8 checks a cache against the
    // source's length, not its characters, so an accepted cache would not show a wrong decoding.
    assert.doesNotMatch(source, /[\u0080-\u00ff]/, 'a byte above 0x7f');
    const script = new Script(source, { filename: main, cachedData: await readFile(`${main}.cache`) });
    assert.equal(script.cachedDataRejected, false);
  });

  it('starts and answers a status with its code cache missing, cut short, damaged or larger than the bundle', async () => {
    // What an upgrade of Node (a cache V8 no longer accepts) or a damaged package leaves: the loader reads
    // the bundle and the cache into one buffer of the larger size, and V8 must then refuse the cache and
    // compile from source. A copy of the installed tree, so the build's own files stay as they are.
    const tree = await mkdtemp(join(tmpdir(), 'fvd-cache-'));
    try {
      for (const file of ['fence_virtd', 'fence_virtd.main.js', 'package.json']) await copyFile(`${REPO}dist/${file}`, join(tree, file));
      const cache = await readFile(`${REPO}dist/fence_virtd.main.js.cache`);
      const sourceSize = (await readFile(`${REPO}dist/fence_virtd.main.js`)).length;
      const garbage = (size: number) => Buffer.alloc(size, 0xa5);
      const variants: [string, Buffer | undefined][] = [
        ['missing', undefined],
        ['cut short', cache.subarray(0, cache.length >> 1)],
        ['damaged', Buffer.concat([garbage(64), cache.subarray(64)])],
        ['larger than the bundle', garbage(sourceSize * 2)],
      ];
      for (const [what, bytes] of variants) {
        const cacheFile = join(tree, 'fence_virtd.main.js.cache');
        await rm(cacheFile, { force: true });
        if (bytes) await writeFile(cacheFile, bytes);
        const daemon = DaemonProcess.start(join(tree, 'fence_virtd'), ['-F', '-f', conf, '-p', join(dir, 'cache-variant.pid')]);
        try {
          await daemon.waitForOutput(/serving with backend libvirt and 1 listener/);
          // The code the cache would have held runs compiled from source: a whole request's path.
          const answer = await tcpExchange(PORT, signedRequest({ request: Request.STATUS, domain: 'test' }, KEY), KEY, Hash.SHA256);
          assert.deepEqual(answer, { kind: 'code', code: 0 }, daemon.output());
        } catch (err) {
          throw new Error(`code cache ${what}: ${(err as Error).message}`);
        } finally {
          await daemon.stop();
        }
      }
    } finally {
      await rm(tree, { recursive: true, force: true });
    }
  });

  it('loads the Node built-ins its listeners start with from the code cache Node ships for them', async () => {
    // The daemon sets V8 flags once started (src/daemon/v8-runtime-flags.ts); Node then compiles a built-in
    // loaded later from source. NODE_DEBUG_NATIVE=CODE_CACHE has Node say, for each built-in it compiles,
    // whether its code cache was accepted. perf_hooks is loaded later on purpose: at the first sample of
    // the event-loop delay, after the start. Every listener module is started (vsock only binds and
    // listens: nothing here connects to it).
    const all = join(dir, 'every-listener.conf');
    const listeners = {
      tcp: { address: '127.0.0.1', port: String(PORT), key_file: keyFile },
      multicast: { address: '225.0.0.12', port: String(FENCE_PORT), interface: 'lo', key_file: keyFile },
      serial: { uri: 'test+unix:///default', path: dir, mode: 'serial' },
      vsock: { port: String(VSOCK_PORT), key_file: keyFile },
    };
    await writeFile(all, configText({ listeners, backendUri: 'test+unix:///default' }), { mode: 0o600 });
    const daemon = DaemonProcess.start(INSTALLED, ['-F', '-f', all, '-p', join(dir, 'cache.pid')], { NODE_DEBUG_NATIVE: 'CODE_CACHE' });
    try {
      await daemon.waitForOutput(/serving with backend libvirt and 4 listener/);
      const compiled = [...daemon.output().matchAll(/^Code cache of (\S+) .* is (accepted|rejected)$/gm)];
      assert.ok(
        compiled.some(([, id]) => id === 'dgram'),
        'the multicast listener loaded dgram',
      );
      const rejected = compiled.filter(
        ([, id, verdict]) => verdict === 'rejected' && !/^(perf_hooks|internal\/perf\/|internal\/histogram)/.test(id!),
      );
      assert.deepEqual(
        rejected.map(([, id]) => id),
        [],
      );
    } finally {
      await daemon.stop();
    }
  });

  it('leaves no import() of a module outside the bundle, which fails in a script compiled by its loader', async () => {
    // esbuild turns import() of the bundle's own modules into initialisers; one of anything else stays.
    assert.doesNotMatch(await readFile(`${REPO}dist/fence_virtd.main.js`, 'utf8'), /\bimport\(\s*["'`]/);
  });

  it('records a fencing action in its history file', { skip: needsTools('/usr/sbin/fence_virt') }, async () => {
    const historyFile = join(dir, 'state', 'history.jsonl');
    const fencing = join(dir, 'fencing.conf');
    await writeFile(
      fencing,
      configText({
        listeners: { tcp: { address: '127.0.0.1', port: String(FENCE_PORT), key_file: keyFile } },
        backendUri: `test+unix://${NODE}`,
        extraDaemonKeys: { history_file: historyFile },
      }),
      { mode: 0o600 },
    );
    const daemon = DaemonProcess.start(INSTALLED, ['-F', '-f', fencing, '-p', join(dir, 'fencing.pid')]);
    try {
      await daemon.waitForOutput(/listening on 127\.0\.0\.1:24512/);
      const off = await runTool('/usr/sbin/fence_virt', [
        '-T',
        '127.0.0.1',
        '-p',
        String(FENCE_PORT),
        '-k',
        keyFile,
        '-t',
        '5',
        '-o',
        'off',
        '-H',
        'vm-a',
      ]);
      assert.equal(off.code, 0, off.stdout + off.stderr + daemon.output());
      const entries = async () => (await readFile(historyFile, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      await waitUntil(async () => (await entries()).length === 1, `the history entry in ${historyFile}\n${daemon.output()}`);
      const [entry] = (await entries()).map((line) => JSON.parse(line) as { op: string; target: string; result: string });
      assert.deepEqual([entry?.op, entry?.target, entry?.result], ['off', 'vm-a', 'success']);
      assert.doesNotMatch(daemon.output(), /cannot record/);
    } finally {
      await daemon.stop();
    }
  });

  it('writes a configuration with -c --set', async () => {
    const file = join(dir, 'set.conf');
    await writeFile(file, await readFile(conf), { mode: 0o600 });
    const result = await runTool(INSTALLED, ['-c', '-f', file, '--set', `listeners/tcp/port=${FENCE_PORT + 1}`]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(await readFile(file, 'utf8'), new RegExp(`port = "${FENCE_PORT + 1}"`));
    assert.equal(await readFile(`${file}.bak`, 'utf8'), await readFile(conf, 'utf8'));
  });
});
