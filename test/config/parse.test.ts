import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, findAssignment, getValue, parseConfig } from '../../src/config/index.js';
import { accepted, rejected } from './grammar-cases.js';
import { shapeOf } from './tree-shape.js';

const FILE = '/etc/fence_virt.conf';

for (const c of rejected) {
  test(`rejects: ${c.name}, at line ${c.line}, column ${c.column}`, () => {
    assert.throws(
      () => parseConfig(c.text, FILE),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual([err.file, err.position?.line, err.position?.column], [FILE, c.line, c.column]);
        assert.match(err.reason, c.reason);
        assert.equal(err.message, `${FILE}: line ${c.line}, column ${c.column}: ${err.reason}`);
        return true;
      },
    );
  });
}

for (const c of accepted) {
  test(`accepts: ${c.name}`, () => {
    const document = parseConfig(c.text, FILE);
    for (const [path, value] of Object.entries(c.lookups)) assert.equal(getValue(document, path), value, path);
  });
}

test('items keep their file order, duplicates and positions (lines count newlines inside values)', () => {
  const document = parseConfig('a {\n\tb = "x\ny";\n\tb = "z";\n}\nc = "1";\n', FILE);
  assert.deepEqual(shapeOf(document), [
    {
      kind: 'block',
      name: 'a',
      items: [
        { kind: 'assignment', name: 'b', value: 'x\ny' },
        { kind: 'assignment', name: 'b', value: 'z' },
      ],
    },
    { kind: 'assignment', name: 'c', value: '1' },
  ]);
  const last = findAssignment(document, 'a/@b');
  assert.deepEqual(
    [last?.position, last?.valuePosition],
    [
      { line: 4, column: 2 },
      { line: 4, column: 6 },
    ],
  );
  assert.deepEqual(findAssignment(document, '@c')?.position, { line: 6, column: 1 });
});
