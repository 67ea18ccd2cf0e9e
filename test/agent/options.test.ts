/**
 * Options, stdin parsing, help, version and bad input: for each call, our agents and the real C agents
 * give the same exit code and stdout (and the same "Parse error" lines on stderr). Every call here
 * stops before any network traffic (help, errors, validate-all); where a call parses successfully,
 * `-d` makes both agents dump every parsed setting, so the values themselves are compared too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needsTools } from '../support/requirement.js';
import { assertAgentsAgree, C_AGENT, runC, runOurs, SERIAL_DEVICE_HELP_ROW, type AgentName } from './agents.js';

const skip = needsTools(...Object.values(C_AGENT));

const long = (n: number): string => 'a'.repeat(n);

/** Calls valid for both agents. */
const commonCalls: string[][] = [
  ['-h'],
  ['-?'],
  ['-Z'],
  ['-o'],
  ['-V'],
  ['-M', 'x', '-H', 'a'],
  ['-k', '/nonexistent/fence.key', '-o', 'status', '-H', 'x'],
  ['-k', '', '-o', 'status', '-H', 'x'],
  ['-o', 'bogus', '-H', 'x'],
  ['-o', 'STATUS', '-d', '-o', 'validate-all', '-H', 'x'],
  ['-H', long(64), '-o', 'status'],
  ['-H', long(63), '-d', '-o', 'validate-all'],
  ['-H', '', '-o', 'status'],
  ['-H', 'a', '-n', 'b'],
  ['-n', 'a', '-n', 'a', '-o', 'validate-all'],
  ['-p', 'abc', '-H', 'x'],
  ['-p', '0', '-H', 'x'],
  ['-p', '65536', '-H', 'x'],
  ['-p', '12x', '-H', 'x'],
  ['-d', '-p', '0x4cd', '-t', '010', '-w', ' 7', '-o', 'validate-all', '-H', 'x'],
  ['-d', '-p', '+1230', '-w', '', '-o', 'validate-all', '-H', 'x'],
  ['-d', '-p', '4294968525', '-o', 'validate-all', '-H', 'x'],
  ['-t', '0', '-H', 'x'],
  ['-t', '-5', '-H', 'x'],
  ['-w', '-1', '-H', 'x'],
  ['-c', 'md5', '-H', 'x'],
  ['-C', 'rot13', '-H', 'x'],
  ['-d', '-C', 'SHA1', '-c', 'None', '-o', 'validate-all', '-H', 'x'],
  ['-o', 'status'],
  ['-o', 'validate-all'],
  ['-o', 'monitor', '-d', '-o', 'validate-all'],
  ['-dd', '-ovalidate-all', '-Hx'],
  ['extra', '-o', 'validate-all', 'words', '-H', 'x', '-d'],
  ['-d', '--', '-o', 'validate-all', '-H', 'x'],
  ['-p', 'abc', '-Z'],
];

const agentCalls: Record<AgentName, string[][]> = {
  fence_xvm: [
    ['-r', '0', '-H', 'x'],
    ['-i', 'ipv5', '-H', 'x'],
    ['-a', 'nonsense', '-H', 'x'],
    ['-d', '-i', 'IPv6', '-o', 'validate-all', '-H', 'x'],
    ['-d', '-a', 'ff02::1', '-u', '-r', '5', '-o', 'validate-all', '-H', 'x'],
    ['-d', '-i', 'ipv4', '-a', 'ff02::1', '-o', 'validate-all', '-H', 'x'],
    ['-T', '127.0.0.1', '-H', 'x'],
  ],
  fence_virt: [
    ['-S1', '-H', 'x'],
    ['-Sabc', '-H', 'x'],
    ['-S0xffffffff', '-H', 'x'],
    ['-S-3', '-H', 'x'],
    ['-d', '-S', '-o', 'validate-all', '-H', 'x'],
    ['-d', '-S4294967294', '-o', 'validate-all', '-H', 'x'],
    ['-d', '-S', '3', '-o', 'validate-all', '-H', 'x'],
    ['-d', '-T', '10.0.0.1', '-A', 'fe80::1', '-o', 'validate-all', '-H', 'x'],
    ['-d', '-D', '/dev/ttyS1', '-P', '9600,7E2', '-o', 'validate-all', '-H', 'x'],
    ['-u', '-H', 'x'],
    ['-r', '5', '-H', 'x'],
  ],
};

/** Pacemaker-style stdin; unknown keys are reported on stderr. */
const stdinCases: Array<{ name: string; input: string; agents?: AgentName[] }> = [
  { name: 'empty input', input: '' },
  {
    name: 'Pacemaker keys, comments, blank lines',
    input: '# written by pacemaker-fenced\nnodename=node1\nagent=fence_xvm\n\n   \naction=validate-all\nport=vm1\nipport=1230\ndebug=1\n',
  },
  { name: 'last value wins', input: 'timeout=5\ntimeout=7\ndelay=3\ndelay=0\ndebug=1\naction=validate-all\nplug=x\n' },
  { name: 'a value cut at the first blank', input: 'debug=1\naction=validate-all\nplug=my vm\n' },
  { name: 'spaces around = make a bare key (the default reboot stays)', input: 'debug=1\naction = off\nport=x\nport=y\n' },
  {
    name: 'indented comment, unknown and other-program keys',
    input: '  # indented\nbogus=1\nipaddr=1.2.3.4\nmulticast_address=225.0.0.1\ninterface=lo\nself=x\naction=validate-all\nplug=x\n',
  },
  { name: 'deprecated option and domain keys', input: 'debug=1\noption=validate-all\ndomain=x\n' },
  { name: 'domain twice through two keys', input: 'plug=x\ndomain=y\naction=validate-all\n' },
  { name: 'bare keys', input: 'debug\ndebug\nuse_uuid\ndomain\naction=validate-all\nport=x\n' },
  { name: 'CRLF lines', input: 'debug=1\r\naction=validate-all\r\nport=x\r\n' },
  { name: 'a last line of blanks without newline', input: 'action=validate-all\nport=x\n   ' },
  { name: 'a line longer than 255 bytes', input: `action=validate-all\nport=${long(300)}\n` },
  { name: 'invalid values', input: 'ipport=0x10000\ntimeout=soon\nhash=md5\naction=validate-all\nport=x\n' },
  { name: 'key names are case-insensitive', input: 'DEBUG=1\nAction=Validate-All\nPLUG=x\nuse_UUID=7\n' },
];

function parseErrors(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('Parse error'));
}

for (const name of ['fence_xvm', 'fence_virt'] as const) {
  describe(`${name} options: same exit code and stdout as the C agent`, { skip }, () => {
    it('command-line options, help, version and bad input', async () => {
      for (const args of [...commonCalls, ...agentCalls[name]]) await assertAgentsAgree(name, args);
    });

    for (const { name: label, input, agents } of stdinCases) {
      if (agents && !agents.includes(name)) continue;
      it(`stdin: ${label}`, async () => {
        const { c, ours } = await assertAgentsAgree(name, [], { input });
        assert.deepEqual(parseErrors(ours.stderr), parseErrors(c.stderr), 'unknown-key messages on stderr');
      });
    }
  });
}

describe('fence_virt help about the serial device tells what the agents do', { skip }, () => {
  it('without -D both agents use vmchannel, not /dev/ttyS1, and our help says so (the C help does not)', async () => {
    const dump = ['-d', '-o', 'validate-all', '-H', 'x'];
    const [c, ours] = await Promise.all([runC('fence_virt', dump), runOurs('fence_virt', dump)]);
    for (const { stdout } of [c, ours]) {
      assert.match(stdout, /args->serial\.device = \(null\)/, 'no device without -D');
      assert.match(stdout, /args->serial\.address = 10\.0\.2\.179/, 'the vmchannel address is used');
    }
    const help = (await runOurs('fence_virt', ['-h'])).stdout;
    const rows = help.match(SERIAL_DEVICE_HELP_ROW) ?? [];
    assert.equal(rows.length, 2, 'the -D row and the serial_device row');
    for (const row of rows) {
      assert.doesNotMatch(row, /ttyS1/);
      assert.match(row.replace(/\s+/g, ' '), /Serial device \(default: none, which means vmchannel to the VM Channel IP address\)/);
    }
    assert.match((await runC('fence_virt', ['-h'])).stdout, /Serial device \(default=\/dev\/ttyS1\)/, 'the C text this replaces');
  });
});
