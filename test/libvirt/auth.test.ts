/**
 * Authentication negotiation with a real libvirtd configured for polkit: root is let in without it
 * (libvirtd bypasses polkit for privileged clients); another user is asked for polkit, and our client
 * goes through AUTH_POLKIT (which fails here: there is no system D-Bus for polkit to answer on).
 * The other user's child runs a bundle of open-client.ts written to a temp dir anyone can read, not the
 * sources: the checkout may sit where only root can enter (a clone under `mktemp -d` is 0700).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { build } from 'tsup';
import { LibvirtClient } from '../../src/libvirt/client.js';
import { CapturedLog } from '../support/captured-log.js';
import { PrivateLibvirtd } from '../support/private-libvirtd.js';

const NOBODY = 65534;
const opener = fileURLToPath(new URL('./open-client.ts', import.meta.url));

/** Bundles open-client.ts into `dir` as one file that needs nothing from the checkout or node_modules. */
async function bundleOpener(dir: string): Promise<string> {
  await build({
    entry: { 'open-client': opener },
    outDir: dir,
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    outExtension: () => ({ js: '.mjs' }),
    config: false,
    silent: true,
  });
  return join(dir, 'open-client.mjs');
}

describe('libvirt authentication with auth_unix_rw = polkit', { skip: PrivateLibvirtd.unavailable() }, () => {
  let daemon: PrivateLibvirtd;
  let bundleDir: string;
  let bundle: string;
  before(async () => {
    daemon = await PrivateLibvirtd.start({ config: { auth_unix_rw: 'polkit', unix_sock_rw_perms: '0777' } });
    chmodSync(daemon.dir, 0o755); // let the unprivileged user reach the socket
    bundleDir = mkdtempSync(join(tmpdir(), 'fvd-opener-'));
    chmodSync(bundleDir, 0o755);
    bundle = await bundleOpener(bundleDir);
  });
  after(async () => {
    await daemon?.cleanup();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  it('root: the daemon offers no authentication and the URI opens', async () => {
    const { lines, logger } = new CapturedLog(2);
    const client = await LibvirtClient.open({ uri: daemon.uri('/default'), logger });
    try {
      assert.equal(await client.getUri(), 'test:///default');
      assert.ok(
        lines.some((l) => l.includes('offers authentication types [0]')),
        lines.join(''),
      );
    } finally {
      await client.close();
    }
  });

  it('another user: the daemon asks for polkit, the client runs AUTH_POLKIT and reports its failure', () => {
    const r = spawnSync(process.execPath, [bundle, daemon.uri('/default')], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: bundleDir,
      encoding: 'utf8',
      env: { ...process.env, HOME: '/tmp' },
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const outcome = JSON.parse(r.stdout) as { ok: boolean; name: string; message: string; log: string[] };
    assert.ok(
      outcome.log.some((l) => l.includes('offers authentication types [2]')),
      outcome.log.join(''),
    );
    assert.equal(outcome.ok, false);
    assert.equal(outcome.name, 'LibvirtError');
    assert.match(outcome.message, /^cannot open 'test\+unix:\/\/\/default\?socket=.*': polkit authentication failed: /);
  });
});
