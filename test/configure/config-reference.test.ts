/**
 * The configuration reference (the source of the man page, the README table and the dialog's texts)
 * agrees with the reader: every key it lists is one the reader knows, and every default it states is
 * what the reader uses when the key is absent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { toDaemonConfig, type DaemonConfig } from '../../src/daemon-config/index.js';
import { CONFIG_REFERENCE, type BlockReference } from '../../src/daemon-config/reference.js';
import { CapturedLog } from '../support/captured-log.js';

/** Values for keys whose reference gives no file default (any value the reader accepts). */
const SAMPLE: Record<string, string> = {
  listener: 'tcp',
  backend: 'libvirt',
  module_path: '/usr/lib/fence-virt',
  name_mode: 'uuid',
  interface: 'lo',
  uri: 'test:///default',
  path: '/var/run/cluster/fence',
  key_file: '/etc/cluster/fence_xvm.key',
  name: 'g1',
  ip: '127.0.0.1',
  uuid: 'test',
};

/** A whole file exercising `block`, with `extra` inside the block under test. */
function fileFor(block: BlockReference, extra: string): string {
  const listener = block.path.startsWith('listeners/') ? block.usedBy : 'tcp';
  const backend = block.path === 'backends/cpg' ? 'cpg' : 'libvirt';
  const inside = (path: string) => (block.path === path || (path === listener && block.path.startsWith('listeners/')) ? extra : '');
  return [
    `fence_virtd { listener = "${listener}"; backend = "${backend}"; ${inside('fence_virtd')} }`,
    `listeners { ${listener} { ${inside(listener)} } }`,
    `backends { ${backend} { uri = "test:///default"; ${inside(`backends/${backend}`)} } }`,
    block.path === 'groups/group' ? `groups { group { ${extra} } }` : '',
  ].join('\n');
}

function read(text: string): { config: DaemonConfig; warnings: string[] } {
  const { lines: warnings, logger } = new CapturedLog(0);
  return { config: toDaemonConfig(parseConfig(text, 'reference.conf'), logger), warnings };
}

describe('configuration reference', () => {
  for (const block of CONFIG_REFERENCE) {
    for (const key of block.keys) {
      const value = key.key === 'module' ? block.usedBy : (key.fileDefault ?? SAMPLE[key.key]);
      it(`${block.path} (${block.usedBy}) ${key.key}: known to the reader${key.fileDefault ? `, absent means ${key.fileDefault}` : ''}`, () => {
        assert.ok(value, `no sample value for ${key.key}`);
        const withKey = read(fileFor(block, `${key.key} = "${value}";`));
        assert.deepEqual(withKey.warnings, [], `the reader does not know ${block.path}/${key.key}`);
        if (key.fileDefault !== undefined) assert.deepEqual(withKey.config, read(fileFor(block, '')).config);
      });
    }
  }

  it('covers every listener module and backend the reader has', async () => {
    const { LISTENER_MODULES, BACKEND_MODULES } = await import('../../src/daemon-config/index.js');
    const covered = new Set(CONFIG_REFERENCE.map((b) => b.usedBy));
    for (const m of LISTENER_MODULES) assert.ok(covered.has(m), `listener ${m} is not described`);
    for (const m of BACKEND_MODULES) assert.ok(covered.has(`backend ${m}`), `backend ${m} is not described`);
  });
});
