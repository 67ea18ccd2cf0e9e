/** Where an item or token starts in a configuration file (1-based, columns counted in characters). */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** "FILE: line L, column C" or just "FILE" when the item was not read from the file (e.g. added by an edit). */
export function describeLocation(file: string, position?: SourcePosition): string {
  return position ? `${file}: line ${position.line}, column ${position.column}` : file;
}

/**
 * Every problem with a fence_virt.conf: syntax, invalid values, missing settings, unwritable trees.
 * `reason` is the bare explanation; `message` adds the file and position for logs and users.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly file: string,
    readonly reason: string,
    readonly position?: SourcePosition,
    options?: ErrorOptions,
  ) {
    super(`${describeLocation(file, position)}: ${reason}`, options);
  }
}
