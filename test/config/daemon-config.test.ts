import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { defaultLimits } from '../../src/core/limits.js';
import { applyCommandLineOverrides, toDaemonConfig, type DaemonConfig } from '../../src/daemon-config/index.js';
import { DEFAULT_KEY_FILE, Hash } from '../../src/protocol/index.js';
import { CapturedLog } from '../support/captured-log.js';

const FILE = '/etc/fence_virt.conf';
const BACKEND = 'backends {\n\tlibvirt {\n\t\turi = "test:///default";\n\t}\n}\n';

/** A file with the given fence_virtd keys, the libvirt backend and `extra` appended. */
function conf(daemonKeys: string, extra = ''): string {
  return `fence_virtd {\n${daemonKeys}\n}\n${BACKEND}${extra}`;
}

function typed(text: string): DaemonConfig {
  return toDaemonConfig(parseConfig(text, FILE));
}

function withListeners(listener: string, blocks: string): DaemonConfig {
  return typed(conf(`\tlistener = "${listener}";\n\tbackend = "libvirt";`, `listeners {\n${blocks}\n}\n`));
}

/** Asserts a ConfigError with this message (file, position and reason). */
function rejects(text: string, message: string): void {
  assert.throws(
    () => typed(text),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.message, message);
      return true;
    },
  );
}

test('defaults of every listener module', () => {
  const config = withListeners('multicast tcp serial vsock', '');
  const keyed = {
    keyFile: DEFAULT_KEY_FILE,
    hash: Hash.SHA256,
    auth: Hash.SHA256,
    port: 1229,
    protocol: 'auto',
    freshnessWindowMs: 30_000,
  };
  assert.deepEqual(config.listeners, [
    { module: 'multicast', name: 'multicast', ...keyed, family: 'ipv4', address: '225.0.0.12' },
    { module: 'tcp', name: 'tcp', ...keyed, family: 'ipv4', address: '127.0.0.1' },
    { module: 'serial', name: 'serial', mode: 'serial' },
    { module: 'vsock', name: 'vsock', ...keyed },
  ]);
  assert.deepEqual(
    { ...config, listeners: [] },
    {
      file: FILE,
      listeners: [],
      backend: { module: 'libvirt', uris: ['test:///default'] },
      debug: 0,
      foreground: false,
      waitForInit: false,
      groups: [],
      limits: defaultLimits,
      history: { file: '/var/lib/fence-virtd/history.jsonl', entries: 1000 },
    },
  );
});

test('bounds of the fence_virtd block: read as whole numbers within range, replay_window in seconds', () => {
  const config = typed(
    conf(
      '\tlistener = "tcp";\n\tbackend = "libvirt";\n\tmax_connections = "8";\n\tmax_connections_per_source = "2";\n\treplay_window = "0";',
    ),
  );
  assert.deepEqual(config.limits, { ...defaultLimits, maxConnections: 8, maxConnectionsPerSource: 2, replayWindowMs: 0 });
  assert.throws(
    () => typed(conf('\tlistener = "tcp";\n\tbackend = "libvirt";\n\tmax_connections = "0";')),
    /max_connections: expected a whole number from 1/,
  );
  assert.throws(
    () => typed(conf('\tlistener = "tcp";\n\tbackend = "libvirt";\n\tmax_serial_buffer = "100";')),
    /max_serial_buffer: expected a whole number from 1024/,
  );
});

test('IPv6 family defaults: multicast group ff05::3:1, TCP address ::1', () => {
  const config = withListeners('multicast tcp', '\tmulticast { family = "IPv6"; }\n\ttcp { family = "ipv6"; }');
  assert.deepEqual(
    config.listeners.map((l) => 'address' in l && [l.family, l.address]),
    [
      ['ipv6', 'ff05::3:1'],
      ['ipv6', '::1'],
    ],
  );
});

test('every listener key is read; hash and auth are separate settings (the C tcp/vsock blocks store auth as the minimum hash)', () => {
  const config = withListeners(
    'multicast tcp vsock serial',
    [
      '\tmulticast { key_file = "/k1"; hash = "SHA1"; auth = "sha512"; family = "ipv4"; address = "239.1.2.3"; port = "26000"; interface = "lo"; }',
      '\ttcp { key_file = "/k2"; hash = "none"; auth = "Sha1"; address = "127.0.0.2"; port = "26001"; protocol = "2"; freshness_window = "5"; }',
      '\tvsock { key_file = "/k3"; hash = "sha512"; auth = "none"; port = "26002"; protocol = "1"; }',
      '\tserial { uri = "qemu:///system"; path = "/var/run/cluster/fence"; mode = "VMChannel"; key_file = "/unused"; }',
    ].join('\n'),
  );
  assert.deepEqual(config.listeners, [
    {
      module: 'multicast',
      name: 'multicast',
      keyFile: '/k1',
      hash: Hash.SHA1,
      auth: Hash.SHA512,
      port: 26000,
      family: 'ipv4',
      address: '239.1.2.3',
      interface: 'lo',
      protocol: 'auto',
      freshnessWindowMs: 30_000,
    },
    {
      module: 'tcp',
      name: 'tcp',
      keyFile: '/k2',
      hash: Hash.NONE,
      auth: Hash.SHA1,
      port: 26001,
      family: 'ipv4',
      address: '127.0.0.2',
      protocol: '2',
      freshnessWindowMs: 5_000,
    },
    {
      module: 'vsock',
      name: 'vsock',
      keyFile: '/k3',
      hash: Hash.SHA512,
      auth: Hash.NONE,
      port: 26002,
      protocol: '1',
      freshnessWindowMs: 30_000,
    },
    { module: 'serial', name: 'serial', uri: 'qemu:///system', path: '/var/run/cluster/fence', mode: 'vmchannel' },
  ]);
});

test('several listeners in one process: list syntax, module key, instance names, file order', () => {
  const config = withListeners(
    'serial, vmchannel  tcp,tcp6',
    [
      '\tserial { mode = "serial"; path = "/run/fence/serial"; }',
      '\tvmchannel { module = "serial"; mode = "vmchannel"; path = "/run/fence/channel"; }',
      '\ttcp6 { module = "TCP"; family = "ipv6"; port = "26003"; }',
    ].join('\n'),
  );
  assert.deepEqual(
    config.listeners.map((l) => [l.name, l.module]),
    [
      ['serial', 'serial'],
      ['vmchannel', 'serial'],
      ['tcp', 'tcp'],
      ['tcp6', 'tcp'],
    ],
  );
  assert.deepEqual(
    config.listeners.map((l) => (l.module === 'serial' ? l.mode : l.port)),
    ['serial', 'vmchannel', 1229, 26003],
  );
});

test('a listener block name is matched case-insensitively and the last block of a name counts', () => {
  const config = withListeners('TCP', '\ttcp { port = "26004"; }\n\tTcp { port = "26005"; }');
  assert.deepEqual(
    config.listeners.map((l) => [l.name, l.module === 'tcp' && l.port]),
    [['TCP', 26005]],
  );
});

test('listener errors name the file, position and problem', () => {
  const daemon = (listener: string): string => `\tlistener = "${listener}";\n\tbackend = "libvirt";`;
  const with_ = (listener: string, blocks: string): string => conf(daemon(listener), `listeners {\n${blocks}\n}\n`);
  rejects(conf('\tbackend = "libvirt";'), `${FILE}: line 1, column 1: fence_virtd: missing 'listener' (multicast, tcp, serial or vsock)`);
  rejects(`${BACKEND}`, `${FILE}: fence_virtd: missing 'listener' (multicast, tcp, serial or vsock)`);
  rejects(
    conf(daemon(' , ')),
    `${FILE}: line 2, column 13: fence_virtd/listener names no listener (expected multicast, tcp, serial, vsock)`,
  );
  rejects(conf(daemon('tcp tcp')), `${FILE}: line 2, column 13: fence_virtd/listener names 'tcp' twice`);
  rejects(
    conf(daemon('udp')),
    `${FILE}: line 2, column 13: unknown listener 'udp': no block listeners/udp and not a listener module (multicast, tcp, serial, vsock)`,
  );
  rejects(
    with_('mine', '\tmine { port = "1"; }'),
    `${FILE}: line 2, column 13: unknown listener module 'mine': set listeners/mine/module to one of multicast, tcp, serial, vsock`,
  );
  rejects(
    with_('mine', '\tmine { module = "udp"; }'),
    `${FILE}: line 11, column 18: listeners/mine/module: unknown listener module 'udp' (expected multicast, tcp, serial, vsock)`,
  );
  rejects(
    with_('a b', '\ta { module = "tcp"; }\n\tb { module = "tcp"; address = "127.0.0.1"; }'),
    `${FILE}: line 2, column 13: listeners 'a' and 'b' would both use tcp 127.0.0.1 port 1229`,
  );
  rejects(
    with_('a b', '\ta { module = "serial"; path = "/x"; }\n\tb { module = "serial"; }'),
    `${FILE}: line 2, column 13: listeners 'a' and 'b' would both use serial sockets in any directory`,
  );
});

test('listener value errors: ports (stricter than C atoi), hashes, families, addresses, modes', () => {
  const one = (block: string): string => conf('\tlistener = "tcp multicast serial";\n\tbackend = "libvirt";', `listeners {\n${block}\n}\n`);
  const at = (column: number): string => `${FILE}: line 11, column ${column}:`;
  for (const port of ['0', '65536', '1229abc', ' 1229', '-1', '0x4cd']) {
    rejects(one(`\ttcp { port = "${port}"; }`), `${at(15)} listeners/tcp/port: expected a port number from 1 to 65535, got '${port}'`);
  }
  rejects(one('\ttcp { hash = "md5"; }'), `${at(15)} listeners/tcp/hash: unknown value 'md5' (expected none, sha1, sha256, sha512)`);
  rejects(one('\ttcp { auth = "sha384"; }'), `${at(15)} listeners/tcp/auth: unknown value 'sha384' (expected none, sha1, sha256, sha512)`);
  rejects(one('\ttcp { family = "inet"; }'), `${at(17)} listeners/tcp/family: unknown value 'inet' (expected ipv4, ipv6)`);
  rejects(one('\ttcp { address = "::1"; }'), `${at(18)} listeners/tcp/address: '::1' is not an IPv4 address (family is ipv4)`);
  rejects(one('\ttcp { address = "localhost"; }'), `${at(18)} listeners/tcp/address: 'localhost' is not an IPv4 address (family is ipv4)`);
  rejects(
    one('\tmulticast { family = "ipv6"; address = "225.0.0.12"; }'),
    `${at(41)} listeners/multicast/address: '225.0.0.12' is not an IPv6 address (family is ipv6)`,
  );
  rejects(
    one('\tmulticast { address = "10.0.0.1"; }'),
    `${at(24)} listeners/multicast/address: '10.0.0.1' is not a multicast group address`,
  );
  rejects(one('\tserial { mode = "1"; }'), `${at(18)} listeners/serial/mode: unknown value '1' (expected serial, vmchannel)`);
});

test('backend: module, URIs in order, missing and unknown backends, gaps in uriN', () => {
  const daemon = (backend: string): string => `\tlistener = "tcp";\n\tbackend = "${backend}";`;
  const file = (backend: string, block: string): string => `fence_virtd {\n${daemon(backend)}\n}\nbackends {\n${block}\n}\n`;
  assert.deepEqual(typed(file('LibVirt', '\tlibvirt { uri = "a"; URI1 = "b"; uri2 = "c"; }')).backend, {
    module: 'libvirt',
    uris: ['a', 'b', 'c'],
  });
  rejects(`fence_virtd {\n\tlistener = "tcp";\n}\n`, `${FILE}: line 1, column 1: fence_virtd: missing 'backend' (libvirt or cpg)`);
  rejects(file('xen', ''), `${FILE}: line 3, column 12: unknown backend module 'xen' (expected libvirt or cpg)`);
  rejects(
    file('libvirt', '\tlibvirt { }'),
    `${FILE}: line 6, column 2: backends/libvirt: missing 'uri' (the libvirt URI to connect to, e.g. qemu:///system)`,
  );
  rejects(file('cpg', ''), `${FILE}: backends/cpg: missing 'uri' (the libvirt URI to connect to, e.g. qemu:///system)`);
  rejects(
    file('libvirt', '\tlibvirt { uri = "a"; uri2 = "c"; }'),
    `${FILE}: line 6, column 30: backends/libvirt/uri2: uri1 is not set, so this URI would never be used`,
  );
});

test('cpg name_mode: "name" by default, legacy fence_virtd/name_mode, the backends value wins', () => {
  const file = (daemonMode: string, cpgMode: string): string =>
    `fence_virtd {\n\tlistener = "tcp";\n\tbackend = "cpg";\n${daemonMode}\n}\nbackends {\n\tcpg {\n\t\turi = "test:///default";\n${cpgMode}\n\t}\n}\n`;
  const mode = (text: string): unknown => typed(text).backend;
  assert.deepEqual(mode(file('', '')), { module: 'cpg', uris: ['test:///default'], nameMode: 'name' });
  assert.deepEqual(mode(file('\tname_mode = "UUID";', '')), { module: 'cpg', uris: ['test:///default'], nameMode: 'uuid' });
  assert.deepEqual(mode(file('\tname_mode = "uuid";', '\t\tname_mode = "name";')), {
    module: 'cpg',
    uris: ['test:///default'],
    nameMode: 'name',
  });
  rejects(
    file('', '\t\tname_mode = "id";'),
    `${FILE}: line 9, column 15: backends/cpg/name_mode: unknown value 'id' (expected name, uuid)`,
  );
  // With the libvirt backend the legacy key is not used, so it is not checked either.
  assert.equal(typed(conf('\tlistener = "tcp";\n\tbackend = "libvirt";\n\tname_mode = "junk";')).backend.module, 'libvirt');
});

test('debug, foreground, module_path; wait_for_backend counts only when wait_for_init is absent or 0', () => {
  const daemon = (keys: string): DaemonConfig => typed(conf(`\tlistener = "tcp";\n\tbackend = "libvirt";\n${keys}`));
  const c = daemon('\tdebug = "3";\n\tforeground = "1";\n\tmodule_path = "/usr/lib/fence-virt";');
  assert.deepEqual([c.debug, c.foreground, c.modulePath, c.waitForInit], [3, true, '/usr/lib/fence-virt', false]);
  const wait = (keys: string): boolean => daemon(keys).waitForInit;
  assert.equal(wait('\twait_for_init = "1";'), true);
  assert.equal(wait('\twait_for_backend = "1";'), true);
  assert.equal(wait('\twait_for_init = "0";\n\twait_for_backend = "1";'), true);
  assert.equal(wait('\twait_for_init = "1";\n\twait_for_backend = "0";'), true);
  assert.equal(wait('\twait_for_init = "0";'), false);
  const bad = (keys: string, message: string): void =>
    rejects(conf(`\tlistener = "tcp";\n\tbackend = "libvirt";\n${keys}`), `${FILE}: ${message}`);
  bad(
    '\tforeground = "yes";',
    "line 4, column 15: fence_virtd/foreground: expected a number (0 = off, 1 = on; fence_virtd reads words like 'yes' as 0), got 'yes'",
  );
  bad('\tdebug = "-1";', "line 4, column 10: fence_virtd/debug: expected a whole number from 0 to 9007199254740991, got '-1'");
});

test('groups: names (or unnamed-N), repeated ip and uuid in file order, only the last groups block', () => {
  const config = typed(
    conf(
      '\tlistener = "tcp";\n\tbackend = "libvirt";',
      [
        'groups {\n\tgroup { uuid = "ignored"; }\n}',
        'groups {',
        '\tgroup = "value is not a name" { ip = "127.0.0.1"; uuid = "vm-a"; ip = "::1"; uuid = "4417"; }',
        '\tGROUP { name = "second"; uuid = "vm-b"; }',
        '\tgroup { }',
        '}',
      ].join('\n'),
    ),
  );
  assert.deepEqual(config.groups, [
    { name: 'unnamed-1', ips: ['127.0.0.1', '::1'], uuids: ['vm-a', '4417'] },
    { name: 'second', ips: [], uuids: ['vm-b'] },
    { name: 'unnamed-3', ips: [], uuids: [] },
  ]);
});

test('unknown keys and blocks in the blocks in use are logged as warnings with their position, and ignored', () => {
  const { lines, logger: log } = new CapturedLog(0);
  const document = parseConfig(
    conf(
      '\tlistener = "tcp";\n\tbackend = "libvirt";\n\tforground = "1";',
      ['listeners {\n\ttcp { prot = "26006"; }\n\tunused { whatever = "x"; }\n}', 'groups {\n\tgorup { }\n\tgroup { nmae = "x"; }\n}'].join(
        '\n',
      ),
    ),
    FILE,
  );
  const config = toDaemonConfig(document, log);
  assert.equal(config.foreground, false);
  assert.deepEqual(lines, [
    `warn: ${FILE}: line 12, column 8: unknown key 'prot' in listeners/tcp (ignored)\n`,
    `warn: ${FILE}: line 16, column 2: unknown block 'gorup' in groups (ignored)\n`,
    `warn: ${FILE}: line 17, column 10: unknown key 'nmae' in groups/group (ignored)\n`,
    `warn: ${FILE}: line 4, column 2: unknown key 'forground' in fence_virtd (ignored)\n`,
  ]);
});

test('command-line overrides: -d N (0 keeps the file value), -F, -w; the input is not changed', () => {
  const config = typed(conf('\tlistener = "tcp";\n\tbackend = "libvirt";\n\tdebug = "2";'));
  assert.deepEqual(applyCommandLineOverrides(config, { debug: 0 }), config);
  const overridden = applyCommandLineOverrides(config, { debug: 5, foreground: true, waitForInit: true });
  assert.deepEqual([overridden.debug, overridden.foreground, overridden.waitForInit], [5, true, true]);
  assert.deepEqual([config.debug, config.foreground, config.waitForInit], [2, false, false]);
  assert.equal(applyCommandLineOverrides({ ...config, foreground: true }, { foreground: false }).foreground, true);
});
