/**
 * `npm run build`: one executable per src/bin entry (dist/fence_xvm, dist/fence_virt, dist/fence_virtd),
 * each a self-contained CommonJS bundle named without extension and marked executable, and a
 * package.json that tells Node they are CommonJS (the repository's says "module"). Native addon
 * packages stay external: they are loaded from node_modules at run time. `tsup --out-dir DIR` builds
 * elsewhere (the build test does).
 *
 * CommonJS rather than ESM because Node starts it faster and smaller: no module graph to link and
 * evaluate through the ESM loader, and its source text is not kept for the life of the process
 * (bench/results/startup-memory.md measures it). Dynamic imports stay lazy: esbuild turns them into
 * module initialisers run on first use, so the code and Node built-ins that only `-c`, `--check` and
 * `--history` need are not loaded by the serving daemon.
 */
import { chmod, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { defineConfig } from 'tsup';

const BIN_DIR = 'src/bin';

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
      for (const name of Object.keys(entries)) {
        const tool = join(outDir, name);
        await rename(`${tool}.js`, tool);
        await writeFile(tool, asciiOnly(await readFile(tool, 'utf8')));
        await chmod(tool, 0o755);
      }
      await writeFile(join(outDir, 'package.json'), '{ "type": "commonjs" }\n');
    },
  };
});
