import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/util/log.js';
import { escapeForLog } from '../../src/util/log-escape.js';

describe('log escaping', () => {
  it('escapes control, DEL, C1, format and line-break characters, and leaves other text alone', () => {
    assert.equal(escapeForLog('vm-1 naïve 域'), 'vm-1 naïve 域');
    assert.equal(escapeForLog('a\nb\rc\td\x00e\x1b[31m'), 'a\\x0ab\\x0dc\\x09d\\x00e\\x1b[31m');
    assert.equal(escapeForLog('\x7f\x85'), '\\x7f\\x85');
    assert.equal(escapeForLog('x\u202ey\u2028z\u200b'), 'x\\u{202e}y\\u{2028}z\\u{200b}');
  });

  it('is applied to every line the logger writes, prefix included', () => {
    const lines: string[] = [];
    const log = createLogger(() => 3, { write: (l) => lines.push(l) }).child('tcp\n');
    log.warn('dropping request for "evil\nnotice: audit: op=off result=success"');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.split('\n').length, 2, 'one line, ended by the one newline the logger adds');
    assert.match(lines[0] as string, /^warn: tcp\\x0a: dropping request for "evil\\x0anotice: audit/);
  });
});
