/**
 * Makes the V8 code cache of the daemon's bundle (`fence_virtd.main.js.cache`), run by the build:
 *
 *   node --import tsx packaging/make-code-cache.ts dist/fence_virtd.main.js dist/fence_virt
 *
 * A training run: the bundle, compiled as its loader (packaging/daemon-loader.cjs) compiles it, runs in
 * this process as a daemon with a TCP listener on loopback and the libvirt backend on a stand-in
 * libvirtd (packaging/libvirt-stand-in.ts), and the agent bundle asks it for one status. The cache is
 * taken once that answer has come, so it holds the code of a start and of a request's whole path (the
 * listener, the request core, the keyed hashes, the libvirt client), which an installed daemon then
 * neither parses nor compiles before its first answer (bench/results/startup-memory.md measures it).
 *
 * V8 accepts a cache only under the flags it was made with, and the installed daemon compiles its bundle
 * with none: the V8 flags it sets once started (src/daemon/v8-runtime-flags.ts) are not set in this run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import v8 from 'node:v8';
import { Script } from 'node:vm';
import { startLibvirtStandIn } from './libvirt-stand-in.js';

const [bundleArg, agentArg] = process.argv.slice(2);
if (!bundleArg || !agentArg) throw new Error('usage: make-code-cache.ts BUNDLE AGENT');
const bundle = resolve(bundleArg);
const agent = resolve(agentArg);
const DOMAIN = 'training';
const GIVE_UP_MS = 30_000;

const dir = mkdtempSync(join(tmpdir(), 'fvd-code-cache-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
setTimeout(() => {
  process.stderr.write(`make-code-cache: the training run did not finish within ${GIVE_UP_MS / 1000} s\n`);
  process.exit(1);
}, GIVE_UP_MS).unref();

const keyFile = join(dir, 'key');
writeFileSync(keyFile, 'training key, used once by the build', { mode: 0o600 });
const libvirtSocket = join(dir, 'libvirt-sock');
const libvirt = await startLibvirtStandIn(libvirtSocket);
const port = await freeLoopbackPort();
const config = join(dir, 'fence_virt.conf');
writeFileSync(
  config,
  `fence_virtd {\n\tlistener = "tcp";\n\tbackend = "libvirt";\n}\n` +
    `listeners {\n\ttcp {\n\t\taddress = "127.0.0.1";\n\t\tport = "${port}";\n\t\tkey_file = "${keyFile}";\n\t}\n}\n` +
    `backends {\n\tlibvirt {\n\t\turi = "test+unix:///default?socket=${libvirtSocket}";\n\t}\n}\n`,
  { mode: 0o600 },
);

// The bundle reads V8's module object when it sets a flag, so this keeps its flags from being set.
v8.setFlagsFromString = () => undefined;
process.argv = [process.execPath, bundle, '-F', '-f', config, '-p', join(dir, 'fence_virtd.pid')];
// Read and compiled as the loader does: the file is already wrapped in the module function.
const script = new Script(readFileSync(bundle, 'latin1'), { filename: bundle });
const module = { exports: {} };
script.runInThisContext().call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle));

// Until the daemon listens, the agent fails to connect; each try starts it afresh.
while ((await status()) !== 0) await new Promise((r) => setTimeout(r, 50));
writeFileSync(`${bundle}.cache`, script.createCachedData());
libvirt.close();
process.kill(process.pid, 'SIGTERM');

function status(): Promise<number> {
  const args = ['-T', '127.0.0.1', '-p', String(port), '-k', keyFile, '-o', 'status', '-H', DOMAIN, '-t', '5'];
  return new Promise((done) => execFile(process.execPath, [agent, ...args], (err) => done(err ? Number(err.code ?? 1) : 0)));
}

async function freeLoopbackPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port: free } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return free;
}
