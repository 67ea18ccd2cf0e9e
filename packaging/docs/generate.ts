/**
 * Generated documentation, one source of truth each (see man-pages.ts):
 *   node --import tsx packaging/docs/generate.ts --man DIR    writes fence_virtd.8, fence_virt.conf.5, fence_xvm.8, fence_virt.8
 *   node --import tsx packaging/docs/generate.ts --readme     refreshes the configuration reference in README.md
 * SOURCE_DATE_EPOCH, when set, dates the pages (reproducible builds).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withConfigReference } from './config-markdown.js';
import { manPages } from './man-pages.js';
import { renderManPage } from './roff.js';

const epoch = Number(process.env.SOURCE_DATE_EPOCH);
const date = (Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date()).toISOString().slice(0, 10);
const [mode, target] = process.argv.slice(2);

if (mode === '--man' && target) {
  await mkdir(target, { recursive: true });
  for (const page of manPages({ date })) await writeFile(join(target, `${page.name}.${page.section}`), renderManPage(page));
} else if (mode === '--readme') {
  const file = new URL('../../README.md', import.meta.url);
  await writeFile(file, withConfigReference(await readFile(file, 'utf8')));
} else {
  process.stderr.write('usage: generate.ts --man DIR | --readme\n');
  process.exit(1);
}
