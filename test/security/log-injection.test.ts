/**
 * Log injection. Peers choose text that reaches the daemon's log: the domain field of TCP and serial
 * requests, and a domain's own name (libvirt accepts "\n", "\r", DEL and C1 controls in names). A raw
 * newline there starts a line the attacker wrote ("notice: FORGED ..." looks like the daemon's own);
 * a carriage return or terminal escape hides what precedes it. Every such byte must appear escaped
 * (\x0a), and no output line may start with attacker text.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Hash, Request } from '../../src/protocol/index.js';
import { configText } from '../support/daemon-config-text.js';
import { GuestLine, GuestPortSocket } from '../support/qemu-stand-ins.js';
import { signedRequest, tcpExchange } from '../support/raw-client.js';
import { nodeXml } from '../serial/node-xml.js';
import { OurDaemon } from './our-daemon.js';

const TCP = 31501;
const key = new AuthKey(Buffer.from('security: log injection\n'));
const EVIL_UUID = '5ec10000-0000-4000-8000-0000000000e1';
/**
 * The hostile domain's name as XML character references (nodeXml writes names as given): a newline
 * and a forged line, a carriage return, DEL, the C1 controls NEL and CSI, a tab.
 */
const EVIL_NAME_XML = 'evil&#10;notice: FORGED-NAME&#13;&#x7f;&#x85;&#x9b;2K&#9;x';
/** Request domains (at most 63 bytes): a forged line, then a carriage return, an erase-line escape, DEL, NEL, a line separator. */
const TCP_DOMAIN = 'a\nnotice: FORGED-TCP\r\x1b[2K\x7f\u0085\u2028';
const SERIAL_DOMAIN = 'b\nnotice: FORGED-SERIAL\r\x1b]0;t\x07';
/** Unframed bytes from the guest: never a request, only ever counted. */
const SERIAL_GARBAGE = Buffer.from('\nnotice: FORGED-GARBAGE\r\n\x1b[2J');
const MARKERS = ['FORGED-TCP', 'FORGED-SERIAL', 'FORGED-NAME'];

let dir: string;
let daemon: OurDaemon;
let guestSocket: GuestPortSocket;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fvd-loginject-'));
  const sockets = join(dir, 'sock');
  await mkdir(sockets);
  const node = join(dir, 'node.xml');
  await writeFile(node, nodeXml([{ name: EVIL_NAME_XML, uuid: EVIL_UUID, serial: [join(sockets, 'evil')] }]));
  guestSocket = await GuestPortSocket.listen(join(sockets, 'evil'));
  const uri = `test+unix://${node}`;
  daemon = await OurDaemon.start({
    key: key.bytes,
    config: ({ keyFile }) =>
      configText({
        listeners: {
          tcp: { address: '127.0.0.1', port: String(TCP), key_file: keyFile },
          serial: { uri, path: sockets, mode: 'serial' },
        },
        backendUri: uri,
      }),
    ready: [{ protocol: 'tcp', port: TCP }],
    // Every level: each line the daemon can write about a peer's text is exposed.
    args: ['-d', '3'],
  });
});
after(async () => {
  await daemon?.stop();
  await guestSocket?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('peer-controlled text in the log', () => {
  it('shows control bytes escaped and never lets a peer start a line', async () => {
    // TCP: a request for a domain that does not exist, named to forge a line.
    await tcpExchange(TCP, signedRequest({ request: Request.OFF, domain: TCP_DOMAIN }, key), key, Hash.SHA256);
    // Serial: the hostile guest sends garbage and a request with a hostile domain field.
    const line = new GuestLine(await guestSocket.connection(1));
    line.send(SERIAL_GARBAGE);
    line.send(guestSocket.request({ request: Request.OFF, domain: SERIAL_DOMAIN }));
    await line.answer(5_000);
    // The hostile name itself, in the lines about fencing that domain.
    assert.deepEqual(await tcpExchange(TCP, signedRequest({ request: Request.OFF, domain: EVIL_UUID }, key), key, Hash.SHA256), {
      kind: 'code',
      code: 0,
    });
    for (const marker of MARKERS) await daemon.waitForLog(new RegExp(marker));

    const output = daemon.output();
    const forged = daemon.lines().filter((l) => /^\s*(notice: )?FORGED/.test(l));
    assert.deepEqual(forged, [], 'lines starting with attacker text');
    // Control characters (C0, DEL, C1) and the Unicode line breaks.
    const raw = daemon.lines().filter((l) => /[\p{Cc}\u2028\u2029]/u.test(l));
    assert.deepEqual(raw, [], 'lines with raw control characters');
    for (const marker of MARKERS) {
      assert.match(output, new RegExp(`\\\\x0anotice: ${marker}`), `the newline before ${marker} shown as \\x0a`);
    }
    assert.match(output, /FORGED-TCP\\x0d\\x1b\[2K\\x7f/, 'carriage return, escape and DEL shown as \\xNN');
  });
});
