/**
 * Child-process entry for tests that need another identity (e.g. a non-root user, which libvirtd asks for
 * polkit): opens the URI in argv[2] with a LibvirtClient and prints the outcome as one JSON line.
 */
import { LibvirtClient } from '../../src/libvirt/client.js';
import { CapturedLog } from '../support/captured-log.js';

const { lines: log, logger } = new CapturedLog(2);
try {
  const client = await LibvirtClient.open({ uri: process.argv[2]!, logger });
  const uri = await client.getUri();
  await client.close();
  process.stdout.write(`${JSON.stringify({ ok: true, uri, log })}\n`);
} catch (err) {
  const { name, message } = err as Error;
  process.stdout.write(`${JSON.stringify({ ok: false, name, message, code: (err as { code?: number }).code, log })}\n`);
}
