/**
 * trimMalloc (src/native/malloc-trim.ts), which the serving daemon calls after each collection of a
 * burst: memory that malloc keeps free between blocks still in use goes back to the kernel. Run in a
 * child process, as the daemon does it: the threshold it pins is process-wide.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runTool } from '../support/processes.js';

const MODULE = fileURLToPath(new URL('../../src/native/malloc-trim.ts', import.meta.url));

describe('trimMalloc', () => {
  it('gives back the pages of freed malloc blocks that lie between blocks in use', async () => {
    // 4,000 blocks of 16 KB (below the size malloc maps on its own), one in eight kept: 56 MB free in
    // holes that glibc does not return by itself.
    const script = `
      import { setFlagsFromString } from 'node:v8';
      import { runInNewContext } from 'node:vm';
      import { readFileSync } from 'node:fs';
      import { trimMalloc } from ${JSON.stringify(MODULE)};
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc');
      const rssMb = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
      const start = rssMb();
      let blocks = Array.from({ length: 4000 }, () => Buffer.allocUnsafeSlow(16 * 1024).fill(1));
      blocks = blocks.filter((_, i) => i % 8 === 0);
      gc();
      await new Promise((r) => setTimeout(r, 300));
      gc();
      const freed = rssMb();
      trimMalloc();
      console.log(JSON.stringify({ start, freed, trimmed: rssMb(), kept: blocks.length }));`;
    const r = await runTool(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    assert.equal(r.code, 0, r.stderr);
    const { start, freed, trimmed } = JSON.parse(r.stdout) as { start: number; freed: number; trimmed: number };
    assert.ok(freed - start > 40, `freed blocks still resident before the trim: ${start} -> ${freed} MB`);
    assert.ok(freed - trimmed > 40, `the trim gave them back: ${freed} -> ${trimmed} MB`);
  });
});
