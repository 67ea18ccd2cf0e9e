/**
 * The fence history: our daemon fences on the libvirt test driver for the C agent, and
 * `fence_virtd --history` shows what it did, successes and failures, with or without a running daemon.
 * The file is private, survives a line cut by a crash, and keeps only the newest history_entries.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { FenceRecord } from '../../src/daemon/fence-history.js';
import { configText } from '../support/daemon-config-text.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { OUR_DAEMON, runTool, waitUntil } from '../support/processes.js';
import { needsTools } from '../support/requirement.js';

const NODE = fileURLToPath(new URL('../fixtures/daemon/node.xml', import.meta.url));
const PORT = 24730;
const UUID_A = 'd0000000-0000-4000-8000-00000000000a';
const UUID_B = 'd0000000-0000-4000-8000-00000000000b';

let dir: string;
let conf: string;
let keyFile: string;
let historyFile: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-history-'));
  keyFile = join(dir, 'key');
  await writeFile(keyFile, 'history test key', { mode: 0o600 });
  // A directory that does not exist yet: the daemon creates it.
  historyFile = join(dir, 'state', 'history.jsonl');
  conf = join(dir, 'fence_virt.conf');
  await writeFile(
    conf,
    configText({
      listeners: { tcp: { address: '127.0.0.1', port: String(PORT), key_file: keyFile } },
      backendUri: `test+unix://${NODE}`,
      extraDaemonKeys: { history_file: historyFile, history_entries: '4' },
    }),
    { mode: 0o600 },
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const agent = (op: string, target: string) =>
  runTool('/usr/sbin/fence_virt', ['-T', '127.0.0.1', '-p', String(PORT), '-k', keyFile, '-t', '5', '-o', op, '-H', target]);
const history = (...args: string[]) => runTool(OUR_DAEMON.command, [...OUR_DAEMON.args, '--history', '-f', conf, ...args]);

async function historyJson(): Promise<FenceRecord[]> {
  const result = await history('--json');
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as FenceRecord[];
}

async function startDaemon(): Promise<DaemonProcess> {
  const daemon = DaemonProcess.start(OUR_DAEMON.command, [...OUR_DAEMON.args, '-F', '-f', conf, '-p', join(dir, 'fence_virtd.pid')]);
  await waitUntil(async () => (await agent('status', 'vm-a')).code === 0, `fence_virtd serving\n${daemon.output()}`);
  return daemon;
}

describe('fence_virtd --history', { skip: needsTools('/usr/sbin/fence_virt') }, () => {
  it('is empty before any fencing, then shows a real fence and a failed one', async (t) => {
    const empty = await history();
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, `no fencing actions recorded in ${historyFile}\n`);

    const daemon = await startDaemon();
    t.after(() => daemon.stop());
    assert.equal((await agent('off', 'vm-a')).code, 0);
    assert.equal((await agent('status', 'vm-a')).code, 2, 'vm-a is off on the daemon’s libvirt connection');
    assert.notEqual((await agent('off', 'no-such-vm')).code, 0);

    // Read while the daemon runs; the entries are on disk once the answers are out.
    await waitUntil(async () => (await historyJson()).length === 2, 'two entries recorded');
    const [off, failed] = await historyJson();
    assert.deepEqual(
      {
        op: off?.op,
        target: off?.target,
        uuid: off?.uuid,
        listener: off?.listener,
        requester: off?.requester,
        result: off?.result,
        code: off?.code,
      },
      { op: 'off', target: 'vm-a', uuid: UUID_A, listener: 'tcp', requester: '127.0.0.1', result: 'success', code: 0 },
    );
    assert.ok(Date.now() - Date.parse(off?.time ?? '') < 60_000, `a recent time: ${off?.time}`);
    assert.deepEqual(
      [failed?.op, failed?.target, failed?.uuid, failed?.result, failed?.code],
      ['off', 'no-such-vm', undefined, 'failed', 1],
    );
    assert.match(failed?.reason ?? '', /no such domain/);

    const table = await history();
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] as string, /^TIME \(UTC\)\s+OP\s+TARGET\s+UUID\s+REQUESTER\s+LISTENER\s+RESULT\s+MS\s+REASON$/);
    assert.match(
      lines[1] as string,
      new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+off\\s+vm-a\\s+${UUID_A}\\s+127\\.0\\.0\\.1\\s+tcp\\s+success\\s+\\d+$`),
    );
    assert.match(lines[2] as string, /\s+off\s+no-such-vm\s+-\s+127\.0\.0\.1\s+tcp\s+failed\s+\d+\s+no such domain$/);
    assert.equal(lines.length, 3);

    assert.equal((await stat(historyFile)).mode & 0o777, 0o600, 'the history file is private');
    assert.equal((await stat(join(dir, 'state'))).mode & 0o777, 0o700, 'its directory is private');
  });

  it('survives a line cut by a crash, keeps only the newest history_entries, and reads without a daemon', async (t) => {
    // What a crash in the middle of an append leaves: a line without its end.
    await appendFile(historyFile, '{"time":"2026-01-01T00:00:00.000Z","op":"re');
    const daemon = await startDaemon();
    t.after(() => daemon.stop());
    assert.equal((await agent('on', 'vm-a')).code, 0);
    assert.equal((await agent('reboot', UUID_B)).code, 0);
    assert.equal((await agent('off', 'vm-b')).code, 0);
    await waitUntil(async () => (await historyJson()).at(-1)?.target === 'vm-b', 'the last fence recorded');
    await daemon.stop();

    const entries = await historyJson();
    assert.deepEqual(
      entries.map((e) => [e.op, e.target, e.result]),
      [
        ['off', 'no-such-vm', 'failed'],
        ['on', 'vm-a', 'success'],
        ['reboot', UUID_B, 'success'],
        ['off', 'vm-b', 'success'],
      ],
      'the oldest entry gave way to keep 4; the cut line is gone',
    );
    assert.equal(entries[2]?.uuid, UUID_B);
    assert.deepEqual(await readdir(join(dir, 'state')), ['history.jsonl'], 'no temporary file left behind');
    assert.equal((await stat(historyFile)).mode & 0o777, 0o600, 'still private after the rewrite');
  });

  it('records a fence the permission groups refused, and nothing for status or list', async (t) => {
    const refusing = join(dir, 'refusing.conf');
    const refusedHistory = join(dir, 'refused.jsonl');
    await writeFile(
      refusing,
      configText({
        listeners: { tcp: { address: '127.0.0.1', port: String(PORT), key_file: keyFile } },
        backendUri: `test+unix://${NODE}`,
        extraDaemonKeys: { history_file: refusedHistory },
        groups: [{ ip: ['127.0.0.1'], uuid: ['vm-b'] }],
      }),
      { mode: 0o600 },
    );
    const daemon = DaemonProcess.start(OUR_DAEMON.command, [...OUR_DAEMON.args, '-F', '-f', refusing, '-p', join(dir, 'refusing.pid')]);
    t.after(() => daemon.stop());
    await waitUntil(async () => (await agent('status', 'vm-b')).code === 0, `fence_virtd serving\n${daemon.output()}`);
    assert.equal((await agent('list', 'vm-b')).code, 0);
    assert.equal((await agent('off', 'vm-a')).code, 3, 'the groups refuse vm-a to this requester (fence_virt exits with the code)');
    // The history settings are read at start only; a reload says so.
    await writeFile(refusing, (await readFile(refusing, 'utf8')).replace('\tbackend =', '\thistory_entries = "2";\n\tbackend ='));
    process.kill(daemon.pid, 'SIGHUP');
    await daemon.waitForOutput(/history \(history_\*\) or start-up settings changed; they take effect after a restart/);
    await daemon.stop();

    const result = await runTool(OUR_DAEMON.command, [...OUR_DAEMON.args, '--history', '--json', '-f', refusing]);
    const entries = JSON.parse(result.stdout) as FenceRecord[];
    assert.deepEqual(
      entries.map((e) => [e.op, e.target, e.result, e.code]),
      [['off', 'vm-a', 'permission-denied', 3]],
    );
    assert.match(entries[0]?.reason ?? '', /permission groups/);
  });
});
