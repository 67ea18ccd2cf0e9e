import { ConfigError } from './config-error.js';
import { assignments, childBlocks, descend, splitPath } from './lookup.js';
import { nameProblem, valueProblem } from './syntax.js';
import type { ConfigBlock, ConfigContainer, ConfigDocument } from './tree.js';

/**
 * In-place edits of a parsed tree (for the `-c` dialog): everything not touched keeps its place, so
 * unknown keys, other listeners and groups survive a rewrite.
 */

function check(document: ConfigDocument, problem: string | undefined): void {
  if (problem) throw new ConfigError(document.file, problem);
}

/**
 * Sets `a/b/@key` to value. The assignment that currently counts (the last one) is changed in place;
 * a missing key is appended to its block, missing blocks are appended to their parents.
 */
export function setValue(document: ConfigDocument, path: string, value: string): void {
  const { blocks, key } = splitPath(path);
  if (key === undefined) throw new TypeError(`'${path}' names a block, not a key ('@key' expected last)`);
  for (const name of [...blocks, key]) check(document, nameProblem(name));
  check(document, valueProblem(value));

  let container: ConfigContainer = document;
  for (const name of blocks) {
    let block = childBlocks(container, name).at(-1);
    if (!block) {
      block = { kind: 'block', name, items: [] } satisfies ConfigBlock;
      container.items.push(block);
    }
    container = block;
  }
  const current = assignments(container, key).at(-1);
  if (current) {
    current.value = value;
    delete current.valuePosition;
  } else {
    container.items.push({ kind: 'assignment', key, value });
  }
}

/**
 * Removes what a path names: every assignment of `@key` in the selected block, or every block of the
 * last name at that level. All repetitions go, otherwise an earlier duplicate would take effect.
 * Returns whether anything was removed.
 */
export function removePath(document: ConfigDocument, path: string): boolean {
  const { blocks, key } = splitPath(path);
  const parentNames = key === undefined ? blocks.slice(0, -1) : blocks;
  const container = descend(document, parentNames);
  if (!container) return false;
  const doomed = new Set<unknown>(key === undefined ? childBlocks(container, blocks.at(-1) as string) : assignments(container, key));
  container.items = container.items.filter((item) => !doomed.has(item));
  return doomed.size > 0;
}
