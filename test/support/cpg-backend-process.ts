/**
 * A cpg backend for tests, started inside a cluster host (see CpgPeer with BACKEND_PEER): the backend
 * as the daemon would build it (a libvirt backend over one connection, the cpg backend around it),
 * driven by commands from the parent over Node's IPC channel. Log lines go to the parent as events, so
 * tests can check the reason given for each answer. The libvirt connection also serves commands that
 * change a domain behind the backend's back, as an administrator would. A vsock listener can be put in
 * front of the backend, its socket stood in for by loopback TCP (vsock connections cannot be made on
 * these machines: see test/vsock/loopback-acceptor.ts), with requests sent to it from this process.
 */
import { LibvirtBackend } from '../../src/backends/libvirt/backend.js';
import { CpgBackend, type CpgBackendOptions } from '../../src/backends/cpg/backend.js';
import { AuthKey } from '../../src/auth/keyed-hash.js';
import { Dispatcher } from '../../src/daemon/dispatcher.js';
import { StaticMap } from '../../src/daemon/static-map.js';
import { LibvirtClient, LibvirtConnectionPool } from '../../src/libvirt/index.js';
import { VsockListener } from '../../src/listeners/vsock/listener.js';
import { Hash } from '../../src/protocol/index.js';
import { createLogger } from '../../src/util/log.js';
import { loopbackVsockListener } from '../vsock/loopback-acceptor.js';
import type { PeerCommand } from './cpg-peer-process.js';
import { signedRequest, tcpExchange } from './raw-client.js';

const send = (message: object): void => {
  process.send?.(message);
};
const logger = createLogger(() => 3, { write: (line) => send({ event: 'log', line: line.trimEnd() }) });

let client: LibvirtClient | undefined;
let backend: CpgBackend | undefined;
let vsock: { listener: VsockListener; pool: LibvirtConnectionPool; portOf: Map<number, number> } | undefined;
const vsockKey = new AuthKey(Buffer.from('cpg vsock stand-in key\n'));

function need<T>(value: T | undefined, what: string): T {
  if (!value) throw new Error(`${what} is not started`);
  return value;
}

const origin = { source: 'test', seqno: 1 };

const operations: Record<string, (args: Record<string, unknown>) => Promise<unknown>> = {
  /** uri: the libvirt URI of this host; options: CpgBackendOptions. */
  start: async ({ uri, options }) => {
    client = await LibvirtClient.open({ uri: String(uri), logger });
    const opened = client;
    const local = await LibvirtBackend.open([opened.uri], logger, { connect: async () => opened, pollIntervalMs: 100 });
    backend = await CpgBackend.open(local, [opened], logger, options as CpgBackendOptions);
  },
  off: ({ domain }) => need(backend, 'backend').off(String(domain), origin),
  on: ({ domain }) => need(backend, 'backend').on(String(domain), origin),
  reboot: ({ domain }) => need(backend, 'backend').reboot(String(domain), origin),
  status: ({ domain }) => need(backend, 'backend').status(String(domain), origin),
  resolve: ({ domain }) => need(backend, 'backend').resolve(String(domain)),
  devstatus: () => need(backend, 'backend').devstatus(),
  hostList: () => need(backend, 'backend').hostList(origin),
  /** The domain's state as this host's libvirt sees it. */
  state: async ({ domain }) => {
    const c = need(client, 'libvirt');
    return (await c.getInfo(await c.lookupByName(String(domain)))).state;
  },
  /** Starts or destroys a domain directly, as an administrator would. */
  libvirt: async ({ action, domain }) => {
    const c = need(client, 'libvirt');
    const dom = await c.lookupByName(String(domain));
    if (action === 'create') await c.create(dom);
    else if (action === 'destroy') await c.destroy(dom);
    else throw new Error(`unknown action ${String(action)}`);
  },
  /** A vsock listener in front of the backend; guest CID `cid` connects on loopback TCP `port`. */
  vsockListen: async ({ cid, port }) => {
    const fenceBackend = need(backend, 'backend');
    const libvirt = need(client, 'libvirt');
    const dispatcher = new Dispatcher(fenceBackend, () => new StaticMap([]), logger);
    const portOf = new Map([[Number(cid), Number(port)]]);
    const pool = new LibvirtConnectionPool(logger);
    const listener = loopbackVsockListener({
      guests: portOf,
      key: vsockKey,
      libvirt: () => [Promise.resolve(libvirt)],
      dispatcher,
      pool,
      log: logger,
    });
    await listener.start();
    vsock = { listener, pool, portOf };
  },
  /** A guest with CID `cid` sends a request over the vsock listener; answers with the outcome. */
  vsockAsk: ({ cid, request, domain }) => {
    const port = need(vsock, 'vsock listener').portOf.get(Number(cid));
    if (port === undefined) throw new Error(`no stand-in port for cid ${String(cid)}`);
    const packet = signedRequest({ request: Number(request), domain: String(domain) }, vsockKey);
    return tcpExchange(port, packet, vsockKey, Hash.SHA256, 30_000);
  },
  close: async () => {
    await vsock?.listener.stop();
    await vsock?.pool.closeAll();
    vsock = undefined;
    await backend?.close();
    backend = undefined;
    await client?.close();
    client = undefined;
  },
};

process.on('message', (command: PeerCommand) => {
  const operation = operations[command.op];
  (operation ? operation(command.args) : Promise.reject(new Error(`unknown operation ${command.op}`))).then(
    (result) => send({ id: command.id, ok: true, result }),
    (err: NodeJS.ErrnoException) => send({ id: command.id, ok: false, error: { code: err.code, message: err.message } }),
  );
});

process.on('disconnect', () => {
  void operations.close?.({}).finally(() => process.exit(0));
});

send({ event: 'ready', pid: process.pid });
