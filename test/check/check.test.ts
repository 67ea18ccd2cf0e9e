/**
 * `fence_virtd --check` as a process, on a good configuration and on each thing that breaks fencing:
 * against the real libvirtd (test driver, a node file with serial sockets), real sockets holding
 * ports, a real dummy interface, a network namespace without a multicast route, the C daemon.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listenVsock } from '../../src/native/vsock.js';
import { cDaemonMissing, startCDaemon } from '../support/c-daemon.js';
import { OUR_DAEMON, runTool } from '../support/processes.js';

const PORTS = { tcp: 30201, multicast: 30202, busy: 30203, cDaemon: 30204, vsock: 30205, other: 30206 };
let dir: string;
let key: string;
let sockets: string;
let nodeUri: string;

interface CheckRun {
  code: number | null;
  output: string;
  lines: Array<{ verdict: string; subject: string; text: string }>;
}

/** Writes `config` (0600) and runs `fence_virtd --check -f` on it, optionally through a wrapper command. */
async function check(config: string, wrapper: string[] = []): Promise<CheckRun> {
  const file = join(dir, `check-${randomBytes(4).toString('hex')}.conf`);
  await writeFile(file, config, { mode: 0o600 });
  const command = [...wrapper, OUR_DAEMON.command, ...OUR_DAEMON.args, '--check', '-f', file];
  const result = await runTool(command[0] as string, command.slice(1), { timeoutMs: 60_000 });
  const lines = result.stdout
    .split('\n')
    .map((line) => /^(OK|WARN|FAIL) +(.+?): (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ verdict: m[1] as string, subject: m[2] as string, text: m[3] as string }));
  return { code: result.code, output: result.stdout + result.stderr, lines };
}

/** The one line about `subject` (a prefix) whose text matches `pattern`, with its verdict. */
function line(run: CheckRun, verdict: string, subject: string, pattern: RegExp): void {
  const found = run.lines.find((l) => l.subject.startsWith(subject) && pattern.test(l.text));
  assert.ok(found, `no line for ${subject} matching ${pattern}:\n${run.output}`);
  assert.equal(found.verdict, verdict, `${subject}: ${found.text}`);
  if (verdict !== 'OK') assert.match(found.text, / \| fix: \S/, 'a WARN or FAIL names a fix');
}

const daemonBlock = (listener: string, backend = 'libvirt') => `fence_virtd { listener = "${listener}"; backend = "${backend}"; }\n`;
const libvirt = (uri = 'test+unix:///default') => `backends { libvirt { uri = "${uri}"; } }\n`;
const tcp = (extra = '') => `listeners { tcp { address = "127.0.0.1"; port = "${PORTS.tcp}"; key_file = "${key}"; ${extra} } }\n`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-check-'));
  key = join(dir, 'fence_xvm.key');
  await writeFile(key, randomBytes(4096), { mode: 0o600 });
  sockets = join(dir, 'sockets');
  await mkdir(sockets);
  // A test-driver node whose running guest has a serial socket and a channel socket in `sockets`.
  const nodeFile = join(dir, 'node.xml');
  const domain = (name: string, uuid: string, devices: string, state = '') =>
    `<domain type="test" xmlns:test="http://libvirt.org/schemas/domain/test/1.0"><name>${name}</name><uuid>${uuid}</uuid>` +
    `<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices>${devices}</devices>${state}</domain>`;
  await writeFile(
    nodeFile,
    '<node>' +
      domain(
        'guest-a',
        'd0000000-0000-4000-8000-0000000000a1',
        `<serial type='unix'><source mode='bind' path='${sockets}/guest-a'/><target port='1'/></serial>`,
      ) +
      domain(
        'guest-b',
        'd0000000-0000-4000-8000-0000000000b1',
        `<channel type='unix'><source mode='bind' path='${sockets}/guest-b'/><target type='virtio' name='fence'/></channel>`,
      ) +
      domain(
        'guest-off',
        'd0000000-0000-4000-8000-0000000000f1',
        `<serial type='unix'><source mode='bind' path='${sockets}/guest-off'/><target port='1'/></serial>`,
        '<test:runstate>5</test:runstate>',
      ) +
      '</node>',
  );
  nodeUri = `test://${nodeFile}`;
});
after(() => rm(dir, { recursive: true, force: true }));

describe('fence_virtd --check', () => {
  it('a good configuration: every check OK, exit 0', async () => {
    const run = await check(
      daemonBlock('tcp multicast serial vsock') +
        'listeners {\n' +
        `  tcp { address = "127.0.0.1"; port = "${PORTS.tcp}"; key_file = "${key}"; }\n` +
        `  multicast { address = "225.0.0.12"; port = "${PORTS.multicast}"; interface = "lo"; key_file = "${key}"; }\n` +
        `  serial { uri = "${nodeUri}"; path = "${sockets}"; mode = "serial"; }\n` +
        `  vsock { port = "${PORTS.vsock}"; key_file = "${key}"; }\n` +
        '}\n' +
        libvirt(nodeUri) +
        'groups { group { name = "cluster"; ip = "127.0.0.1"; uuid = "guest-a"; uuid = "d0000000-0000-4000-8000-0000000000b1"; } }\n',
    );
    assert.equal(run.code, 0, run.output);
    assert.deepEqual(
      run.lines.filter((l) => l.verdict !== 'OK'),
      [],
      run.output,
    );
    line(run, 'OK', 'configuration', /parsed; listeners tcp, multicast, serial, vsock; backend libvirt/);
    line(run, 'OK', `key file ${key}`, /readable, 4096 bytes/);
    line(run, 'OK', `libvirt ${nodeUri}`, /3 domains, 2 running/);
    line(run, 'OK', 'listener tcp', /the port can be bound/);
    line(run, 'OK', 'listener multicast', /group 225\.0\.0\.12 joined on lo/);
    line(run, 'OK', 'listener serial', /socket directory .* exists/);
    // Only the running guest's serial device counts: not the channel, not the shut-off guest.
    line(run, 'OK', 'listener serial', new RegExp(`running domains with sockets for it: guest-a \\(${sockets}/guest-a\\)$`));
    line(run, 'OK', 'listener vsock', /the port can be bound/);
    line(run, 'OK', 'group cluster', /2 domains, all known to libvirt/);
    assert.match(run.output, /no failures: 9 OK, 0 WARN, 0 FAIL/);
  });

  it('a file that does not parse, and a missing file', async () => {
    const bad = await check('fence_virtd { listener = tcp; }\n');
    assert.equal(bad.code, 1);
    line(bad, 'FAIL', 'configuration', /line 1, column 26: the value of key 'listener' must be in double quotes/);
    const missing = await runTool(OUR_DAEMON.command, [...OUR_DAEMON.args, '--check', '-f', join(dir, 'nope.conf')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /^FAIL configuration .*nope\.conf: .*ENOENT.* \| fix: write one with: fence_virtd -c -f /m);
  });

  it('a configuration the daemon refuses (unknown listener) fails; an unknown key only warns', async () => {
    const refused = await check(daemonBlock('tcp udp') + tcp() + libvirt());
    assert.equal(refused.code, 1);
    line(refused, 'FAIL', 'configuration', /unknown listener 'udp'/);
    const typo = await check(daemonBlock('tcp') + tcp('adress = "127.0.0.2";') + libvirt());
    assert.equal(typo.code, 0, typo.output);
    line(typo, 'WARN', 'configuration', /unknown key 'adress' in listeners\/tcp \(ignored\)/);
  });

  it('key files: missing, empty, a directory fail; loose permissions warn', async () => {
    const empty = join(dir, 'empty.key');
    const loose = join(dir, 'loose.key');
    await writeFile(empty, '', { mode: 0o600 });
    await writeFile(loose, 'secret', { mode: 0o644 });
    for (const [path, pattern] of [
      [join(dir, 'missing.key'), /cannot open key file .*ENOENT/],
      [empty, /is empty/],
      [dir, /is not a regular file/],
    ] as const) {
      const run = await check(daemonBlock('tcp') + tcp().replace(key, path) + libvirt());
      assert.equal(run.code, 1, run.output);
      line(run, 'FAIL', `key file ${path}`, pattern);
    }
    const run = await check(daemonBlock('tcp') + tcp().replace(key, loose) + libvirt());
    assert.equal(run.code, 0, run.output);
    line(run, 'WARN', `key file ${loose}`, /has mode 644/);
  });

  it('libvirt: a URI that does not connect, and one this host cannot reach', async () => {
    const down = await check(daemonBlock('tcp') + tcp() + libvirt(`test+unix:///default?socket=${dir}/no-libvirt-sock`));
    assert.equal(down.code, 1);
    line(down, 'FAIL', 'libvirt test+unix:///default', /no-libvirt-sock/);
    const remote = await check(daemonBlock('tcp') + tcp() + libvirt('qemu+ssh://elsewhere/system'));
    assert.equal(remote.code, 1);
    line(remote, 'FAIL', 'libvirt qemu+ssh://elsewhere/system', /only local unix sockets/);
  });

  it('libvirt: while libvirtd runs, a misspelled URI or a missing node file is the fix, not starting libvirtd', async () => {
    const fixOf = (run: CheckRun, uri: string): string => {
      const found = run.lines.find((l) => l.subject.startsWith(`libvirt ${uri}`));
      assert.ok(found && found.verdict === 'FAIL', run.output);
      return found.text;
    };
    const typo = await check(daemonBlock('tcp') + tcp() + libvirt('qemu:///sytem'));
    assert.equal(typo.code, 1);
    const typoFix = fixOf(typo, 'qemu:///sytem');
    assert.match(typoFix, /\| fix: libvirtd runs and refused this URI: correct it \(the usual one is qemu:\/\/\/system/);
    assert.doesNotMatch(typoFix, /start libvirtd/);
    const missing = join(dir, 'no-such-node.xml');
    const noFile = await check(daemonBlock('tcp') + tcp() + libvirt(`test+unix://${missing}`));
    assert.match(
      fixOf(noFile, `test+unix://${missing}`),
      new RegExp(`\\| fix: libvirtd runs, but the test driver's node file ${missing} does not exist`),
    );
    const notXml = join(dir, 'not-a-node.xml');
    await writeFile(notXml, 'this is not XML');
    const badFile = await check(daemonBlock('tcp') + tcp() + libvirt(`test+unix://${notXml}`));
    assert.match(
      fixOf(badFile, `test+unix://${notXml}`),
      new RegExp(`\\| fix: libvirtd runs, but the test driver cannot load ${notXml}: correct that file's XML`),
    );
    const down = await check(daemonBlock('tcp') + tcp() + libvirt(`test+unix:///default?socket=${dir}/no-libvirt-sock`));
    assert.match(
      fixOf(down, 'test+unix:///default'),
      /\| fix: start libvirtd/,
      'a socket that does not answer still means starting libvirtd',
    );
  });

  it('cpg without a reachable corosync fails with the fix (the test namespace has no corosync)', async () => {
    const run = await check(daemonBlock('tcp', 'cpg') + tcp() + 'backends { cpg { uri = "test+unix:///default"; } }\n');
    assert.equal(run.code, 1);
    line(run, 'FAIL', 'backend cpg (corosync)', /corosync does not answer: .*CS_ERR_LIBRARY/);
    assert.match(run.output, /start corosync on this host/);
  });

  it("tcp: a port another process holds, and an address that is not this host's", async (t) => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(PORTS.busy, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const busy = await check(daemonBlock('tcp') + tcp().replace(String(PORTS.tcp), String(PORTS.busy)) + libvirt());
    assert.equal(busy.code, 1);
    line(busy, 'FAIL', 'listener tcp', new RegExp(`TCP port ${PORTS.busy} is in use by pid ${process.pid} `));
    const foreign = await check(daemonBlock('tcp') + tcp().replace('127.0.0.1', '192.0.2.1') + libvirt());
    assert.equal(foreign.code, 1);
    line(foreign, 'FAIL', 'listener tcp', /192\.0\.2\.1 is not an address of this host/);
  });

  it('tcp: a port held by a running fence_virtd is a warning', { skip: cDaemonMissing() }, async () => {
    const daemon = await startCDaemon({
      config: ({ keyFile }) =>
        daemonBlock('tcp') +
        `listeners { tcp { address = "127.0.0.1"; port = "${PORTS.cDaemon}"; key_file = "${keyFile}"; } }\n` +
        libvirt(),
      ready: { listening: { protocol: 'tcp', port: PORTS.cDaemon } },
    });
    try {
      const run = await check(daemonBlock('tcp') + tcp().replace(String(PORTS.tcp), String(PORTS.cDaemon)) + libvirt());
      assert.equal(run.code, 0, run.output);
      line(run, 'WARN', 'listener tcp', new RegExp(`in use by pid ${daemon.pid} \\(/usr/sbin/fence_virtd .*fence_virtd already runs here`));
    } finally {
      await daemon.stop();
    }
  });

  const multicast = (extra: string) =>
    daemonBlock('multicast') + `listeners { multicast { port = "${PORTS.multicast}"; key_file = "${key}"; ${extra} } }\n` + libvirt();

  it('multicast: an interface that does not exist, one that is down, one without an address', async (t) => {
    const missing = await check(multicast('interface = "virbr7";'));
    assert.equal(missing.code, 1);
    line(missing, 'FAIL', 'listener multicast', /interface virbr7 does not exist/);
    // A bridge like libvirt's virbr0, inside the test's own network namespace.
    const ip = async (...args: string[]) => {
      const result = await runTool('ip', args);
      assert.equal(result.code, 0, `ip ${args.join(' ')}: ${result.stderr}`);
    };
    await ip('link', 'add', 'fvdbr0', 'type', 'bridge');
    t.after(() => runTool('ip', ['link', 'del', 'fvdbr0']));
    const config = multicast('interface = "fvdbr0";');
    const down = await check(config);
    assert.equal(down.code, 1);
    line(down, 'FAIL', 'listener multicast', /interface fvdbr0 is down/);
    await ip('link', 'set', 'fvdbr0', 'up');
    const bare = await check(config);
    assert.equal(bare.code, 1);
    line(bare, 'FAIL', 'listener multicast', /interface fvdbr0 has no IPv4 address/);
    await ip('addr', 'add', '10.99.0.1/24', 'dev', 'fvdbr0');
    const ready = await check(config);
    assert.equal(ready.code, 0, ready.output);
    line(ready, 'OK', 'listener multicast', /group 225\.0\.0\.12 joined on fvdbr0/);
  });

  it('multicast: without an interface, the route decides; no route at all fails', async () => {
    const routed = await check(multicast(''));
    assert.equal(routed.code, 0, routed.output);
    line(routed, 'OK', 'listener multicast', /joined on lo \(route 224\.0\.0\.0\/4\)/);
    // A namespace of its own with lo up but no route for 224.0.0.0/4: joining fails with ENODEV.
    const unrouted = await check(multicast(''), ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'unrouted']);
    assert.equal(unrouted.code, 1, unrouted.output);
    line(unrouted, 'FAIL', 'listener multicast', /cannot join 225\.0\.0\.12: .*no route covers the group/);
  });

  it('vsock: a port already bound', async (t) => {
    // Bind and listen only (never connect on AF_VSOCK).
    const holder = listenVsock({ port: PORTS.vsock });
    t.after(() => holder.close());
    const run = await check(daemonBlock('vsock') + `listeners { vsock { port = "${PORTS.vsock}"; key_file = "${key}"; } }\n` + libvirt());
    assert.equal(run.code, 1);
    line(run, 'FAIL', 'listener vsock', /EADDRINUSE|in use/i);
  });

  it('serial: a socket directory that does not exist; no path; no running domain with a socket there', async () => {
    const serial = (extra: string, mode = 'serial') =>
      daemonBlock('serial') + `listeners { serial { uri = "${nodeUri}"; mode = "${mode}"; ${extra} } }\n` + libvirt(nodeUri);
    const missing = await check(serial(`path = "${dir}/no-such-dir";`));
    assert.equal(missing.code, 1);
    line(missing, 'FAIL', 'listener serial', /no-such-dir does not exist: QEMU cannot create the sockets there/);
    const anywhere = await check(serial(''));
    assert.equal(anywhere.code, 0, anywhere.output);
    line(anywhere, 'WARN', 'listener serial', /no path: the listener takes every serial unix socket of every domain/);
    const empty = join(dir, 'empty-sockets');
    await mkdir(empty, { recursive: true });
    const none = await check(serial(`path = "${empty}";`));
    assert.equal(none.code, 0, none.output);
    line(none, 'WARN', 'listener serial', /no running domain on .* has a serial socket for it/);
    const channels = await check(serial(`path = "${sockets}";`, 'vmchannel'));
    line(channels, 'OK', 'listener serial', new RegExp(`running domains with sockets for it: guest-b \\(${sockets}/guest-b\\)$`));
  });

  it('groups: a domain that does not exist, one spelled in another case, an ip that is no address', async () => {
    const run = await check(
      daemonBlock('tcp') +
        tcp() +
        libvirt(nodeUri) +
        'groups { group { name = "g"; ip = "node1.example"; uuid = "guest-x"; uuid = "GUEST-A"; } }\n',
    );
    assert.equal(run.code, 0, run.output);
    line(run, 'WARN', 'group g', /no domain named guest-x/);
    line(run, 'WARN', 'group g', /GUEST-A \(libvirt has guest-a\): matches only when case is ignored/);
    line(run, 'WARN', 'group g', /ip node1\.example: neither an IP address nor a vsock CID/);
  });
});
