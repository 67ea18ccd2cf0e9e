/**
 * The fast tier, `npm run test:unit`: tests that need no root, no libvirtd, no qemu, no C tools and no
 * network namespace, so they run anywhere in seconds and as any user. They talk only to memory, to temp
 * files, and to unix sockets or loopback port 0 of their own. The full suite (scripts/run-tests.sh, which
 * `npm test` and CI run) runs each of these files too, in a process of its own.
 *
 * Here they are imported into one process, under `node --test`: starting the TypeScript loader once
 * instead of once per file is most of the time the tier takes. A test must not rely on running alone in
 * its process (no process-wide settings, no top-level hooks); the full suite's run catches one that does.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Folders that belong to the tier whole: a test added to one must keep to the rules above. */
const FOLDERS = ['test/auth', 'test/core', 'test/listeners', 'test/protocol'];

/** Single files of folders whose other tests need the full test bed. */
const FILES = [
  'test/agent/parsing.test.ts',
  'test/protocol-v2/codec.test.ts',
  'test/config/daemon-config.test.ts',
  'test/config/parse.test.ts',
  'test/config/sample-files.test.ts',
  'test/config/write.test.ts',
  'test/configure/config-reference.test.ts',
  'test/daemon/fence-history-file.test.ts',
  'test/daemon/keyed-mutex.test.ts',
  'test/libvirt/client-faults.test.ts',
  'test/libvirt/codec.test.ts',
];

function testsIn(folder: string): string[] {
  const names = readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' });
  return names
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => join(folder, name));
}

for (const file of [...FOLDERS.flatMap(testsIn), ...FILES]) await import(pathToFileURL(join(ROOT, file)).href);
