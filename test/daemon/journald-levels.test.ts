/**
 * Our fence_virtd writing to the journal: when $JOURNAL_STREAM names its standard error (device and
 * inode, as systemd sets it), every line starts with its syslog priority so `journalctl -p` filters by
 * level; anywhere else the lines are unchanged. A healthy daemon writes nothing at warning or above,
 * so `journalctl -p warning` shows the problems and only them. The test's stand-in for the journal
 * stream is a file whose device and inode it knows.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
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
/** One TCP listener that starts, known keys only: nothing an administrator must look at. */
let healthyConf: string;
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
  healthyConf = join(dir, 'healthy.conf');
  await writeFile(
    healthyConf,
    configText({
      listeners: { tcp: tcp(PORT) },
      backendUri: `test+unix://${NODE}`,
      extraDaemonKeys: { history_file: join(dir, 'history.jsonl') },
    }),
    { mode: 0o600 },
  );
});
after(() => rm(dir, { recursive: true, force: true }));

/** The C fence_virt asks the daemon's first TCP listener; true when it exits 0. */
async function fenceVirt(...args: string[]): Promise<boolean> {
  const agent = ['-T', '127.0.0.1', '-p', String(PORT), '-k', keyFile, '-t', '3', ...args];
  return (await runTool('/usr/sbin/fence_virt', agent)).code === 0;
}

/**
 * Runs the daemon with `args` and its standard error in a file, `scenario` meanwhile, then stops it and
 * returns what it wrote. `journalStream` computes $JOURNAL_STREAM from the file's "device:inode".
 */
async function daemonLog(
  name: string,
  journalStream: ((devIno: string) => string) | undefined,
  args: string[],
  scenario: (log: () => Promise<string>, daemon: ChildProcess) => Promise<void>,
): Promise<string> {
  const file = join(dir, `${name}.log`);
  const log = () => readFile(file, 'utf8');
  const fd = openSync(file, 'w');
  const { dev, ino } = fstatSync(fd, { bigint: true });
  const env = { ...process.env };
  delete env.JOURNAL_STREAM;
  if (journalStream) env.JOURNAL_STREAM = journalStream(`${dev}:${ino}`);
  const child = spawn(OUR_DAEMON.command, [...OUR_DAEMON.args, '-F', ...args, '-p', join(dir, `${name}.pid`)], {
    stdio: ['ignore', 'ignore', fd],
    env,
  });
  closeSync(fd);
  const exited = once(child, 'exit');
  try {
    await scenario(log, child);
  } finally {
    await killChild(child, 'SIGTERM');
    await exited.catch(() => undefined);
  }
  return log();
}

/**
 * At debug level 2, long enough to log at every level: a listener whose port is taken is an error it
 * retries with -w, an unknown key a warning, a status request an info line.
 */
async function everyLevel(name: string, journalStream: ((devIno: string) => string) | undefined): Promise<string> {
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(TAKEN_PORT, '127.0.0.1', r));
  try {
    return await daemonLog(name, journalStream, ['-w', '-d', '2', '-f', conf], async (log) => {
      await waitUntil(async () => /failed to start/.test(await log()), `${name}: the taken port reported`, 30_000);
      await waitUntil(() => fenceVirt('-o', 'status', '-H', 'vm-a'), `${name}: status answered`);
      await waitUntil(async () => /audit: /.test(await log()), `${name}: the audit line written`);
    });
  } finally {
    await new Promise((r) => squatter.close(r));
  }
}

const LEVELS = { error: 3, warn: 4, notice: 5, info: 6, debug: 7 } as const;

describe('fence_virtd log lines and the journal', { skip: needsTools('/usr/sbin/fence_virt') }, () => {
  it('prefixes every line with its syslog priority when standard error is the journal stream', async () => {
    const lines = (await everyLevel('journal', (devIno) => devIno)).split('\n').filter(Boolean);
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

  it('a healthy day (start, status, fence, unfence, list, reload, stop) logs nothing at warning or above', async () => {
    const text = await daemonLog(
      'healthy',
      (devIno) => devIno,
      ['-f', healthyConf],
      async (log, daemon) => {
        await waitUntil(async () => /serving with backend/.test(await log()), 'healthy: serving');
        for (const action of [['status', '-H', 'vm-a'], ['off', '-H', 'vm-a'], ['on', '-H', 'vm-a'], ['list']]) {
          assert.ok(await fenceVirt('-o', ...action), `fence_virt -o ${action.join(' ')}`);
        }
        daemon.kill('SIGHUP');
        await waitUntil(async () => /reloaded keys/.test(await log()), 'healthy: reloaded');
      },
    );
    const lines = text.split('\n').filter(Boolean);
    const problems = lines.filter((l) => !/^<[567]>/.test(l));
    assert.deepEqual(problems, [], 'journalctl -p warning would show these');
    assert.ok(
      lines.some((l) => /^<5>notice: audit: .*op=off .*result=success/.test(l)),
      text,
    );
    assert.ok(
      lines.some((l) => /^<5>notice: audit: .*op=on .*result=success/.test(l)),
      text,
    );
    assert.ok(
      lines.some((l) => /^<5>notice: SIGTERM received/.test(l)),
      text,
    );
  });

  it('leaves lines unchanged without JOURNAL_STREAM, or when it names another stream', async () => {
    for (const [name, journalStream] of [
      ['plain', undefined],
      // Inherited from a parent whose standard error was the journal, but ours is elsewhere.
      ['inherited', (devIno: string) => devIno.replace(/\d+$/, (ino) => String(BigInt(ino) + 1n))],
    ] as const) {
      const text = await everyLevel(name, journalStream);
      assert.match(text, /^warn: .*no_such_key/m, name);
      assert.match(text, /^info: audit: /m, name);
      assert.doesNotMatch(text, /^</m, `${name}: no priority prefixes`);
    }
  });
});
