import { loadKeyFile } from '../auth/key-file.js';
import type { AuthKey } from '../auth/keyed-hash.js';
import type { Logger } from '../util/log.js';

/** Which key file each keyed listener uses, by listener name. */
export type KeyFiles = ReadonlyMap<string, string>;

/**
 * The key of each keyed listener. Listeners hold a getter by their name, not by the file's path, so a
 * reload that points a listener at another file takes effect; requests in flight finish with the key
 * they started with.
 */
export class KeyRing {
  private keys = new Map<string, AuthKey>();

  constructor(private readonly log: Logger) {}

  /**
   * Reads every file and only then swaps them all in: a missing, unreadable or empty key rejects and
   * leaves every running key as it was (fatal at start-up; on SIGHUP the running keys stay).
   */
  load(files: KeyFiles): void {
    const byPath = new Map<string, AuthKey>();
    for (const path of new Set(files.values())) {
      const { key, warnings } = loadKeyFile(path);
      for (const w of warnings) this.log.warn(w);
      byPath.set(path, key);
    }
    this.keys = new Map([...files].map(([listener, path]) => [listener, byPath.get(path) as AuthKey]));
  }

  source(listener: string): () => AuthKey {
    return () => {
      const key = this.keys.get(listener);
      if (!key) throw new Error(`listener ${listener} has no key loaded`);
      return key;
    };
  }
}
