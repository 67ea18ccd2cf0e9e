/**
 * The 176-byte request the real C `fence_virt -T` sends, and ours, captured by a TCP server that reads
 * the request and hangs up: in TCP mode neither agent fills in the multicast connect-back fields
 * (family, address and its length, port stay zero), for every hash and action. The flags byte is zero
 * too: fence_virt has no way to ask for a UUID lookup (no -u; it ignores use_uuid on stdin).
 * The daemon can therefore refuse those fields on TCP and vsock, where they mean nothing.
 *
 * The vsock mode (-S CID) is not captured: a connect on AF_VSOCK is never made on these machines (it
 * would reach the real hypervisor host). Both agents build that request exactly as in TCP mode (the C
 * agent's vsock client zeroes the request and sets the same fields; ours uses the same builder with no
 * connect-back), so the TCP capture stands for it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthKey, DIGEST_FIELD_SIZE, verifyRequest } from '../../src/auth/index.js';
import {
  ADDRESS_SIZE,
  decodeFenceRequest,
  Family,
  FENCE_REQUEST_SIZE,
  FenceRequestLayout as L,
  Hash,
  RANDOM_SIZE,
  Request,
  type HashType,
} from '../../src/protocol/index.js';
import { StreamIO } from '../../src/util/stream-io.js';
import { runC, runOurs } from '../agent/agents.js';
import type { ToolResult } from '../support/processes.js';

const KEY = Buffer.from('request fields: the key both agents sign with\n');
const DOMAIN = 'vm-fields';

const HASHES: readonly [string, HashType][] = [
  ['none', Hash.NONE],
  ['sha1', Hash.SHA1],
  ['sha256', Hash.SHA256],
  ['sha512', Hash.SHA512],
];
const ACTIONS: readonly [string, number, string][] = [
  ['status', Request.STATUS, DOMAIN],
  ['off', Request.OFF, DOMAIN],
  ['list', Request.HOSTLIST, ''],
];
const AGENTS = {
  C: (args: readonly string[]) => runC('fence_virt', args),
  ours: (args: readonly string[]) => runOurs('fence_virt', args),
};

/** Accepts one connection at a time, keeps the first 176 bytes it receives and closes it. */
class RequestCatcher {
  private readonly server: Server;
  private captured: ((request: Buffer) => void) | undefined;

  constructor() {
    this.server = createServer((socket) => {
      socket.on('error', () => undefined);
      void new StreamIO(socket)
        .read(FENCE_REQUEST_SIZE, 30_000, 'the request')
        .then((request) => this.captured?.(request))
        .finally(() => socket.destroy());
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen({ host: '127.0.0.1', port: 0 }, resolve));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Runs `agent` and returns the request it sent (the agent then fails: the connection is gone). */
  async capture(run: () => Promise<ToolResult>): Promise<Buffer> {
    const request = new Promise<Buffer>((resolve) => (this.captured = resolve));
    const result = await run();
    this.captured = undefined;
    return Promise.race([request, Promise.reject(new Error(`no request captured\nstdout: ${result.stdout}\nstderr: ${result.stderr}`))]);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

/** Every field as the agent set it; the connect-back ones must be zero in TCP mode. */
function assertTcpRequest(raw: Buffer, expected: { request: number; hashType: HashType; domain: string }, label: string): void {
  assert.equal(raw.length, FENCE_REQUEST_SIZE, label);
  const decoded = decodeFenceRequest(raw);
  assert.deepEqual({ request: decoded.request, hashType: decoded.hashType, domain: decoded.domain }, expected, label);
  assert.equal(decoded.family, Family.NONE, `${label}: family`);
  assert.equal(decoded.address, null, `${label}: address`);
  assert.equal(decoded.port, 0, `${label}: port`);
  assert.equal(raw[L.addrLen], 0, `${label}: addrlen byte`);
  assert.equal(raw[L.flags], 0, `${label}: flags byte`);
  assert.ok(isZero(raw.subarray(L.address, L.address + ADDRESS_SIZE)), `${label}: address bytes`);
  assert.ok(isZero(raw.subarray(L.port, L.port + 2)), `${label}: port bytes`);
  assert.ok(isZero(raw.subarray(L.family, L.family + 4)), `${label}: family bytes`);
  if (expected.hashType === Hash.NONE) {
    assert.ok(isZero(raw.subarray(L.random, L.random + RANDOM_SIZE)), `${label}: an unsigned request has no random bytes`);
    assert.ok(isZero(raw.subarray(L.hash, L.hash + DIGEST_FIELD_SIZE)), `${label}: nor a hash`);
  } else {
    // The signature covers the zero connect-back fields too.
    assert.deepEqual(verifyRequest(raw, new AuthKey(KEY), expected.hashType), { ok: true, hashType: expected.hashType }, label);
  }
}

describe('the request fence_virt sends in TCP mode: no connect-back fields (C agent and ours)', () => {
  let dir: string;
  let keyFile: string;
  const catcher = new RequestCatcher();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'request-fields-'));
    keyFile = join(dir, 'key');
    await writeFile(keyFile, KEY, { mode: 0o600 });
    await catcher.listen();
  });
  after(async () => {
    await catcher.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [agentName, run] of Object.entries(AGENTS)) {
    it(`${agentName}: every hash, status/off/list`, async () => {
      for (const [hashName, hashType] of HASHES) {
        for (const [action, request, domain] of ACTIONS) {
          const args = [
            '-T',
            '127.0.0.1',
            '-p',
            String(catcher.port),
            '-k',
            keyFile,
            '-c',
            hashName,
            '-C',
            'none',
            '-o',
            action,
            '-t',
            '3',
          ];
          if (domain) args.push('-H', domain);
          const raw = await catcher.capture(() => run(args));
          assertTcpRequest(raw, { request, hashType, domain }, `${agentName} ${args.join(' ')}`);
        }
      }
    });
  }
});
