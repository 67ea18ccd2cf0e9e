/**
 * SIGHUP as an administrator sends it to the built daemon: a broken configuration or a key file that
 * cannot be read leaves the running keys and groups in force (and says so), the next valid SIGHUP
 * applies, and a listener's changed `key_file` path is applied (the new key accepted, the old refused),
 * with the key files in use named in the reload line.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Request, Response } from '../../src/protocol/index.js';
import { needsSharedLibvirtd } from '../support/requirement.js';
import { CaseTally } from './case-record.js';
import { DaemonBed } from './daemon-bed.js';

const skip = needsSharedLibvirtd();
const allowTest = [{ ip: ['127.0.0.1'], uuid: ['test'] }];
const refuseTest = [{ ip: ['127.0.0.1'], uuid: ['some-other-vm'] }];
let bed: DaemonBed;

before(async () => {
  if (skip) return;
  bed = new DaemonBed({ port: 24711, backendUri: 'test+unix:///default', groups: allowTest });
  await bed.start();
});
after(() => bed?.cleanup());

it('keeps keys and groups through broken reloads and applies a changed key_file path', { skip }, async () => {
  const tally = new CaseTally('SIGHUP: broken configuration, unreadable key, changed key_file');
  const daemon = bed.daemon!;
  const newKeyFile = join(bed.dir, 'new-key');
  const newKey = new AuthKey(Buffer.from('the key an administrator rotated to'));
  const status = async (key: AuthKey, expected: 'on' | 'refused' | 'denied') => {
    const got = await bed.ask(Request.STATUS, 'test', 3_000, key);
    const ok =
      expected === 'on'
        ? got.kind === 'code' && got.code === Response.SUCCESS
        : expected === 'denied'
          ? got.kind === 'code' && got.code === Response.PERM
          : got.kind === 'closed';
    tally.answer(ok, expected !== 'on' && got.kind === 'code' && got.code === Response.SUCCESS);
    assert.ok(ok, `status with ${key === bed.key ? 'the old' : 'the new'} key: expected ${expected}, got ${JSON.stringify(got)}`);
  };
  const hup = async (result: RegExp) => {
    const before = daemon.output().length;
    tally.faults++;
    process.kill(bed.pid, 'SIGHUP');
    await daemon.waitUntil(() => result.test(daemon.output().slice(before)), `reload result ${result}`);
  };
  await status(bed.key, 'on');

  // 1. A syntax error: nothing changes.
  bed.writeConfig({ text: 'fence_virtd {\n\tlistener = "tcp"\n}\n' });
  await hup(/error: reload failed, keeping the running keys and groups: .*line 3, column 1/);
  await status(bed.key, 'on');

  // 2. A valid file naming a key that is not there, with groups that would refuse: neither applies.
  bed.writeConfig({ keyFile: newKeyFile, groups: refuseTest });
  await hup(/error: reload failed, keeping the running keys and groups: cannot open key file .*new-key/);
  await status(bed.key, 'on');
  await status(newKey, 'refused');

  // 3. An empty key file is unreadable as a key too.
  writeFileSync(newKeyFile, '', { mode: 0o600 });
  await hup(/error: reload failed, keeping the running keys and groups: key file .*new-key is empty/);
  await status(bed.key, 'on');

  // 4. The key is there now: the same file applies, path and groups alike, and the line names the file.
  writeFileSync(newKeyFile, newKey.bytes, { mode: 0o600 });
  const started = performance.now();
  await hup(new RegExp(`notice: reloaded keys \\(key files: tcp=${newKeyFile.replace(/[.]/g, '\\.')}\\) and 1 permission group\\(s\\)`));
  tally.recoveryMs = performance.now() - started;
  await status(newKey, 'denied');
  await status(bed.key, 'refused');

  // 5. Back to groups that allow: the new key serves.
  bed.writeConfig({ keyFile: newKeyFile, groups: allowTest });
  await hup(/notice: reloaded keys \(key files: tcp=.*new-key\)/);
  await status(newKey, 'on');
  assert.doesNotMatch(daemon.output(), /take effect after a restart/, 'a key_file change is not a restart-only change');
  assert.ok(tally.stillRunning(daemon.running), 'the daemon survived every reload');
  const record = tally.record();
  assert.equal(record.wrong, 0);
  assert.equal(record.falseSuccesses, 0);
});
