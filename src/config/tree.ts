import type { SourcePosition } from './config-error.js';

/**
 * The generic, untyped form of a fence_virt.conf: blocks with ordered items, exactly as written
 * (repeated keys and blocks included). Typed settings are derived from it; the writer prints it back.
 * Positions are absent on items created by edits.
 */
export interface ConfigAssignment {
  readonly kind: 'assignment';
  key: string;
  value: string;
  position?: SourcePosition;
  valuePosition?: SourcePosition;
  /** Comment lines written before it (each from its '#'), kept so a rewrite does not lose them. */
  comments?: string[];
}

export interface ConfigBlock {
  readonly kind: 'block';
  name: string;
  /** The quoted value of a valued block (`group = "g1" { … }`). */
  value?: string;
  items: ConfigItem[];
  position?: SourcePosition;
  comments?: string[];
  trailingComments?: string[];
}

export type ConfigItem = ConfigAssignment | ConfigBlock;

/** Anything holding items: a block or the whole file. */
export interface ConfigContainer {
  items: ConfigItem[];
  /** Comment lines after its last item (before the closing '}', or at the end of the file). */
  trailingComments?: string[];
}

export interface ConfigDocument extends ConfigContainer {
  /** The file name used in error messages. */
  file: string;
}
