/**
 * `npm run build`: one executable per src/bin entry (dist/fence_xvm, dist/fence_virt, dist/fence_virtd),
 * each a self-contained ESM bundle named without extension and marked executable. Native addon
 * packages stay external: they are loaded from node_modules at run time. `tsup --out-dir DIR` builds
 * elsewhere (the build test does).
 */
import { chmod, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { defineConfig } from 'tsup';

const BIN_DIR = 'src/bin';

/**
 * Node flags of the long-running daemon, in its shebang line (the systemd unit runs the file). A young
 * generation of at most 1 MB per semi-space instead of up to 16 MB: the daemon's allocations are small
 * and short-lived, and the larger space only holds garbage in RSS after a burst (start-up scan of many
 * guests, a host list of thousands of domains). bench/results/side-by-side.md measures it.
 */
const DAEMON_SHEBANG = '#!/usr/bin/env -S node --max-semi-space-size=1';

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
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    // One file per tool: no shared chunks to install alongside.
    splitting: false,
    clean: true,
    removeNodeProtocol: false,
    external: ['@fence-virtd/vsock', 'serialport'],
    banner: {
      // Bundled CommonJS code calls require(), which ESM lacks.
      js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
    },
    // Installed tools are plain names, like the C ones they replace (esbuild always adds an extension).
    async onSuccess() {
      for (const name of Object.keys(entries)) {
        const tool = join(outDir, name);
        await rename(`${tool}.js`, tool);
        let text = asciiOnly(await readFile(tool, 'utf8'));
        if (name === 'fence_virtd') text = text.replace(/^#!.*/, DAEMON_SHEBANG);
        await writeFile(tool, text);
        await chmod(tool, 0o755);
      }
    },
  };
});
