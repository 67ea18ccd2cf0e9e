import { stat } from 'node:fs/promises';
import { ConfigError, readConfigFile } from '../config/index.js';
import { toDaemonConfig, type DaemonConfig } from '../daemon-config/index.js';
import type { CheckReport } from '../module-kit/check-report.js';
import { collectWarnings } from '../util/log.js';

/** The file parses and makes a configuration the daemon accepts; its warnings and its mode. */
export async function checkConfigFile(file: string, report: CheckReport): Promise<DaemonConfig | undefined> {
  const subject = `configuration ${file}`;
  let config: DaemonConfig;
  const { logger: collect, warnings } = collectWarnings();
  try {
    config = toDaemonConfig(readConfigFile(file), collect);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const missing = (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    report.fail(
      subject,
      err.message,
      missing
        ? `write one with: fence_virtd -c -f ${file}`
        : `correct it (keys and syntax: man fence_virt.conf), or rewrite it with: fence_virtd -c -f ${file}`,
    );
    return undefined;
  }
  const listeners = config.listeners.map((l) => (l.name === l.module ? l.name : `${l.name} (${l.module})`)).join(', ');
  report.ok(subject, `parsed; listeners ${listeners}; backend ${config.backend.module}`);
  for (const warning of warnings)
    report.warn(subject, warning, 'correct or remove it (the daemon ignores it; man fence_virt.conf lists every key)');
  const mode = (await stat(file)).mode & 0o777;
  if (mode & 0o077) report.warn(subject, `mode ${mode.toString(8)}: other users can read it`, `chmod 600 ${file}`);
  return config;
}
