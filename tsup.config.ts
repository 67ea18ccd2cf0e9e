/**
 * `npm run build`: one executable per src/bin entry (dist/fence_xvm, dist/fence_virt, dist/fence_virtd),
 * each a self-contained CommonJS bundle named without extension and marked executable (the daemon's is
 * a loader of its bundle, below), and a package.json that tells Node they are CommonJS (the
 * repository's says "module"). Native addon packages stay external: they are loaded from node_modules
 * at run time. `tsup --out-dir DIR` builds elsewhere (the build test does).
 *
 * CommonJS rather than ESM because Node starts it faster: no module graph to resolve, link and evaluate
 * through the ESM loader, and a script that V8 can compile with a code cache. Dynamic imports stay
 * lazy: esbuild turns them into module initialisers run on first use, so the code and Node built-ins
 * that only `-c`, `--check` and `--history` need are not loaded by the serving daemon
 * (bench/results/startup-memory.md measures each).
 */
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { defineConfig } from 'tsup';

const BIN_DIR = 'src/bin';

/**
 * The daemon is three files: fence_virtd, a small loader (packaging/daemon-loader.cjs), runs
 * fence_virtd.main.js, the bundle, compiled with fence_virtd.main.js.cache, a V8 code cache made here. A start then deserializes the code of the bundle's top level and of the functions every start
 * runs instead of parsing 340 KB and compiling them (bench/results/startup-memory.md measures it).
 */
const DAEMON = 'fence_virtd';
const DAEMON_LOADER = 'packaging/daemon-loader.cjs';

/**
 * Makes the code cache of a bundle as the loader compiles it: the same wrapper and source, run as
 * `fence_virtd --version` (the functions a start runs before it reads its configuration), the cache
 * taken at exit, when those functions are compiled. Run by this Node without flags: V8 accepts a cache
 * only under the flags it was made with, and the installed daemon runs without any.
 */
const MAKE_CODE_CACHE = `
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire, wrap } = require('node:module');
const { dirname, resolve } = require('node:path');
const { Script } = require('node:vm');
const file = resolve(process.argv[1]);
process.argv = [process.argv[0], file, '--version'];
const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file });
process.on('exit', () => writeFileSync(file + '.cache', script.createCachedData()));
const bundle = { exports: {} };
script.runInThisContext().call(bundle.exports, bundle.exports, createRequire(file), bundle, file, dirname(file));
`;

/**
 * The bundle with every non-ASCII character written as a \u escape. esbuild escapes them in strings
 * but keeps comments as written, and one `…` in a comment makes V8 hold the whole source as two bytes
 * per character for the life of the process (570 KB instead of 285 KB for the daemon). The escape means
 * the same character in strings, templates, regular expressions and identifiers, and is inert in a
 * comment.
 */
function asciiOnly(text: string): string {
  return text.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const entries = Object.fromEntries(
  (await readdir(BIN_DIR)).filter((f) => f.endsWith('.ts')).map((f) => [basename(f, '.ts'), join(BIN_DIR, f)]),
);

export default defineConfig((cli) => {
  const outDir = cli.outDir ?? 'dist';
  return {
    entry: entries,
    outDir,
    format: ['cjs'],
    // .js whatever the repository's package type (tsup would write .cjs); renamed below anyway.
    outExtension: () => ({ js: '.js' }),
    // import.meta.url (the addon loaders' createRequire) as the bundle's own file URL.
    shims: true,
    platform: 'node',
    target: 'node20',
    // One file per tool: no shared chunks to install alongside.
    splitting: false,
    clean: true,
    removeNodeProtocol: false,
    external: ['@fence-virtd/vsock', 'serialport'],
    banner: { js: '#!/usr/bin/env node' },
    // Installed tools are plain names, like the C ones they replace (esbuild always adds an extension).
    async onSuccess() {
      await writeFile(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
      for (const name of Object.keys(entries)) {
        const tool = join(outDir, name);
        const text = asciiOnly(await readFile(`${tool}.js`, 'utf8'));
        await rm(`${tool}.js`);
        if (name === DAEMON) {
          // The loader compiles the bundle as a function body, where a shebang line would not parse.
          const main = `${tool}.main.js`;
          await writeFile(main, text.replace(/^#!.*\n/, ''));
          await copyFile(DAEMON_LOADER, tool);
          execFileSync(process.execPath, ['-e', MAKE_CODE_CACHE, main], { stdio: 'ignore', env: { PATH: process.env.PATH } });
        } else {
          await writeFile(tool, text);
        }
        await chmod(tool, 0o755);
      }
    },
  };
});
