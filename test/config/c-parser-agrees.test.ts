/**
 * The real C parser (`fence_virtd -d 4`, see c-parser.ts) reads what ours reads, as the same tree, and
 * rejects what ours rejects: the grammar cases, the sample files and what our writer writes. Apart
 * from the other config tests, which need no C tool.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatConfig, parseConfig } from '../../src/config/index.js';
import { cDaemonMissing } from '../support/c-daemon.js';
import { cAccepts, cReadTree } from './c-parser.js';
import { accepted, rejected } from './grammar-cases.js';
import { fixtureText, RICH } from './samples.js';
import { cView, shapeOf } from './tree-shape.js';

const skip = cDaemonMissing();
const FILE = '/etc/fence_virt.conf';

test('the C parser rejects what we reject (and on the same line) and reads what we read', { skip }, async () => {
  for (const c of rejected) {
    const result = /fence_virtd/i.test(c.text) ? await cReadTree(c.text) : await cAccepts(c.text);
    if (c.cLine === undefined) {
      assert.equal(result.ok, true, `C accepts: ${c.name}`);
    } else {
      assert.equal(result.ok, false, `C rejects: ${c.name}`);
      assert.equal(result.ok === false && result.line, c.cLine, `C's line for: ${c.name}`);
    }
  }
  for (const c of accepted) {
    const result = await cReadTree(c.text);
    assert.ok(result.ok, `C accepts: ${c.name}`);
    assert.deepEqual(result.shape, cView(shapeOf(parseConfig(c.text, FILE))), c.name);
  }
});

test("the real C parser reads the sample files like we do (and also refuses the article's empty address)", { skip }, async () => {
  for (const name of ['debian-default.conf', 'man-page-example.conf']) {
    const text = await fixtureText(name);
    const result = await cReadTree(text);
    assert.ok(result.ok, name);
    assert.deepEqual(result.shape, cView(shapeOf(parseConfig(text))), name);
  }
  const article = await cReadTree(await fixtureText('kvm-article.conf'));
  assert.deepEqual(article.ok === false && article.line, 13);
});

test('the real C parser reads the written file as the same tree (same order, same duplicates)', { skip }, async () => {
  const document = parseConfig(RICH);
  const result = await cReadTree(formatConfig(document));
  assert.ok(result.ok, 'C parses our output');
  assert.deepEqual(result.shape, cView(shapeOf(document)));
});
