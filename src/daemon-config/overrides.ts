import type { DaemonConfig } from './daemon-config.js';

/**
 * The fence_virtd options that take precedence over the file
 * (docs/protocol.md#fence_virtd-command-line).
 */
export interface CommandLineOverrides {
  /** `-d N`; 0 or absent leaves the file's value, as in C. */
  debug?: number;
  /** `-F` */
  foreground?: boolean;
  /** `-w` */
  waitForInit?: boolean;
}

/** A copy of `config` with the command-line options applied; options can only switch things on. */
export function applyCommandLineOverrides(config: DaemonConfig, options: CommandLineOverrides): DaemonConfig {
  return {
    ...config,
    debug: options.debug ? options.debug : config.debug,
    foreground: config.foreground || options.foreground === true,
    waitForInit: config.waitForInit || options.waitForInit === true,
  };
}
