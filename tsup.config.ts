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
import Module from 'node:module';
import { basename, join } from 'node:path';
import { defineConfig } from 'tsup';

const BIN_DIR = 'src/bin';

/**
 * The daemon is three files: fence_virtd, a small loader (packaging/daemon-loader.cjs), runs
 * fence_virtd.main.js, the bundle, compiled with fence_virtd.main.js.cache, a V8 code cache that
 * packaging/make-code-cache.ts makes from a training run of the bundle. A start then deserializes the
 * code of a start and of a request's path instead of parsing 340 KB and compiling them
 * (bench/results/startup-memory.md measures it).
 */
const DAEMON = 'fence_virtd';
const DAEMON_LOADER = 'packaging/daemon-loader.cjs';
const MAKE_CODE_CACHE = 'packaging/make-code-cache.ts';
const IMPORT_META = 'packaging/import-meta.ts';

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
    // import.meta.url (for createRequire) as the bundle's own file URL, made when first read.
    define: { 'import.meta.url': 'importMeta.url' },
    inject: [IMPORT_META],
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
          // Written already wrapped in CommonJS's module function (no shebang line, which would not parse
          // there): the loader compiles the file as read, so a start neither joins the wrapper to the
          // source nor has V8 flatten that join into a second copy of it (bench/results/startup-memory.md).
          // So the file only defines that function: run by itself it does nothing; the loader calls it.
          const main = `${tool}.main.js`;
          await writeFile(main, Module.wrap(text.replace(/^#!.*\n/, '')));
          await copyFile(DAEMON_LOADER, tool);
        } else {
          await writeFile(tool, text);
        }
        await chmod(tool, 0o755);
      }
      // Trained with the agent bundle as its client, once every tool is written; by this Node without
      // flags, as the installed daemon runs (V8 accepts a cache only under the flags it was made with).
      execFileSync(process.execPath, ['--import', 'tsx', MAKE_CODE_CACHE, join(outDir, `${DAEMON}.main.js`), join(outDir, 'fence_virt')], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: process.env.PATH },
      });
    },
  };
});
