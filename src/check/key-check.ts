import { KeyFileError, loadKeyFile } from '../auth/key-file.js';
import { listenerModule, type ListenerConfig } from '../listeners/registry.js';
import type { CheckReport } from '../module-kit/check-report.js';

/**
 * Each key file the listeners use, read exactly as the daemon reads it: missing, unreadable, empty
 * or not a regular file fails; loose permissions are a warning (the daemon starts, with a warning).
 */
export function checkKeyFiles(listeners: readonly ListenerConfig[], report: CheckReport): void {
  const users = new Map<string, string[]>();
  for (const l of listeners) {
    const keyFile = listenerModule(l).keyFile?.(l);
    if (keyFile !== undefined) users.set(keyFile, [...(users.get(keyFile) ?? []), l.name]);
  }
  for (const [path, names] of users) {
    const subject = `key file ${path} (listener ${names.join(', ')})`;
    const create = `dd if=/dev/urandom of=${path} bs=4096 count=1 && chmod 600 ${path}, then copy it to every guest`;
    try {
      const { key, warnings } = loadKeyFile(path);
      report.ok(subject, `readable, ${key.bytes.length} bytes`);
      for (const w of warnings) {
        const loose = /has mode/.test(w);
        report.warn(subject, w, loose ? `chmod 600 ${path}` : `use a key of at most 4096 bytes on hosts and guests alike`);
      }
    } catch (err) {
      if (!(err instanceof KeyFileError)) throw err;
      report.fail(
        subject,
        err.message,
        /empty|cannot open/.test(err.message) ? create : `make ${path} a regular file readable by root (${create})`,
      );
    }
  }
}
