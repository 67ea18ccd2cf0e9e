import type { ConfigAssignment, ConfigBlock, ConfigContainer } from './tree.js';

/**
 * Path lookups with the C fence_virtd's semantics (docs/protocol.md#configuration-lookup):
 * `listeners/multicast/@port` selects blocks by name, case-insensitively, then an assignment with '@'.
 * Where a name repeats, the last one in the file counts; repeated blocks are not merged (only the last
 * block is searched).
 */

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** All child blocks called `name`, in file order. */
export function childBlocks(container: ConfigContainer, name: string): ConfigBlock[] {
  return container.items.filter((item): item is ConfigBlock => item.kind === 'block' && same(item.name, name));
}

/** All assignments of `key` directly in the container, in file order (for repeatable keys like `ip`). */
export function assignments(container: ConfigContainer, key: string): ConfigAssignment[] {
  return container.items.filter((item): item is ConfigAssignment => item.kind === 'assignment' && same(item.key, key));
}

/** Splits `a/b/@key` into block names and the key (undefined when the path names a block). */
export function splitPath(path: string): { blocks: string[]; key?: string } {
  const parts = path.split('/');
  const last = parts.at(-1) ?? '';
  const key = last.startsWith('@') ? last.slice(1) : undefined;
  const blocks = key === undefined ? parts : parts.slice(0, -1);
  if (key === '' || blocks.some((part) => part === '' || part.startsWith('@'))) {
    throw new TypeError(`invalid configuration path '${path}'`);
  }
  return key === undefined ? { blocks } : { blocks, key };
}

/** Follows block names from `container` (the last block of each name), undefined when one is missing. */
export function descend(container: ConfigContainer, names: readonly string[]): ConfigContainer | undefined {
  let current: ConfigContainer | undefined = container;
  for (const name of names) current = current && childBlocks(current, name).at(-1);
  return current;
}

/** The block a path like `listeners/tcp` selects (the last of each name). */
export function findBlock(container: ConfigContainer, path: string): ConfigBlock | undefined {
  const { blocks, key } = splitPath(path);
  if (key !== undefined) throw new TypeError(`'${path}' names a key, not a block`);
  return descend(container, blocks) as ConfigBlock | undefined;
}

/** The assignment that counts for a path like `listeners/tcp/@port` (the last one in its block). */
export function findAssignment(container: ConfigContainer, path: string): ConfigAssignment | undefined {
  const { blocks, key } = splitPath(path);
  if (key === undefined) throw new TypeError(`'${path}' names a block, not a key ('@key' expected last)`);
  const block = descend(container, blocks);
  return block && assignments(block, key).at(-1);
}

/** The value a path like `fence_virtd/@listener` has, or undefined when it is not set. */
export function getValue(container: ConfigContainer, path: string): string | undefined {
  return findAssignment(container, path)?.value;
}
