/**
 * `fence_virtd --check`: everything a fencing request would otherwise only reveal by failing (often
 * as a bare "Timed out waiting for response" in the guest), checked up front, one line per check.
 */
import type { Writable } from 'node:stream';
import { AVAILABLE_BACKENDS, backendModule } from '../backends/registry.js';
import { listenerModule } from '../listeners/registry.js';
import { CheckReport } from '../module-kit/check-report.js';
import { checkConfigFile } from './config-check.js';
import { checkGroups } from './group-check.js';
import { checkKeyFiles } from './key-check.js';
import { checkLibvirtUris, type UriUse } from './libvirt-check.js';

/** Checks the configuration in `file` and the host; resolves with 0 when nothing failed, else 1. */
export async function runCheck(file: string, output: Writable): Promise<number> {
  const report = new CheckReport((line) => output.write(`${line}\n`));
  const config = await checkConfigFile(file, report);
  if (!config) return 1;
  checkKeyFiles(config.listeners, report);
  if (!AVAILABLE_BACKENDS.includes(config.backend.module)) {
    report.fail(`backend ${config.backend.module}`, 'not available in this build', `use backend = "${AVAILABLE_BACKENDS.join('" or "')}"`);
  }
  await backendModule(config.backend).check?.(config.backend, report);

  const uses = new Map<string, UriUse>();
  const use = (uri: string, user: string): void => {
    const entry = uses.get(uri) ?? { uri, users: [] };
    entry.users.push(user);
    uses.set(uri, entry);
  };
  for (const uri of config.backend.uris) use(uri, `backend ${config.backend.module}`);
  for (const l of config.listeners) {
    const uri = listenerModule(l).libvirtUri?.(l);
    if (uri !== undefined) use(uri, `listener ${l.name}`);
  }
  const views = await checkLibvirtUris([...uses.values()], report);
  try {
    for (const l of config.listeners) {
      const module = listenerModule(l);
      const uri = module.libvirtUri?.(l);
      await module.check(l, report, uri === undefined ? undefined : views.get(uri));
    }
    checkGroups(config, views, report);
  } finally {
    await Promise.all([...views.values()].map((v) => v.client.close()));
  }
  const counts = (['OK', 'WARN', 'FAIL'] as const).map((v) => `${report.lines.filter((l) => l.verdict === v).length} ${v}`);
  output.write(`${report.failed ? 'fence_virtd would not work as configured' : 'no failures'}: ${counts.join(', ')}\n`);
  return report.failed ? 1 : 0;
}
