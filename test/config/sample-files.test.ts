import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ConfigError, parseConfig, readConfigFile, setValue } from '../../src/config/index.js';
import { toDaemonConfig } from '../../src/daemon-config/index.js';
import { DEFAULT_KEY_FILE, Hash } from '../../src/protocol/index.js';
import { fixturePath } from './samples.js';

test('the Debian default /etc/fence_virt.conf (fixture copy): multicast on virbr0, libvirt qemu:///system', async () => {
  const config = toDaemonConfig(readConfigFile(fixturePath('debian-default.conf')));
  assert.deepEqual(config.listeners, [
    {
      module: 'multicast',
      name: 'multicast',
      keyFile: '/etc/fence_virt.key',
      hash: Hash.SHA256,
      auth: Hash.SHA256,
      port: 1229,
      family: 'ipv4',
      address: '225.0.0.12',
      interface: 'virbr0',
      protocol: 'auto',
      freshnessWindowMs: 30_000,
    },
  ]);
  assert.deepEqual(config.backend, { module: 'libvirt', uris: ['qemu:///system'] });
});

test('the man page example parses, but names the cpg backend without configuring it', async () => {
  const document = readConfigFile(fixturePath('man-page-example.conf'));
  assert.throws(
    () => toDaemonConfig(document),
    (err: unknown) =>
      err instanceof ConfigError && err.reason === "backends/cpg: missing 'uri' (the libvirt URI to connect to, e.g. qemu:///system)",
  );
  setValue(document, 'fence_virtd/@backend', 'libvirt');
  const config = toDaemonConfig(document);
  assert.deepEqual(
    config.listeners.map((l) => l.module === 'multicast' && [l.keyFile, l.address]),
    [[DEFAULT_KEY_FILE, '225.0.0.12']],
  );
  assert.deepEqual(config.groups, [
    {
      name: 'cluster1',
      ips: ['192.168.1.1', '192.168.1.2'],
      uuids: ['44179d3f-6c63-474f-a212-20c8b4b25b16', '1ce02c4b-dfa1-42cb-b5b1-f0b1091ece60', 'node1', 'node2'],
    },
  ]);
});

test('the configuration printed by `fence_virtd -c` in the KVM article has address = "" and cannot be read', async () => {
  const path = fixturePath('kvm-article.conf');
  assert.throws(
    () => readConfigFile(path),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        `${path}: line 13, column 27: empty value "" is not allowed (fence_virtd cannot read it); remove the key instead`,
      );
      return true;
    },
  );
  const repaired = parseConfig((await readFile(path, 'utf8')).replace(/^.*address = "";\n/m, ''), path);
  const config = toDaemonConfig(repaired);
  assert.equal(config.modulePath, '/usr/lib64/fence-virt');
  assert.deepEqual(
    config.listeners.map((l) => l.module === 'multicast' && [l.address, l.port, l.interface, l.keyFile]),
    [['225.0.0.12', 1229, 'virbr0', DEFAULT_KEY_FILE]],
  );
});
