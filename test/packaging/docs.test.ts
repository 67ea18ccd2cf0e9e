/**
 * The generated documentation agrees with the programs: the man pages list every option the programs
 * accept and every configuration key, render without groff warnings, and the README's configuration
 * table is the current one.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { lettersOf } from '../../src/agent/option-table.js';
import { FENCE_VIRT, FENCE_XVM } from '../../src/agent/program.js';
import { CONFIG_REFERENCE } from '../../src/daemon-config/reference.js';
import { parseDaemonOptions } from '../../src/daemon/cli-options.js';
import { withConfigReference } from '../../packaging/docs/config-markdown.js';
import { daemonOptions, manPages } from '../../packaging/docs/man-pages.js';
import { renderManPage } from '../../packaging/docs/roff.js';
import { REPO, runTool } from '../support/processes.js';
import { needsTools } from '../support/requirement.js';

const pages = new Map(manPages({ date: '2025-01-01' }).map((p) => [`${p.name}.${p.section}`, renderManPage(p)]));

/** The page as man shows it (plain text), and groff's warnings. */
async function rendered(name: string): Promise<{ text: string; warnings: string }> {
  const result = await runTool('env', ['MANWIDTH=200', 'man', '--warnings', '-l', '-'], { input: pages.get(name) as string });
  assert.equal(result.code, 0, result.stderr);
  return { text: result.stdout, warnings: result.stderr };
}

describe('generated documentation', { skip: needsTools('/usr/bin/man', '/usr/bin/groff') }, () => {
  it('the four man pages render without groff warnings', async () => {
    assert.deepEqual([...pages.keys()], ['fence_virtd.8', 'fence_virt.conf.5', 'fence_xvm.8', 'fence_virt.8']);
    for (const name of pages.keys()) {
      const { warnings, text } = await rendered(name);
      assert.equal(warnings.trim(), '', `${name}: ${warnings}`);
      assert.match(text, /NAME/);
    }
  });

  it('fence_virtd(8) has every option of --help, and the parser accepts each one', async () => {
    const { text } = await rendered('fence_virtd.8');
    const options = daemonOptions();
    assert.ok(options.length >= 10, 'options read from --help');
    for (const { option } of options) {
      assert.ok(text.includes(option), `${option} is not in fence_virtd(8)`);
      const [flag, argument] = option.split(' ');
      assert.doesNotThrow(
        () => parseDaemonOptions(argument ? [flag as string, '1'] : [flag as string]),
        `${option} is in --help but refused`,
      );
    }
  });

  it('fence_virtd(8) says how often -w retries and creates the key with the mode the daemon wants', async () => {
    const text = (await rendered('fence_virtd.8')).text.replace(/\s+/g, ' ');
    assert.match(text, /-w Wait for initialization: retry a backend or listener that fails to start every 5 s\./);
    assert.match(
      text,
      /dd if=\/dev\/urandom of=\/etc\/cluster\/fence_xvm\.key bs=4096 count=1 && chmod 600 \/etc\/cluster\/fence_xvm\.key/,
    );
  });

  it('fence_xvm(8) and fence_virt(8) have every option letter of their getopt strings', async () => {
    for (const program of [FENCE_XVM, FENCE_VIRT]) {
      const { text } = await rendered(`${program.name}.8`);
      // -M is accepted by the C getopt strings but means nothing (usage error), so it is not documented.
      for (const letter of lettersOf(program.optstring).filter((l) => l !== 'M')) {
        assert.match(text, new RegExp(`^ +-${letter.replace('?', '\\?')}(?=\\s)`, 'm'), `-${letter} is not in ${program.name}(8)`);
      }
    }
    assert.doesNotMatch((await rendered('fence_xvm.8')).text, /^ +-T\b/m, 'fence_xvm has no TCP mode');
  });

  it('fence_virt.conf(5) has every key of every block', async () => {
    const { text } = await rendered('fence_virt.conf.5');
    for (const block of CONFIG_REFERENCE) {
      const start = text.indexOf(`${block.path} \u2014 ${block.usedBy}`);
      assert.ok(start !== -1, `no section for ${block.path} (${block.usedBy})`);
      for (const key of block.keys) assert.match(text.slice(start), new RegExp(`^ {7}${key.key}\\b`, 'm'), `${block.usedBy} ${key.key}`);
    }
  });

  it('README.md has the current configuration table and, at the top, the two newcomer commands', async () => {
    const readme = await readFile(`${REPO}README.md`, 'utf8');
    assert.equal(withConfigReference(readme), readme, 'run: node --import tsx packaging/docs/generate.ts --readme');
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.match(firstBlock ?? '', /^bash scripts\/quickstart\.sh +#.*\nbash scripts\/test-all\.sh +#.*\n$/);
    assert.ok(readme.indexOf('```sh') < readme.indexOf('\n## '), 'the commands come before the first section');
  });
});
