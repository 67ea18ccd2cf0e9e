/* global process, console, URL */
// This package's install script (npm runs it during `npm ci`). The addon links libcpg and libvotequorum:
// where their development headers are missing there is nothing to build, and the daemon still runs every
// backend but cpg, so the install succeeds without a binary.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

const headers = ['/usr/include/corosync/cpg.h', '/usr/include/corosync/votequorum.h'];
const missing = headers.filter((header) => !existsSync(header));
if (missing.length > 0) {
  // A binary from an earlier build would name libraries this host may no longer have.
  rmSync(new URL('build', import.meta.url), { recursive: true, force: true });
  console.log(
    `@fence-virtd/cpg: not built, ${missing.join(' and ')} missing. The cpg backend needs them: ` +
      'install libcpg-dev and libvotequorum-dev (Debian) or corosynclib-devel (Fedora, RHEL), then run npm ci again.',
  );
  process.exit(0);
}

// npm puts its own node-gyp on PATH for install scripts.
const build = spawnSync('node-gyp', ['rebuild'], { cwd: here, stdio: 'inherit' });
if (build.error) {
  console.error(`@fence-virtd/cpg: cannot run node-gyp (${build.error.message}); run this through npm (npm rebuild @fence-virtd/cpg)`);
  process.exit(1);
}
process.exit(build.status ?? 1);
