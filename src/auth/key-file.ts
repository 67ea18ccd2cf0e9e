import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MAX_KEY_LENGTH } from '../protocol/constants.js';
import { AuthKey } from './keyed-hash.js';

export class KeyFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'KeyFileError';
  }
}

export interface LoadedKey {
  key: AuthKey;
  /** Problems worth a log line that do not stop us (loose permissions, truncation). */
  warnings: string[];
}

/**
 * Reads a key file raw, as both C tools do: binary, no trimming, the first 4096 bytes. Unlike the C
 * daemon (which silently runs without authentication when the key cannot be read:
 * docs/compatibility.md, row 'unreadable key file'), a missing, unreadable, empty file or a directory
 * is an error; the agent allows an empty key (C compatible). Read synchronously, like the
 * configuration (src/config/parse.ts): small files, read at start and on reload, and the serving daemon
 * then loads neither fs/promises nor starts the thread pool (bench/results/startup-memory.md).
 */
export function loadKeyFile(path: string, options: { allowEmpty?: boolean } = {}): LoadedKey {
  const warnings: string[] = [];
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new KeyFileError(path, `cannot open key file ${path}: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new KeyFileError(path, `key file ${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      warnings.push(`key file ${path} has mode ${(st.mode & 0o777).toString(8)}; it should be 600 (chmod 600 ${path})`);
    }
    const buf = Buffer.alloc(MAX_KEY_LENGTH);
    let length = 0;
    for (;;) {
      const bytesRead = readSync(fd, buf, length, MAX_KEY_LENGTH - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === MAX_KEY_LENGTH) break;
    }
    if (length === MAX_KEY_LENGTH && st.size > MAX_KEY_LENGTH) {
      warnings.push(`key file ${path} is ${st.size} bytes; only the first ${MAX_KEY_LENGTH} are used`);
    }
    if (length === 0 && !options.allowEmpty) throw new KeyFileError(path, `key file ${path} is empty`);
    return { key: new AuthKey(buf.subarray(0, length)), warnings };
  } catch (err) {
    if (err instanceof KeyFileError) throw err;
    throw new KeyFileError(path, `cannot read key file ${path}: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
