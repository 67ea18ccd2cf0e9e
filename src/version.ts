import pkg from '../package.json' with { type: 'json' };

/** Our release, and the C fence-virt release whose behaviour we reproduce. */
export const VERSION: string = pkg.version;
export const COMPATIBLE_WITH = 'fence-virt 4.12.1';
