/**
 * The built daemon with backend = "cpg" on a host (this test's network namespace) where corosync does
 * not run: a clear start-up failure, never a daemon that serves without its cluster.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { configText } from '../support/daemon-config-text.js';
import { OUR_DAEMON_BUNDLE, runTool } from '../support/processes.js';
import { needsSharedLibvirtd } from '../support/requirement.js';

const NODE = fileURLToPath(new URL('../fixtures/cpg/host1.xml', import.meta.url));

test('backend cpg without corosync: exit 1 with what to do', { skip: needsSharedLibvirtd() }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fvd-cpg-daemon-'));
  try {
    const key = join(dir, 'key');
    await writeFile(key, 'cpg daemon test key\n', { mode: 0o600 });
    const text = configText({
      listeners: { tcp: { address: '127.0.0.1', port: '31901', key_file: key } },
      backend: 'cpg',
      backendUri: `test+unix://${NODE}`,
    });
    const file = join(dir, 'fence_virt.conf');
    await writeFile(file, text, { mode: 0o600 });
    const run = await runTool(OUR_DAEMON_BUNDLE.command, [...OUR_DAEMON_BUNDLE.args, '-F', '-f', file, '-p', join(dir, 'pid')], {
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /backend cpg failed to start: corosync is not running on this host .*start corosync first/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
