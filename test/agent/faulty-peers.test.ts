/**
 * Faults the real fence_virtd cannot be made to produce on demand, played by scripted peers on real
 * sockets and ptys: odd answer bytes, a host list that trickles in or stops halfway, noise before a
 * serial answer, a connect-back port already taken, no daemon with timeout*10 < retrans. Where the C
 * agent copes, both agents must agree; where it hangs or misreads (a magic right after a stray 'a',
 * 0 attempts when timeout*10 < retrans, endless host lists: docs/compatibility.md, section 'Agents'),
 * ours must end with the C agent's words and exit code for that situation.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { encodeHostRecord, FENCE_REQUEST_SIZE, HOST_RECORD_SIZE } from '../../src/protocol/index.js';
import { needsTools } from '../support/requirement.js';
import { assertAgentsAgree, C_AGENT, runOurs } from './agents.js';

const PEER_PORT = 27500;
const NO_DAEMON_PORT = 27510;
const BUSY_PORT = 27511;
const skip = needsTools(...Object.values(C_AGENT));

/** A TCP "daemon" with auth none: reads the 176-byte request, then plays `script`. */
class ScriptedPeer {
  private script: (socket: Socket) => void = (s) => s.destroy();
  private readonly server: Server = createServer((socket) => {
    socket.on('error', () => undefined);
    let got = 0;
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got === FENCE_REQUEST_SIZE) this.script(socket);
    });
  });

  async listen(port: number): Promise<void> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
  }

  play(script: (socket: Socket) => void): void {
    this.script = script;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const record = (name: string, uuid: string, state: number): Buffer => encodeHostRecord({ name, uuid, state });
const tcpArgs = (timeout: string, ...args: string[]) => [
  '-T',
  '127.0.0.1',
  '-p',
  String(PEER_PORT),
  '-C',
  'none',
  '-c',
  'none',
  '-t',
  timeout,
  ...args,
];

describe('scripted TCP peers', { skip }, () => {
  const peer = new ScriptedPeer();
  before(() => peer.listen(PEER_PORT));
  after(() => peer.close());

  it('answer bytes: on, off, failure, permission, unknown (signed), end of stream, silence', async () => {
    const cases: Array<[string, (s: Socket) => void]> = [
      ['status', (s) => s.end(Buffer.of(0))],
      ['status', (s) => s.end(Buffer.of(2))],
      ['off', (s) => s.end(Buffer.of(2))],
      ['off', (s) => s.end(Buffer.of(1))],
      ['reboot', (s) => s.end(Buffer.of(3))],
      ['status', (s) => s.end(Buffer.of(5))],
      ['status', (s) => s.end(Buffer.of(0xff))],
      ['status', (s) => s.end(Buffer.of(0x80))],
      ['status', (s) => s.end()],
      ['status', () => undefined],
    ];
    for (const [action, script] of cases) {
      peer.play(script);
      await assertAgentsAgree('fence_virt', tcpArgs('1', '-o', action, '-H', 'vm'));
    }
  });

  it("a host list with the C daemon's garbage in the last byte of each name and the pad byte", async () => {
    peer.play((s) => {
      const r = record('vm-a', 'c0000000-0000-4000-8000-000000000001', 1);
      r[63] = 0x33;
      r[129] = 0x77;
      s.end(
        Buffer.concat([
          Buffer.of(0xfd),
          r,
          record('vm-b', 'c0000000-0000-4000-8000-000000000002', 3),
          Buffer.alloc(HOST_RECORD_SIZE),
          Buffer.of(0),
        ]),
      );
    });
    await assertAgentsAgree('fence_virt', tcpArgs('2', '-o', 'list'));
  });

  it('a long host list arriving at once (2000 guests)', async () => {
    const records = Array.from({ length: 2000 }, (_, i) =>
      record(`vm-${String(i).padStart(4, '0')}`, `c0000000-0000-4000-8000-${String(i).padStart(12, '0')}`, i % 3),
    );
    peer.play((s) => s.end(Buffer.concat([Buffer.of(0xfd), ...records, Buffer.alloc(HOST_RECORD_SIZE), Buffer.of(0)])));
    const { ours } = await assertAgentsAgree('fence_virt', tcpArgs('5', '-o', 'list'));
    assert.equal(ours.stdout.split('\n').length, 2001);
  });

  it('a host list trickling in: ours stops at the timeout (the C agent waits `timeout` per record, forever)', async () => {
    let timer: NodeJS.Timeout | undefined;
    peer.play((s) => {
      s.write(Buffer.of(0xfd));
      let n = 0;
      const next = (): void => {
        if (s.destroyed) return;
        s.write(record(`vm-${n}`, `c0000000-0000-4000-8000-00000000000${n % 10}`, 1));
        n++;
        timer = setTimeout(next, 400);
      };
      next();
    });
    try {
      const ours = await runOurs('fence_virt', tcpArgs('2', '-o', 'list'), { timeoutMs: 20_000 });
      assert.equal(ours.code, 0);
      const lines = ours.stdout.split('\n').filter(Boolean);
      assert.equal(lines.at(-1), 'Timed out!');
      assert.ok(lines.length >= 2 && lines.length <= 8, `records until the deadline: ${ours.stdout}`);
      assert.match(ours.stderr, /host list incomplete/);
    } finally {
      clearTimeout(timer);
    }
  });

  it('a host list that stops halfway: ours reports it (the C agent loops on the closed socket)', async () => {
    peer.play((s) => s.end(Buffer.concat([Buffer.of(0xfd), record('vm-a', 'c0000000-0000-4000-8000-000000000001', 1), Buffer.alloc(60)])));
    const ours = await runOurs('fence_virt', tcpArgs('5', '-o', 'list'), { timeoutMs: 20_000 });
    assert.deepEqual(
      { code: ours.code, stdout: ours.stdout },
      { code: 0, stdout: 'vm-a                             c0000000-0000-4000-8000-000000000001 on\nBad read!\n' },
    );
  });
});

describe('multicast without an answer', { skip }, () => {
  it("timeout*10 < retrans: one attempt, then the C agent's timeout outcome (the C agent never stops)", async () => {
    const ours = await runOurs(
      'fence_xvm',
      ['-p', String(NO_DAEMON_PORT), '-c', 'none', '-C', 'none', '-t', '1', '-r', '20', '-o', 'status', '-H', 'vm'],
      { timeoutMs: 20_000 },
    );
    assert.deepEqual({ code: ours.code, stdout: ours.stdout }, { code: 1, stdout: 'Timed out waiting for response\nOperation failed\n' });
    assert.match(ours.stderr, /no fence_virtd connected back to TCP port 27510 within 1 s/);
  });

  it('the connect-back port is taken (another fence_xvm waiting): both agents give up alike', async () => {
    const holder = createServer();
    holder.listen(BUSY_PORT, '0.0.0.0');
    await once(holder, 'listening');
    try {
      const { ours } = await assertAgentsAgree('fence_xvm', [
        '-p',
        String(BUSY_PORT),
        '-c',
        'none',
        '-C',
        'none',
        '-t',
        '1',
        '-r',
        '5',
        '-o',
        'status',
        '-H',
        'vm',
      ]);
      assert.match(ours.stderr, /cannot listen on TCP port 27511 for the daemon's connect-back/);
    } finally {
      holder.close();
    }
  });
});

describe('serial noise', { skip: skip ?? needsTools('/usr/bin/socat') }, () => {
  let dir: string;
  let socat: ChildProcess;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-noise-'));
    const answer = join(dir, 'answer.sh');
    // Noise ending in 'a' right before the magic: the C agent's matcher restarts on the mismatching byte
    // without re-examining it and misses this magic (docs/compatibility.md, row 'serial answer scan').
    await writeFile(answer, "head -c 74 >/dev/null; printf 'xyaabba\\000'; sleep 30\n");
    socat = spawn('socat', [`PTY,link=${join(dir, 'pty')},raw,echo=0`, `SYSTEM:sh ${answer}`], { stdio: 'ignore' });
    for (let i = 0; !existsSync(join(dir, 'pty')); i++) {
      assert.ok(i < 200, 'socat made no pty');
      await sleep(25);
    }
  });
  after(async () => {
    if (socat.exitCode === null && socat.signalCode === null) {
      const exited = once(socat, 'exit');
      socat.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a magic right after a stray "a"', async () => {
    const ours = await runOurs('fence_virt', ['-D', join(dir, 'pty'), '-t', '3', '-o', 'status', '-H', 'vm'], { timeoutMs: 20_000 });
    assert.deepEqual({ code: ours.code, stdout: ours.stdout }, { code: 0, stdout: 'Status: ON\n' }, ours.stderr);
  });
});
