/**
 * Our fence_virtd writing to the journal: when $JOURNAL_STREAM names its standard error (device and
 * inode, as systemd sets it), every line starts with its syslog priority so `journalctl -p` filters by
 * level; anywhere else the lines are unchanged. The test's stand-in for the journal stream is a file
 * whose device and inode it knows.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { configText } from '../support/daemon-config-text.js';
import { OUR_DAEMON, killChild, runTool, waitUntil } from '../support/processes.js';
import { needsTools } from '../support/requirement.js';

const NODE = fileURLToPath(new URL('../fixtures/daemon/node.xml', import.meta.url));
const PORT = 24720;
const TAKEN_PORT = 24721;

let dir: string;
let conf: string;
let keyFile: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-journal-'));
  keyFile = join(dir, 'key');
  await writeFile(keyFile, 'journal test key', { mode: 0o600 });
  conf = join(dir, 'fence_virt.conf');
  const tcp = (port: number) => ({ module: 'tcp', address: '127.0.0.1', port: String(port), key_file: keyFile });
  await writeFile(
    conf,
    configText({
      listeners: { tcp: tcp(PORT), late: tcp(TAKEN_PORT) },
      backendUri: `test+unix://${NODE}`,
      // An unknown key: a warning at start.
      extraDaemonKeys: { history_entries: '0', no_such_key: '1' },
    }),
    { mode: 0o600 },
  );
});
after(() => rm(dir, { recursive: true, force: true }));

/**
 * Runs the daemon at debug level 2 with its standard error in a file, long enough to log at every level
 * (a listener whose port is taken is an error it retries with -w, a status request an info line), and
 * returns what it wrote. `journalStream` computes $JOURNAL_STREAM from the file's "device:inode".
 */
async function daemonLog(name: string, journalStream: ((devIno: string) => string) | undefined): Promise<string> {
  const file = join(dir, `${name}.log`);
  const fd = openSync(file, 'w');
  const { dev, ino } = fstatSync(fd, { bigint: true });
  const env = { ...process.env };
  delete env.JOURNAL_STREAM;
  if (journalStream) env.JOURNAL_STREAM = journalStream(`${dev}:${ino}`);
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(TAKEN_PORT, '127.0.0.1', r));
  const child = spawn(OUR_DAEMON.command, [...OUR_DAEMON.args, '-F', '-w', '-d', '2', '-f', conf, '-p', join(dir, `${name}.pid`)], {
    stdio: ['ignore', 'ignore', fd],
    env,
  });
  closeSync(fd);
  try {
    await waitUntil(async () => /failed to start/.test(await readFile(file, 'utf8')), `${name}: the taken port reported`, 30_000);
    await waitUntil(
      async () =>
        (
          await runTool('/usr/sbin/fence_virt', [
            '-T',
            '127.0.0.1',
            '-p',
            String(PORT),
            '-k',
            keyFile,
            '-t',
            '3',
            '-o',
            'status',
            '-H',
            'vm-a',
          ])
        ).code === 0,
      `${name}: status answered`,
    );
    await waitUntil(async () => /audit: /.test(await readFile(file, 'utf8')), `${name}: the audit line written`);
  } finally {
    const exited = once(child, 'exit');
    await killChild(child, 'SIGTERM');
    await exited.catch(() => undefined);
    await new Promise((r) => squatter.close(r));
  }
  return readFile(file, 'utf8');
}

const LEVELS = { error: 3, warn: 4, notice: 5, info: 6, debug: 7 } as const;

describe('fence_virtd log lines and the journal', { skip: needsTools('/usr/sbin/fence_virt') }, () => {
  it('prefixes every line with its syslog priority when standard error is the journal stream', async () => {
    const lines = (await daemonLog('journal', (devIno) => devIno)).split('\n').filter(Boolean);
    for (const line of lines) {
      const m = /^<(\d)>(\w+): /.exec(line);
      assert.ok(m, `line without a priority prefix: ${line}`);
      assert.equal(Number(m[1]), LEVELS[m[2] as keyof typeof LEVELS], line);
    }
    for (const [level, priority] of Object.entries(LEVELS)) {
      assert.ok(
        lines.some((l) => l.startsWith(`<${priority}>${level}: `)),
        `no ${level} line:\n${lines.join('\n')}`,
      );
    }
    assert.ok(lines.some((l) => /^<4>warn: .*no_such_key/.test(l)));
    assert.ok(lines.some((l) => /^<3>error: listener late failed to start/.test(l)));
    assert.ok(lines.some((l) => /^<6>info: audit: .*op=status/.test(l)));
  });

  it('leaves lines unchanged without JOURNAL_STREAM, or when it names another stream', async () => {
    for (const [name, journalStream] of [
      ['plain', undefined],
      // Inherited from a parent whose standard error was the journal, but ours is elsewhere.
      ['inherited', (devIno: string) => devIno.replace(/\d+$/, (ino) => String(BigInt(ino) + 1n))],
    ] as const) {
      const text = await daemonLog(name, journalStream);
      assert.match(text, /^warn: .*no_such_key/m, name);
      assert.match(text, /^info: audit: /m, name);
      assert.doesNotMatch(text, /^</m, `${name}: no priority prefixes`);
    }
  });
});
