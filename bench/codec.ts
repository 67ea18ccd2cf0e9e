/**
 * Throughput of the request codec and signature core on one core: encode+sign and decode+verify per
 * hash type, with a 16-byte and a 4096-byte key. Target: >= 200,000 sha256 sign+verify per second.
 * Run: node --import tsx bench/codec.ts  (writes bench/results/codec.md)
 */
import { randomBytes } from 'node:crypto';
import { AuthKey, signRequest, verifyRequest } from '../src/auth/index.js';
import { decodeFenceRequest, encodeFenceRequest, Family, Hash, hashNames, Request, type HashType } from '../src/protocol/index.js';
import { publishReport } from './report.js';

const DURATION_MS = 1000;

function rate(fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(DURATION_MS) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 500; i++) fn();
    n += 500;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

const rows: string[] = [];
for (const keyLen of [16, 4096]) {
  const key = new AuthKey(randomBytes(keyLen));
  for (const hashType of [Hash.NONE, Hash.SHA1, Hash.SHA256, Hash.SHA512] as HashType[]) {
    const req = {
      request: Request.REBOOT,
      hashType,
      flags: 0,
      domain: 'guest-node-1',
      address: '192.168.122.11',
      family: Family.INET,
      port: 1229,
      random: new Uint8Array(6),
      seqno: 123456,
    };
    const out = Buffer.alloc(176);
    const signed = encodeFenceRequest(req);
    signRequest(signed, key);
    const encodeSign = rate(() => {
      encodeFenceRequest(req, out);
      signRequest(out, key);
    });
    const decodeVerify = rate(() => {
      if (!verifyRequest(signed, key, hashType).ok) throw new Error('verify failed');
      decodeFenceRequest(signed);
    });
    const pair = 1 / (1 / encodeSign + 1 / decodeVerify);
    rows.push(
      `| ${hashNames[hashType]} | ${keyLen} | ${Math.round(encodeSign).toLocaleString('en')} | ${Math.round(decodeVerify).toLocaleString('en')} | ${Math.round(pair).toLocaleString('en')} |`,
    );
  }
}

publishReport('codec', [
  '# Codec and signature throughput (one core)',
  '',
  `Node ${process.version}, ${new Date().toISOString()}. Operations per second, ${DURATION_MS} ms per cell.`,
  '',
  '| hash | key bytes | encode+sign/s | verify+decode/s | sign+verify pairs/s |',
  '|---|---|---|---|---|',
  ...rows,
  '',
  'Target: >= 200,000 sha256 sign+verify operations per second.',
  '',
]);
