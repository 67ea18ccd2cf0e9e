/**
 * How a configuration block is described: the one text that the `-c` dialog's explanations,
 * fence_virt.conf(5) and the README's configuration table are made from (src/daemon-config/reference.ts
 * puts the blocks together).
 */
export interface KeyReference {
  key: string;
  /** The default as prose (what the daemon does when the key is absent). */
  default: string;
  /** The value that, written into the file, means exactly the same as leaving the key out. */
  fileDefault?: string;
  description: string;
}

/** What a listener or backend module says about its block. */
export interface ModuleReference {
  summary: string;
  keys: KeyReference[];
}

export interface BlockReference extends ModuleReference {
  /** The block path as written in the file, with `<name>` for a listener instance. */
  path: string;
  /** Which listener modules (or what else) read this block. */
  usedBy: string;
}

/** The description of one of the block's keys, for the dialog. */
export function describeKey(block: ModuleReference, key: string): string {
  const found = block.keys.find((k) => k.key === key);
  if (!found) throw new Error(`no reference entry for ${key}`);
  return found.description;
}
