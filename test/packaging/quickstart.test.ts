/**
 * The README's first command, `bash scripts/quickstart.sh`, in its one-shot mode: in a copy of the
 * tree it checks libvirtd, keeps the installed packages, builds, writes and checks a loopback-only
 * configuration, starts the built daemon and fences the test driver's domain with the built agents.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { runTool } from '../support/processes.js';
import { needsSharedLibvirtd } from '../support/requirement.js';
import { scratchTree } from './scratch-tree.js';

const PORT = 30300;
const skip = needsSharedLibvirtd();

test('bash scripts/quickstart.sh (one-shot) builds, configures, checks and fences once', { skip, timeout: 300_000 }, async (t) => {
  const tree = await scratchTree('fvd-quickstart-');
  t.after(() => tree.remove());
  const scratch = join(tree.dir, 'scratch');
  const result = await runTool(
    'env',
    [
      'FENCE_VIRTD_QUICKSTART_ONESHOT=1',
      `FENCE_VIRTD_QUICKSTART_PORT=${PORT}`,
      `FENCE_VIRTD_QUICKSTART_DIR=${scratch}`,
      'bash',
      join(tree.dir, 'scripts/quickstart.sh'),
    ],
    { timeoutMs: 280_000 },
  );
  const output = result.stdout + result.stderr;
  assert.equal(result.code, 0, output);
  // The test runner's namespace routes 224.0.0.0/4 to lo, so both listeners run and multicast fences.
  assert.match(output, /listeners tcp \(127\.0\.0\.1 port 30301\) and multicast \(lo, port 30300\)/);
  assert.match(output, /no failures: 5 OK, 0 WARN, 0 FAIL/);
  assert.match(output, /^test\s+[0-9a-f-]{36} (on|off)$/m, 'the list before the fence');
  assert.match(output, /audit: listener=multicast requester=127\.0\.0\.1 target="test" op=off .*result=success/);
  assert.match(output, /^Status: OFF$/m);
  assert.match(output, /op=on .*result=success/, 'the domain is turned on again for other users of the shared test node');
  assert.match(output, /quickstart one-shot done/);
  // The configuration it wrote is loopback-only and private; the daemon is gone (its pid file too).
  const conf = await readFile(join(scratch, 'fence_virt.conf'), 'utf8');
  assert.match(conf, /address = "127\.0\.0\.1";/);
  assert.match(conf, /interface = "lo";/);
  assert.equal((await readFile(join(scratch, 'fence_xvm.key'))).length, 4096);
  assert.equal(existsSync(join(scratch, 'fence_virtd.pid')), false);
  // The printed commands are the ones it ran.
  assert.match(output, new RegExp(`dist/fence_xvm -a 225\\.0\\.0\\.12 -p ${PORT} -k \\S+ -o reboot -H test`));
});
