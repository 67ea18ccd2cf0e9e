/**
 * `tsup` (what `npm run build` runs) makes the agents as executables without extension, with a
 * shebang, runnable directly; the bundles behave like the sources (version, metadata) and load the
 * external serialport package at run time (checked by a status call over a pty whose other end
 * answers like fence_virtd's serial listener). Built by buildBundles, away from dist/.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBundles, type Bundles } from '../support/bundles.js';
import { runTool, waitForPath } from '../support/processes.js';
import { needsTools } from '../support/requirement.js';
import { runOurs } from './agents.js';

let bundles: Bundles;
let out: string;
before(async () => {
  bundles = await buildBundles();
  out = bundles.dir;
});
after(() => bundles?.remove());

describe('built agents', () => {
  for (const name of ['fence_xvm', 'fence_virt'] as const) {
    it(`${name}: an executable with a shebang that runs like the source`, async () => {
      const tool = join(out, name);
      assert.ok(!existsSync(`${tool}.js`), 'no .js extension');
      assert.equal((await stat(tool)).mode & 0o111, 0o111, 'executable');
      const text = await readFile(tool, 'utf8');
      assert.ok(text.startsWith('#!/usr/bin/env node\n'), 'shebang first');
      assert.ok(!/node_modules[\\/]serialport/.test(text), 'serialport is not bundled');

      const version = await runTool(tool, ['-V']);
      assert.deepEqual(version, { code: 0, stdout: `${name} 1.9.0\nfence release 4.12.1\n`, stderr: '', timedOut: false });
      const [bundled, source] = await Promise.all([runTool(tool, ['-o', 'metadata']), runOurs(name, ['-o', 'metadata'])]);
      assert.equal(bundled.code, 0);
      assert.equal(bundled.stdout, source.stdout);
    });
  }

  it('fence_virt: the bundle opens a tty through the external serialport package', { skip: needsTools('/usr/bin/socat') }, async () => {
    const dir = await mkdtemp(join(out, 'pty-'));
    const pty = join(dir, 'pty');
    // The far end reads the 74-byte request and answers "abba" + 2 (OFF), as the serial listener would.
    const answer = join(dir, 'answer.sh');
    await writeFile(answer, "head -c 74 >/dev/null; printf 'abba\\002'\n");
    // -t 30: socat keeps the pty open after the script ends (0.5 s by default), so a slow agent still reads the answer.
    const socat: ChildProcess = spawn('socat', ['-t', '30', `PTY,link=${pty},raw,echo=0`, `SYSTEM:sh ${answer}`], { stdio: 'ignore' });
    try {
      await waitForPath(pty, 'socat pty');
      const result = await runTool(join(out, 'fence_virt'), ['-D', pty, '-t', '5', '-o', 'status', '-H', 'vm']);
      assert.deepEqual({ code: result.code, stdout: result.stdout }, { code: 2, stdout: 'Status: OFF\n' }, result.stderr);
    } finally {
      if (socat.exitCode === null && socat.signalCode === null) {
        const exited = once(socat, 'exit');
        socat.kill('SIGTERM');
        await exited;
      }
    }
  });
});
