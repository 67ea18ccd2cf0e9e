/**
 * The agents' pure parsing pieces on cases the differential tests do not reach easily: C integer
 * parsing, GNU getopt, stdin line splitting, serial parameters and help-text wrapping.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getopt } from '../../src/agent/getopt.js';
import { FENCE_VIRT, FENCE_XVM } from '../../src/agent/program.js';
import { parseSerialParams } from '../../src/agent/serial-params.js';
import { parseStdinEntries } from '../../src/agent/stdin-lines.js';
import { helpText } from '../../src/agent/usage.js';
import { atoi, strtol, strtoul, toCInt } from '../../src/util/c-number.js';

describe('C integer parsing', () => {
  it('strtol with base 0: decimal, hex, octal, blanks and sign, partial and empty input', () => {
    assert.deepEqual(strtol('1229'), { value: 1229n, complete: true });
    assert.deepEqual(strtol('0x4cd'), { value: 1229n, complete: true });
    assert.deepEqual(strtol('0X4CD'), { value: 1229n, complete: true });
    assert.deepEqual(strtol('02315'), { value: 1229n, complete: true });
    assert.deepEqual(strtol(' \t+12'), { value: 12n, complete: true });
    assert.deepEqual(strtol('-7'), { value: -7n, complete: true });
    assert.deepEqual(strtol('12x'), { value: 12n, complete: false });
    assert.deepEqual(strtol('0x'), { value: 0n, complete: false }, 'the x is left over');
    assert.deepEqual(strtol('09'), { value: 0n, complete: false }, '9 is no octal digit');
    assert.deepEqual(strtol('abc'), { value: 0n, complete: false });
    assert.deepEqual(strtol(''), { value: 0n, complete: true });
    assert.deepEqual(strtol(' '), { value: 0n, complete: false }, 'no digits: the end is the start');
  });

  it('clamps like glibc and truncates to int like the C assignment', () => {
    assert.equal(strtol('99999999999999999999').value, (1n << 63n) - 1n);
    assert.equal(toCInt(strtol('99999999999999999999').value), -1);
    assert.equal(toCInt(strtol('4294968525').value), 1229, '2^32 + 1229 wraps to 1229');
    assert.equal(strtoul('-1').value, (1n << 64n) - 1n);
    assert.equal(strtoul('0xfffffffe').value, 0xfffffffen);
    assert.equal(atoi('12abc'), 12);
    assert.equal(atoi('0x10'), 0, 'atoi is decimal only');
  });
});

describe('GNU getopt', () => {
  const run = (argv: string[], optstring = FENCE_VIRT.optstring) => getopt('prog', argv, optstring);

  it('clusters, attached and separate arguments, an argument that looks like an option', () => {
    assert.deepEqual(run(['-dd', '-ostatus', '-H', '-n']).items, [
      { letter: 'd', value: undefined },
      { letter: 'd', value: undefined },
      { letter: 'o', value: 'status' },
      { letter: 'H', value: '-n' },
    ]);
  });

  it('optional arguments only attached: -S3 has one, -S 3 has none and 3 is an operand', () => {
    assert.deepEqual(run(['-S3']).items, [{ letter: 'S', value: '3' }]);
    assert.deepEqual(run(['-S', '3']).items, [{ letter: 'S', value: undefined }]);
  });

  it('operands are skipped and options after them still parsed; -- ends options', () => {
    assert.deepEqual(run(['x', '-d', 'y', '--', '-d']).items, [{ letter: 'd', value: undefined }]);
  });

  it('unknown letters and missing arguments become ? with glibc messages', () => {
    assert.deepEqual(run(['-dZ', '-o']), {
      items: [
        { letter: 'd', value: undefined },
        { letter: '?', value: undefined },
        { letter: '?', value: undefined },
      ],
      complaints: ["prog: invalid option -- 'Z'", "prog: option requires an argument -- 'o'"],
    });
    assert.deepEqual(run(['-u'], FENCE_XVM.optstring).items, [{ letter: 'u', value: undefined }]);
    assert.deepEqual(run(['-u']).items, [{ letter: '?', value: undefined }], 'fence_virt has no -u');
  });
});

describe('stdin lines', () => {
  const parse = (text: string) => parseStdinEntries(Buffer.from(text));

  it('comments, blanks, values cut at blanks, bare keys, CRLF, NUL ends a line', () => {
    assert.deepEqual(parse('#c\n \t\n\r\n  port=a b\naction\nx=\r\ny=1\0z=2\n'), [
      { name: 'port', value: 'a' },
      { name: 'action', value: undefined },
      { name: 'x', value: '' },
      { name: 'y', value: '1' },
    ]);
  });

  it('an indented # is a key; a last line of blanks is an empty key', () => {
    assert.deepEqual(parse('  #x\n  '), [
      { name: '#x', value: undefined },
      { name: '', value: undefined },
    ]);
  });

  it('lines are read in chunks of 255 bytes, the rest of a long line being the next entry', () => {
    const value = 'v'.repeat(300);
    assert.deepEqual(parse(`port=${value}\n`), [
      { name: 'port', value: 'v'.repeat(250) },
      { name: 'v'.repeat(50), value: undefined },
    ]);
  });
});

describe('serial parameters', () => {
  it('speeds and framing as the C agent accepts them', () => {
    assert.deepEqual(parseSerialParams('115200,8N1'), {
      ok: true,
      settings: { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 },
    });
    assert.deepEqual(parseSerialParams(''), { ok: true, settings: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 } });
    assert.deepEqual(parseSerialParams('2400,7o2x'), { ok: true, settings: { baudRate: 2400, dataBits: 7, parity: 'odd', stopBits: 2 } });
    assert.deepEqual(parseSerialParams('38400,E'), { ok: false, reason: "framing 'E' needs three characters, e.g. 8N1" });
    assert.equal(parseSerialParams('09600').ok, false, 'speeds compare as text');
    assert.deepEqual(parseSerialParams('9600,8Q1'), {
      ok: false,
      reason: "framing character 'Q' is none of 5-8, N/E/O, 1/2",
      badChar: 'Q',
    });
  });
});

describe('help text', () => {
  it('wraps descriptions at the last blank within 55 columns and pads both columns', () => {
    const lines = helpText(FENCE_XVM, 'fence_xvm').split('\n');
    const uuid = lines.findIndex((l) => l.startsWith('  -u '));
    assert.deepEqual(lines.slice(uuid, uuid + 3), [
      '  -u                    Treat [domain] as UUID instead of domain name. This is ',
      '                        provided for compatibility with older fence_xvmd       ',
      '                        installations.                                         ',
    ]);
    for (const line of lines.filter((l) => l.startsWith('  ') && !l.startsWith('    arg')))
      assert.equal(line.length, 79, JSON.stringify(line));
  });
});
