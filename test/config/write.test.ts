import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ConfigError,
  formatConfig,
  getValue,
  parseConfig,
  readConfigFile,
  removePath,
  setValue,
  writeConfigFile,
} from '../../src/config/index.js';
import { fixtureText, RICH } from './samples.js';
import { shapeOf } from './tree-shape.js';

test('the Debian default file is written canonically (tabs, one item per line, blank line between blocks, its comment kept)', async () => {
  assert.equal(
    formatConfig(parseConfig(await fixtureText('debian-default.conf'))),
    'fence_virtd {\n\tlistener = "multicast";\n\tbackend = "libvirt";\n}\n\n' +
      'listeners {\n\tmulticast {\n\t\tkey_file = "/etc/fence_virt.key";\n\t\taddress = "225.0.0.12";\n\t\t# Needed on Fedora systems\n\t\tinterface = "virbr0";\n\t}\n}\n\n' +
      'backends {\n\tlibvirt {\n\t\turi = "qemu:///system";\n\t}\n}\n',
  );
});

test('parse → write → parse gives the same tree, and the text is stable over repeated runs', async () => {
  for (const text of [RICH, await fixtureText('debian-default.conf'), await fixtureText('man-page-example.conf')]) {
    const original = parseConfig(text);
    const first = formatConfig(original);
    assert.deepEqual(shapeOf(parseConfig(first)), shapeOf(original));
    let again = first;
    for (let run = 0; run < 3; run++) again = formatConfig(parseConfig(again));
    assert.equal(again, first);
  }
});

test('comments survive a rewrite: before their item, before a closing brace, at the end; an inline one moves above the next item', () => {
  const text = [
    '# fence_virtd configuration',
    '#   (kept)',
    'fence_virtd {',
    '\t# the listener',
    '\tlistener = "multicast"; # inline',
    '\tbackend = "libvirt";',
    '\t# last in the block',
    '}',
    'listeners { multicast { # after the brace',
    '\tport = "1229";',
    '} }',
    '# the end',
    '',
  ].join('\n');
  const document = parseConfig(text);
  setValue(document, 'listeners/multicast/@port', '1230');
  removePath(document, 'fence_virtd/@backend');
  assert.equal(
    formatConfig(document),
    [
      '# fence_virtd configuration',
      '#   (kept)',
      'fence_virtd {',
      '\t# the listener',
      '\tlistener = "multicast";',
      '\t# last in the block',
      '}',
      '',
      'listeners {',
      '\tmulticast {',
      '\t\t# after the brace',
      '\t\tport = "1230";',
      '\t}',
      '}',
      '# the end',
      '',
    ].join('\n'),
    'the inline comment went with the removed backend key, the one it preceded',
  );
  const again = formatConfig(parseConfig(formatConfig(document)));
  assert.equal(again, formatConfig(document), 'stable over rewrites');
});

test('setValue changes the assignment that counts in place and appends what is missing', () => {
  const document = parseConfig(RICH);
  // Only the last fence_virtd block counts, and it has no debug key yet: it gets one.
  setValue(document, 'fence_virtd/@debug', '3');
  setValue(document, 'listeners/tcp/@address', '127.0.0.1');
  setValue(document, 'listeners/vsock/@port', '1229');
  assert.equal(
    formatConfig(document),
    formatConfig(
      parseConfig(
        RICH.replace(
          'fence_virtd { listener = "tcp"; backend = "libvirt"; }',
          'fence_virtd { listener = "tcp"; backend = "libvirt"; debug = "3"; }',
        )
          .replace('tcp { port = "26010"; }', 'tcp { port = "26010"; address = "127.0.0.1"; }')
          .replace('multi-line value"; }\n}', 'multi-line value"; }\n\tvsock { port = "1229"; }\n}'),
      ),
    ),
  );
  setValue(document, 'listeners/tcp/@PORT', '26011');
  assert.equal(getValue(document, 'listeners/tcp/@port'), '26011');
  assert.match(formatConfig(document), /\ttcp \{\n\t\tport = "26011";\n\t\taddress = "127.0.0.1";\n\t\}/);
});

test('removePath removes every repetition, so an earlier duplicate cannot take effect', () => {
  const document = parseConfig(RICH);
  assert.equal(removePath(document, '@top'), true);
  assert.equal(getValue(document, '@top'), undefined);
  assert.equal(removePath(document, 'fence_virtd'), true);
  assert.equal(getValue(document, 'fence_virtd/@listener'), undefined);
  assert.equal(removePath(document, 'listeners/tcp/@port'), true);
  assert.equal(removePath(document, 'listeners/tcp/@port'), false);
  assert.equal(removePath(document, 'nowhere/@port'), false);
  assert.deepEqual(
    shapeOf(document).map((item) => item.name),
    ['listeners', 'backends', 'groups'],
  );
});

test('values and names that cannot be read back are refused, never written', () => {
  const document = parseConfig(RICH);
  const refused = (f: () => unknown, reason: RegExp): void => {
    assert.throws(f, (err: unknown) => err instanceof ConfigError && reason.test(err.reason));
  };
  refused(() => setValue(document, 'listeners/multicast/@address', ''), /empty value cannot be written/);
  refused(() => setValue(document, 'listeners/multicast/@address', 'a"b'), /contains '"'/);
  refused(() => setValue(document, 'listeners/my tcp/@port', '1'), /contains " ", which ends a name/);
  refused(() => setValue(document, 'listeners/#tcp/@port', '1'), /would start a comment/);
  assert.equal(getValue(document, 'listeners/multicast/@address'), undefined, 'refused edits change nothing');

  // A tree changed behind the edit functions' back is still checked by the writer, with the item's position.
  const assignment = document.items[0];
  assert.ok(assignment?.kind === 'assignment');
  assignment.value = '';
  assert.throws(
    () => formatConfig(document),
    (err: unknown) => err instanceof ConfigError && /line 1, column 1: cannot write key: an empty value/.test(err.message),
  );
  assert.throws(() => formatConfig({ file: 'x.conf', items: [] }), /cannot write an empty configuration/);
});

test('writeConfigFile replaces the file atomically with mode 0600 and leaves no temporary file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fv-config-write-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'fence_virt.conf');
  await writeFile(path, 'old = "content";\n', { mode: 0o644 });
  const document = parseConfig(RICH, path);
  await writeConfigFile(path, document);
  assert.equal(await readFile(path, 'utf8'), formatConfig(document));
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(shapeOf(readConfigFile(path)), shapeOf(document));
  assert.deepEqual(await readdir(dir), ['fence_virt.conf']);

  const unwritable = join(dir, 'missing-dir', 'fence_virt.conf');
  await assert.rejects(writeConfigFile(unwritable, document), (err: unknown) => err instanceof ConfigError && err.file === unwritable);
  assert.throws(
    () => readConfigFile(unwritable),
    (err: unknown) => err instanceof ConfigError && /cannot read the file/.test(err.reason),
  );
});
