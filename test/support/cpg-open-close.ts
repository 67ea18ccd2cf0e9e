/**
 * Opens a cpg backend (over a libvirt backend on `argv[2]`, a libvirt URI), says "open", and closes it
 * on SIGUSR2, saying "closed". It never calls process.exit: the process ends by itself only if closing
 * left nothing (no poller, no thread, no timer) holding Node's loop. Started inside a cluster host.
 */
import { LibvirtBackend } from '../../src/backends/libvirt/backend.js';
import { CpgBackend } from '../../src/backends/cpg/backend.js';
import { LibvirtClient } from '../../src/libvirt/index.js';
import { silentLogger } from '../../src/util/log.js';

const uri = process.argv[2];
if (!uri) throw new Error('usage: cpg-open-close.ts LIBVIRT_URI');
const client = await LibvirtClient.open({ uri });
const local = await LibvirtBackend.open([client.uri], silentLogger, { connect: async () => client });
const backend = await CpgBackend.open(local, [client], silentLogger, { nameMode: 'name', callTimeoutMs: 2_000 });
process.once('SIGUSR2', () => {
  void backend
    .close()
    .then(() => client.close())
    .then(() => process.stdout.write('closed\n'));
});
process.stdout.write('open\n');
