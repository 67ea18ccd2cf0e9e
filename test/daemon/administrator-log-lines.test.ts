/**
 * What an administrator reads in the daemon's log at the default level when a guest is set up wrong,
 * with the real C fence_xvm against our daemon over multicast on the test driver: a wrong key leaves one
 * line per source, not one per retransmission; a different auth algorithm is named as such; a status
 * of a mistyped domain answers off, as C does, but says that the domain does not exist.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { toDaemonConfig } from '../../src/daemon-config/index.js';
import { FenceDaemon } from '../../src/daemon/fence-daemon.js';
import { C_AGENT, runC } from '../agent/agents.js';
import { CapturedLog } from '../support/captured-log.js';
import { configText } from '../support/daemon-config-text.js';
import { needsTools } from '../support/requirement.js';

const PORT = 24321;
const NODE = fileURLToPath(new URL('../fixtures/daemon/node.xml', import.meta.url));
const skip = needsTools(C_AGENT.fence_xvm);

describe('log lines an administrator meets', { skip }, () => {
  let dir: string;
  let keyFile: string;
  let daemon: FenceDaemon;
  const captured = new CapturedLog(0);
  const agent = (...args: string[]) => runC('fence_xvm', ['-p', String(PORT), '-k', keyFile, ...args]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fvd-admin-log-'));
    keyFile = join(dir, 'key');
    await writeFile(keyFile, 'the host key\n', { mode: 0o600 });
    const text = configText({
      listeners: { multicast: { interface: 'lo', port: String(PORT), key_file: keyFile } },
      backendUri: `test+unix://${NODE}`,
    });
    daemon = await FenceDaemon.start(toDaemonConfig(parseConfig(text, join(dir, 'fence_virt.conf'))), captured.logger);
  });
  after(async () => {
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a guest with the wrong key: one line for all its retransmissions', async () => {
    const wrongKey = join(dir, 'wrong-key');
    await writeFile(wrongKey, 'a guest key that is not the host key\n', { mode: 0o600 });
    const args = ['-ddd', '-p', String(PORT), '-k', wrongKey, '-t', '6', '-r', '10', '-o', 'status', '-H', 'vm-a'];
    const result = await runC('fence_xvm', args);
    assert.equal(result.code, 1, result.stdout);
    const sent = `${result.stdout}${result.stderr}`.split('\n').filter((l) => /^Sending to /.test(l)).length;
    assert.ok(sent >= 4, `the agent retransmitted (${sent} datagrams):\n${result.stdout}`);
    assert.deepEqual(captured.matching(/dropping request/), [
      'warn: multicast: dropping request from sender 127.0.0.1: key mismatch (request signature does not verify)\n',
    ]);
  });

  it('a guest whose auth algorithm differs: the line says so instead of "connection closed"', async () => {
    const result = await agent('-C', 'sha1', '-t', '4', '-o', 'status', '-H', 'vm-a');
    assert.equal(result.code, 1, result.stdout);
    await captured.waitFor(/closed the connection instead of answering our challenge/);
    const [line] = captured.matching(/challenge-response with 127\.0\.0\.1 failed/);
    assert.match(line ?? '', /it found our answer wrong, so its auth algorithm is not ours \(sha256; fence_xvm -C/);
    assert.doesNotMatch(line ?? '', /connection closed after 0/);
  });

  it('a mistyped domain: status answers off as C does, and the log says there is no such domain', async () => {
    const result = await agent('-o', 'status', '-H', 'vm-aa');
    assert.equal(result.code, 2, `off on the wire, as the C daemon answers: ${result.stdout}`);
    // The status audit line is at info level; the warning is what the default level shows.
    await captured.waitFor(/warn: libvirt backend: status of 'vm-aa' \(from 127\.0\.0\.1, seq \d+\): no such domain, answering off/);
    const off = await agent('-o', 'off', '-H', 'vm-aa');
    assert.equal(off.code, 1);
    await captured.waitFor(/notice: audit: .* target="vm-aa" op=off seqno=\d+ result=failed\(1\) reason="no such domain" duration_ms=/);
  });
});
