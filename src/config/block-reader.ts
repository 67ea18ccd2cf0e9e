import { hashNames, parseHashName, type HashType } from '../protocol/index.js';
import type { Logger } from '../util/log.js';
import { ConfigError, describeLocation } from './config-error.js';
import { assignments } from './lookup.js';
import type { ConfigAssignment, ConfigBlock } from './tree.js';

/**
 * Reads typed settings from one block (which may be absent: then every default applies). Values are
 * checked strictly: where C's atoi would silently read "1229x" as 1229 or "yes" as 0, we refuse with
 * a ConfigError pointing at the value.
 */
export class BlockReader {
  private readonly read = new Set<string>();

  constructor(
    readonly file: string,
    /** The block's path for messages, e.g. `listeners/tcp`. */
    readonly path: string,
    readonly block: ConfigBlock | undefined,
  ) {}

  /** The assignment that counts for `key` (the last one), remembered as a known key. */
  assignment(key: string): ConfigAssignment | undefined {
    this.read.add(key.toLowerCase());
    return this.block && assignments(this.block, key).at(-1);
  }

  /** Keys that are valid in this block although nothing here uses them (not reported as unknown). */
  tolerate(...keys: string[]): void {
    for (const key of keys) this.read.add(key.toLowerCase());
  }

  text(key: string): string | undefined {
    return this.assignment(key)?.value;
  }

  /** Every value of a repeatable key, in file order. */
  all(key: string): string[] {
    this.read.add(key.toLowerCase());
    return this.block ? assignments(this.block, key).map((a) => a.value) : [];
  }

  required(key: string, what: string): string {
    const value = this.text(key);
    if (value === undefined) throw this.error(`${this.path}: missing '${key}' (${what})`);
    return value;
  }

  /** A whole decimal number in [min, max]. */
  integer(key: string, fallback: number, min: number, max: number, what = `a whole number from ${min} to ${max}`): number {
    const found = this.assignment(key);
    if (!found) return fallback;
    const value = /^[0-9]+$/.test(found.value) ? Number(found.value) : NaN;
    if (!(value >= min && value <= max)) {
      throw this.error(`${this.path}/${found.key}: expected ${what}, got '${found.value}'`, found);
    }
    return value;
  }

  port(key: string, fallback: number): number {
    return this.integer(key, fallback, 1, 65535, 'a port number from 1 to 65535');
  }

  /** C reads flags with atoi, so "yes" means off there; we accept numbers only (0 = off, other = on). */
  flag(key: string): boolean | undefined {
    const found = this.assignment(key);
    if (!found) return undefined;
    return this.integer(key, 0, 0, Number.MAX_SAFE_INTEGER, "a number (0 = off, 1 = on; fence_virtd reads words like 'yes' as 0)") !== 0;
  }

  /** One of `choices`, matched case-insensitively and returned in the spelling of `choices`. */
  choice<T extends string>(key: string, choices: readonly T[], fallback: T): T {
    const found = this.assignment(key);
    if (!found) return fallback;
    const match = choices.find((c) => c.toLowerCase() === found.value.toLowerCase());
    if (match === undefined) {
      throw this.error(`${this.path}/${found.key}: unknown value '${found.value}' (expected ${choices.join(', ')})`, found);
    }
    return match;
  }

  hash(key: string, fallback: HashType): HashType {
    return parseHashName(this.choice(key, Object.values(hashNames), hashNames[fallback])) as HashType;
  }

  error(reason: string, at?: ConfigAssignment): ConfigError {
    return new ConfigError(this.file, reason, at?.valuePosition ?? at?.position ?? this.block?.position);
  }

  /** Logs every key and child block the reader never asked for: likely typos, ignored like C does. */
  warnUnknown(log: Logger, childBlocks: readonly string[] = []): void {
    for (const item of this.block?.items ?? []) {
      const name = item.kind === 'block' ? item.name : item.key;
      const known = item.kind === 'block' ? childBlocks.includes(name.toLowerCase()) : this.read.has(name.toLowerCase());
      if (!known) {
        log.warn(
          `${describeLocation(this.file, item.position)}: unknown ${item.kind === 'block' ? 'block' : 'key'} '${name}' in ${this.path} (ignored)`,
        );
      }
    }
  }
}
