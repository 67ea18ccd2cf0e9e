import { loadKeyFile } from '../auth/key-file.js';
import type { AuthKey } from '../auth/keyed-hash.js';
import type { Logger } from '../util/log.js';

/**
 * The key files of all listeners, loaded once each. Listeners hold a getter, so a reload swaps keys
 * for new requests while requests in flight finish with the key they started with.
 */
export class KeyRing {
  private readonly keys = new Map<string, AuthKey>();

  constructor(private readonly log: Logger) {}

  /** Loads every file; a missing, unreadable or empty key is fatal at start-up. */
  async load(paths: Iterable<string>): Promise<void> {
    for (const path of new Set(paths)) await this.read(path);
  }

  /** Re-reads every file; one that fails keeps its previous key and is reported. */
  async reload(): Promise<void> {
    for (const path of this.keys.keys()) {
      try {
        await this.read(path);
      } catch (err) {
        this.log.error(`keeping the previous key: ${(err as Error).message}`);
      }
    }
  }

  private async read(path: string): Promise<void> {
    const { key, warnings } = await loadKeyFile(path);
    for (const w of warnings) this.log.warn(w);
    this.keys.set(path, key);
  }

  source(path: string): () => AuthKey {
    return () => {
      const key = this.keys.get(path);
      if (!key) throw new Error(`key file ${path} was never loaded`);
      return key;
    };
  }
}
