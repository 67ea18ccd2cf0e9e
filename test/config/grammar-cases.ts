/**
 * Every grammar edge case of the configuration file (docs/protocol.md#configuration-file-syntax), with
 * the exact position and reason our parser reports and the line the C parser reports ("syntax error on
 * line N"), or the values a lookup must see.
 */
export interface RejectedCase {
  name: string;
  text: string;
  line: number;
  column: number;
  reason: RegExp;
  /** Line of C's "syntax error on line N"; undefined when C accepts the text (we are stricter). */
  cLine: number | undefined;
}

export interface AcceptedCase {
  name: string;
  text: string;
  /** Path lookups and the value each must give (undefined = not set). */
  lookups: Record<string, string | undefined>;
}

export const rejected: RejectedCase[] = [
  { name: 'empty file', text: '', line: 1, column: 1, reason: /contains no blocks or assignments/, cLine: 1 },
  {
    name: 'comment-only file',
    text: '# only a comment\n   # and another\n',
    line: 3,
    column: 1,
    reason: /contains no blocks or assignments/,
    cLine: 3,
  },
  {
    name: 'unquoted value',
    text: 'a {\n\tb = c;\n}\n',
    line: 2,
    column: 6,
    reason: /value of key 'b' must be in double quotes \("c"\)/,
    cLine: 2,
  },
  { name: 'empty quoted value', text: 'a {\n\tb = "";\n}\n', line: 2, column: 6, reason: /empty value "" is not allowed/, cLine: 2 },
  { name: "'};' after a block", text: 'a {\n\tb = "1";\n};\n', line: 3, column: 2, reason: /unexpected ';' after '}'/, cLine: 3 },
  {
    name: "missing ';'",
    text: 'listeners {\n\ttcp {\n\t\tport = "1229"\n\t}\n}\n',
    line: 4,
    column: 2,
    reason: /^expected ';' after the value of key 'port', found '}'$/,
    cLine: 4,
  },
  {
    name: "missing ';' at end of file",
    text: 'top = "v"',
    line: 1,
    column: 10,
    reason: /expected ';' after the value of key 'top', found end of file/,
    cLine: 1,
  },
  {
    name: 'CRLF line endings',
    text: 'a {\r\n\tb = "1";\r\n}\r\n',
    line: 1,
    column: 4,
    reason: /carriage return \(CRLF line ending\)/,
    cLine: 2,
  },
  {
    name: 'carriage return inside a name (C reads it as part of the name)',
    text: 'a\r {\n\tb = "1";\n}\n',
    line: 1,
    column: 2,
    reason: /carriage return/,
    cLine: undefined,
  },
  { name: 'unterminated quoted value', text: 'a {\n\tb = "1;\n}\n', line: 2, column: 6, reason: /quoted value is never closed/, cLine: 2 },
  { name: "stray '}'", text: 'a {\n}\n}\n', line: 3, column: 1, reason: /unexpected '}': no block is open/, cLine: 3 },
  {
    name: "missing '}'",
    text: 'a {\n\tb {\n\t\tc = "1";\n\t}\n',
    line: 5,
    column: 1,
    reason: /expected '}' to close block 'a' opened at line 1, column 1, found end of file/,
    cLine: 5,
  },
  { name: 'two names in a row', text: 'a b {\n}\n', line: 1, column: 3, reason: /expected '=' or '\{' after 'a', found 'b'/, cLine: 1 },
  {
    name: 'quoted block name',
    text: '"a" {\n}\n',
    line: 1,
    column: 1,
    reason: /expected a block or key name, found a quoted value/,
    cLine: 1,
  },
  {
    name: 'missing value',
    text: 'a {\n\tb = ;\n}\n',
    line: 2,
    column: 6,
    reason: /expected a quoted value after 'b =', found ';'/,
    cLine: 2,
  },
];

export const accepted: AcceptedCase[] = [
  { name: 'repeated key: the last one wins', text: 'a {\n\tb = "1";\n\tb = "2";\n}\n', lookups: { 'a/@b': '2' } },
  {
    name: 'repeated block: only the last counts, blocks are not merged',
    text: 'a {\n\tb = "1";\n\tc = "x";\n}\na {\n\tb = "2";\n}\n',
    lookups: { 'a/@b': '2', 'a/@c': undefined },
  },
  {
    name: 'names are case-insensitive',
    text: 'FENCE_VIRTD {\n\tListener = "tcp";\n}\n',
    lookups: { 'fence_virtd/@listener': 'tcp', 'Fence_Virtd/@LISTENER': 'tcp' },
  },
  { name: 'multi-line value', text: 'a {\n\tb = "x\ny";\n\tc = "z";\n}\n', lookups: { 'a/@b': 'x\ny', 'a/@c': 'z' } },
  { name: 'valued block', text: 'groups {\n\tgroup = "g1" {\n\t\tname = "one";\n\t}\n}\n', lookups: { 'groups/group/@name': 'one' } },
  {
    name: "'#' inside a name and inside a value is not a comment",
    text: 'a {\n\tback#end = "x # y"; # a comment\n\t#b = "2";\n}\n',
    lookups: { 'a/@back#end': 'x # y', 'a/@b': undefined },
  },
  { name: 'top-level assignment', text: 'top = "level";\n', lookups: { '@top': 'level' } },
  { name: 'empty blocks, with and without a value', text: 'a {\n}\nb = "v" {\n}\n', lookups: { 'a/@x': undefined } },
  { name: 'no whitespace at all', text: 'a{b="1";c{d="2";}}', lookups: { 'a/@b': '1', 'a/c/@d': '2' } },
  { name: 'tabs, spaces and blank lines anywhere', text: '\n\n  a\t{\n\n b\t=\t"1"\t;\n }  \n\n', lookups: { 'a/@b': '1' } },
];
