import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeyFileError, loadKeyFile } from '../../src/auth/index.js';

describe('key files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fvd-key-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads raw bytes without trimming', async () => {
    const path = join(dir, 'k');
    await writeFile(path, Buffer.from('secret\n\0\r\n'), { mode: 0o600 });
    const { key, warnings } = loadKeyFile(path);
    assert.deepEqual(key.bytes, Buffer.from('secret\n\0\r\n'));
    assert.deepEqual(warnings, []);
  });

  it('uses the first 4096 bytes and says so', async () => {
    const path = join(dir, 'big');
    await writeFile(path, Buffer.alloc(5000, 7), { mode: 0o600 });
    const { key, warnings } = loadKeyFile(path);
    assert.equal(key.bytes.length, 4096);
    assert.match(warnings.join(), /only the first 4096/);
  });

  it('warns about modes looser than 0600', async () => {
    const path = join(dir, 'loose');
    await writeFile(path, 'x');
    await chmod(path, 0o644);
    const { warnings } = loadKeyFile(path);
    assert.match(warnings.join(), /mode 644.*chmod 600/);
  });

  it('refuses missing, empty and directory key files (no silent fallback to no auth)', async () => {
    assert.throws(
      () => loadKeyFile(join(dir, 'missing')),
      (e: unknown) => e instanceof KeyFileError && /cannot open/.test(e.message),
    );
    const empty = join(dir, 'empty');
    await writeFile(empty, '', { mode: 0o600 });
    assert.throws(() => loadKeyFile(empty), /is empty/);
    assert.equal(loadKeyFile(empty, { allowEmpty: true }).key.empty, true);
    assert.throws(() => loadKeyFile(dir), /not a regular file/);
  });
});
