/**
 * `-o metadata`: our XML is well-formed (xmllint), valid against our RelaxNG description of fence agent
 * metadata, and describes the same parameters (names, attributes, getopt letters, types, defaults,
 * descriptions) and actions in the same order as the real C agents' — in fact byte for byte.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runTool } from '../support/processes.js';
import { needsTools } from '../support/requirement.js';
import { C_AGENT, runC, runOurs } from './agents.js';

const SCHEMA = fileURLToPath(new URL('../fixtures/agent/fence-metadata.rng', import.meta.url));
const skip = needsTools(...Object.values(C_AGENT), '/usr/bin/xmllint');

interface Parameter {
  attributes: string;
  getopt: string;
  content: string;
  shortdesc: string;
}

/** The structure Pacemaker reads, extracted from the text (the layout is fixed by both agents). */
function structure(xml: string) {
  const agent = /<resource-agent ([^>]*)>/.exec(xml)?.[1];
  const parameters: Parameter[] = [
    ...xml.matchAll(
      /<parameter ([^>]*)>\s*<getopt ([^>]*?)\s*\/>\s*<content ([^>]*?)\s*\/>\s*<shortdesc lang="en">([^<]*)<\/shortdesc>\s*<\/parameter>/g,
    ),
  ].map((m) => ({ attributes: m[1] as string, getopt: m[2] as string, content: m[3] as string, shortdesc: m[4] as string }));
  const actions = [...xml.matchAll(/<action name="([^"]+)" \/>/g)].map((m) => m[1]);
  return { agent, parameters, actions, parameterCount: (xml.match(/<parameter /g) ?? []).length };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agent-metadata-'));
});
after(() => rm(dir, { recursive: true, force: true }));

for (const name of ['fence_xvm', 'fence_virt'] as const) {
  describe(`${name} -o metadata`, { skip }, () => {
    it('is well-formed, valid against the metadata schema, and matches the C agent', async () => {
      const [c, ours] = await Promise.all([runC(name, ['-o', 'metadata']), runOurs(name, ['-o', 'metadata'])]);
      assert.equal(ours.code, 0);
      assert.equal(c.code, 0);

      const file = join(dir, `${name}.xml`);
      await writeFile(file, ours.stdout);
      const lint = await runTool('xmllint', ['--noout', '--relaxng', SCHEMA, file]);
      assert.equal(lint.code, 0, `xmllint: ${lint.stderr}`);

      const expected = structure(c.stdout);
      const actual = structure(ours.stdout);
      assert.ok(
        expected.parameters.length > 10 && expected.parameters.length === expected.parameterCount,
        'every C parameter was extracted',
      );
      assert.equal(actual.parameterCount, actual.parameters.length, 'every parameter of ours has the expected shape');
      assert.deepEqual(actual, expected);
      assert.equal(ours.stdout, c.stdout);
    });

    it('is printed for stdin input too, and needs no domain', async () => {
      const input = 'agent=x\nnodename=n1\naction=metadata\n';
      const [c, ours] = await Promise.all([runC(name, [], { input }), runOurs(name, [], { input })]);
      assert.deepEqual({ code: ours.code, stdout: ours.stdout }, { code: c.code, stdout: c.stdout });
    });
  });
}
