/**
 * Who speaks which version, with the real C tools: the C agents and ours against the C fence_virtd and
 * ours, over multicast (with its connect-back) and TCP. Version 2 is spoken only between our agent and
 * our daemon; our agent's version 2 offer (signed flag and timestamp) gets the C daemon's ordinary
 * version 1 answer; our daemon's audit line names the version. Then the policies: with "2" on either
 * side a version 1 peer is refused and nothing is executed.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { cDaemonMissing, type CDaemon } from '../support/c-daemon.js';
import { configText } from '../support/daemon-config-text.js';
import type { ToolResult } from '../support/processes.js';
import { startCDaemons } from '../security/c-daemons.js';
import { OurDaemon } from '../security/our-daemon.js';
import { runOurs } from '../agent/agents.js';
import { runAgent, show, type Side, type Transport } from './agent-run.js';
import { TamperProxy } from './tamper-proxy.js';
import { AuthKey, verifyRequest } from '../../src/auth/index.js';
import { FENCE_REQUEST_SIZE, Hash, readProtocolOffer } from '../../src/protocol/index.js';

const NODE = fileURLToPath(new URL('../fixtures/protocol-v2/node.xml', import.meta.url));
const BACKEND = `test+unix://${NODE}`;
const KEY = Buffer.from('protocol v2 interop key\n');
const PORT = {
  oursTcp: 32001,
  oursMcast: 32002,
  strictTcp: 32003,
  strictMcast: 32004,
  v1Tcp: 32005,
  recorder: 32006,
  cTcp: 32011,
  cMcast: 32012,
};

let ours: OurDaemon;
let keyFile: string;
const cDaemons: CDaemon[] = [];

before(async () => {
  ours = await OurDaemon.start({
    key: KEY,
    // Status and list audit lines are at level info.
    args: ['-d', '2'],
    config: ({ keyFile: k }) =>
      configText({
        listeners: {
          tcp: { address: '127.0.0.1', port: String(PORT.oursTcp), key_file: k },
          multicast: { interface: 'lo', port: String(PORT.oursMcast), key_file: k },
          strict: { module: 'tcp', address: '127.0.0.1', port: String(PORT.strictTcp), key_file: k, protocol: '2' },
          strictcast: { module: 'multicast', interface: 'lo', port: String(PORT.strictMcast), key_file: k, protocol: '2' },
          classic: { module: 'tcp', address: '127.0.0.1', port: String(PORT.v1Tcp), key_file: k, protocol: '1' },
        },
        backendUri: BACKEND,
      }),
    ready: [
      { protocol: 'tcp', port: PORT.oursTcp },
      { protocol: 'udp', port: PORT.oursMcast },
      { protocol: 'tcp', port: PORT.strictTcp },
      { protocol: 'udp', port: PORT.strictMcast },
      { protocol: 'tcp', port: PORT.v1Tcp },
    ],
  });
  keyFile = ours.files.keyFile;
  if (!cDaemonMissing()) {
    cDaemons.push(
      ...(await startCDaemons(KEY, BACKEND, [
        ['tcp', { address: '127.0.0.1', port: String(PORT.cTcp) }, PORT.cTcp],
        ['multicast', { interface: 'lo', port: String(PORT.cMcast) }, PORT.cMcast],
      ])),
    );
  }
});
after(async () => {
  await Promise.all(cDaemons.map((d) => d.stop()));
  await ours?.stop();
});

function agent(
  side: Side,
  transport: Transport,
  port: number,
  op: string,
  domain: string | undefined,
  extra: string[] = [],
): Promise<ToolResult> {
  return runAgent({ side, transport, port, keyFile, op, domain, extra });
}

describe('interop matrix: status of a running VM', { skip: cDaemonMissing() }, () => {
  for (const transport of ['tcp', 'multicast'] as const) {
    for (const agentSide of ['C', 'ours'] as const) {
      for (const daemonSide of ['C', 'ours'] as const) {
        const version = agentSide === 'ours' && daemonSide === 'ours' ? 2 : 1;
        it(`${agentSide} agent × ${daemonSide} daemon over ${transport}: version ${version}`, async () => {
          const port =
            daemonSide === 'C' ? (transport === 'tcp' ? PORT.cTcp : PORT.cMcast) : transport === 'tcp' ? PORT.oursTcp : PORT.oursMcast;
          const since = ours.lineCount;
          const r = await agent(agentSide, transport, port, 'status', 'vm1');
          assert.equal(r.code, 0, show(r));
          assert.equal(r.stdout, 'Status: ON\n', show(r));
          if (daemonSide === 'ours') {
            await ours.waitForLog(
              new RegExp(`audit: listener=${transport} .*target="vm1" op=status .*result=on .*protocol=${version}$`),
              since,
            );
          }
        });
      }
    }
  }

  it("the C daemon answers our agent's request as it is sent: flag bit 7 and a timestamp, signed", async () => {
    const proxy = await TamperProxy.start(PORT.recorder, PORT.cTcp);
    try {
      const r = await agent('ours', 'tcp', PORT.recorder, 'status', 'vm1');
      assert.equal(r.stdout, 'Status: ON\n', show(r));
    } finally {
      await proxy.close();
    }
    const sent = (proxy.fromAgent[0] as Buffer).subarray(0, FENCE_REQUEST_SIZE);
    assert.equal(sent[3], 0x80, 'flags');
    const offer = readProtocolOffer(sent);
    assert.ok(offer.version === 2 && Math.abs(Date.now() - offer.timestampMs) < 60_000, JSON.stringify(offer));
    assert.deepEqual(verifyRequest(sent, new AuthKey(KEY), Hash.SHA256), { ok: true, hashType: Hash.SHA256 });
  });

  it('a host list over version 2 prints what the C agent prints over version 1', async () => {
    const since = ours.lineCount;
    const c = await agent('C', 'tcp', PORT.oursTcp, 'list', undefined);
    const mine = await agent('ours', 'tcp', PORT.oursTcp, 'list', undefined);
    assert.equal(mine.code, 0, show(mine));
    assert.equal(c.code, 0, show(c));
    assert.equal(mine.stdout, c.stdout);
    assert.match(mine.stdout, /^vm1 +e6000000-0000-4000-8000-000000000001 on$/m);
    await ours.waitForLog(/audit: listener=tcp .*op=list .*protocol=2$/, since);
  });
});

describe('policy "2": a version 1 peer is refused and nothing runs', { skip: cDaemonMissing() }, () => {
  it('our agent with --protocol=2 refuses the C daemon (TCP and multicast); the VM keeps running', async () => {
    for (const [transport, port, victim] of [
      ['tcp', PORT.cTcp, 'dg-c-tcp'],
      ['multicast', PORT.cMcast, 'dg-c-mcast'],
    ] as const) {
      const r = await agent('ours', transport, port, 'off', victim, ['--protocol=2']);
      assert.notEqual(r.code, 0, show(r));
      assert.match(r.stderr, /downgrade refused: the daemon answered in protocol version 1/, show(r));
      const status = await agent('C', transport, port, 'status', victim);
      assert.equal(status.stdout, 'Status: ON\n', `${victim} was not fenced: ${show(status)}`);
    }
  });

  it('stdin protocol=2 means the same as --protocol=2', async () => {
    const input = `ipaddr=127.0.0.1\nipport=${PORT.cTcp}\nkey_file=${keyFile}\ntimeout=5\naction=status\nport=vm1\nprotocol=2\n`;
    const r = await runOurs('fence_virt', [], { input });
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /downgrade refused/);
  });

  it('our daemon with protocol = "2" drops C agents (TCP and multicast) and our agent with --protocol=1', async () => {
    for (const [side, transport, port, victim, extra] of [
      ['C', 'tcp', PORT.strictTcp, 'dg-ours-tcp', []],
      ['C', 'multicast', PORT.strictMcast, 'dg-ours-mcast', []],
      ['ours', 'tcp', PORT.strictTcp, 'dg-ours-agent', ['--protocol=1']],
    ] as const) {
      const since = ours.lineCount;
      const r = await agent(side, transport, port, 'off', victim, [...extra]);
      assert.notEqual(r.code, 0, show(r));
      await ours.waitForLog(/it speaks protocol version 1 and this listener requires version 2/, since);
      const status = await agent('ours', transport, port, 'status', victim);
      assert.equal(status.stdout, 'Status: ON\n', `${victim} was not fenced: ${show(status)}`);
      await ours.waitForLog(new RegExp(`target="${victim}" op=status .*protocol=2$`), since);
    }
  });

  it('our agent with --protocol=2 refuses our daemon when its listener says protocol = "1"', async () => {
    const r = await agent('ours', 'tcp', PORT.v1Tcp, 'status', 'vm1', ['--protocol=2']);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /downgrade refused/);
    const plain = await agent('ours', 'tcp', PORT.v1Tcp, 'status', 'vm1');
    assert.equal(plain.stdout, 'Status: ON\n', show(plain));
  });
});
