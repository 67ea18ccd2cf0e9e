import { randomBytes } from 'node:crypto';
import { fsPromises } from '../util/lazy-builtins.js';
import { ConfigError } from './config-error.js';
import { nameProblem, valueProblem } from './syntax.js';
import type { ConfigContainer, ConfigDocument, ConfigItem } from './tree.js';

/**
 * Prints a tree as a canonical fence_virt.conf: items in tree order (the C writer reverses them on
 * every run), one tab per level, `key = "value";`, a blank line around top-level blocks, comments on
 * lines of their own before the item they preceded (a comment after an item on its line moves above
 * the next one; the C writer drops them all). Anything that
 * could not be read back identically (empty values, '"' in values, bad names) is refused with a
 * ConfigError instead of producing a file fence_virtd would reject.
 */
export function formatConfig(document: ConfigDocument): string {
  if (document.items.length === 0) {
    throw new ConfigError(document.file, 'cannot write an empty configuration (fence_virtd cannot read an empty file)');
  }
  const lines: string[] = [];
  const fail = (item: ConfigItem, problem: string): never => {
    throw new ConfigError(document.file, `cannot write ${item.kind === 'block' ? 'block' : 'key'}: ${problem}`, item.position);
  };
  const emit = (container: ConfigContainer, depth: number): void => {
    const indent = '\t'.repeat(depth);
    const comments = (list: string[] | undefined): void => {
      for (const comment of list ?? []) lines.push(`${indent}${comment}`);
    };
    container.items.forEach((item, index) => {
      const name = item.kind === 'block' ? item.name : item.key;
      const problem = nameProblem(name) ?? (item.value === undefined ? undefined : valueProblem(item.value));
      if (problem) fail(item, problem);
      const separate = depth === 0 && index > 0 && (item.kind === 'block' || container.items[index - 1]?.kind === 'block');
      if (separate) lines.push('');
      comments(item.comments);
      if (item.kind === 'assignment') {
        lines.push(`${indent}${item.key} = "${item.value}";`);
      } else {
        lines.push(`${indent}${item.name}${item.value === undefined ? '' : ` = "${item.value}"`} {`);
        emit(item, depth + 1);
        lines.push(`${indent}}`);
      }
    });
    comments(container.trailingComments);
  };
  emit(document, 0);
  return lines.map((line) => `${line}\n`).join('');
}

/**
 * Writes the tree to `path` atomically: a 0600 temporary file next to it, then rename, like the C
 * `-c` dialog (the daemon would otherwise chmod the file to 0600 at start-up anyway).
 */
export async function writeConfigFile(path: string, document: ConfigDocument): Promise<void> {
  await writeAtomically(path, formatConfig(document));
}

/**
 * Copies the file as it is now to `PATH.bak` (mode 0600, replacing an older copy) before it is
 * rewritten; returns the copy's path, or undefined when there is no file yet.
 */
export async function backUpConfigFile(path: string): Promise<string | undefined> {
  let text: Buffer;
  try {
    text = await fsPromises().readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(path, `cannot read the file to back it up: ${(err as Error).message}`, undefined, { cause: err });
  }
  const backup = `${path}.bak`;
  await writeAtomically(backup, text);
  return backup;
}

async function writeAtomically(path: string, text: string | Buffer): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}`;
  const { open, rename, unlink } = fsPromises();
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw new ConfigError(path, `cannot write the file: ${(err as Error).message}`, undefined, { cause: err });
  }
}
