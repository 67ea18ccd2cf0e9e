/**
 * import.meta in the CommonJS bundles: tsup.config.ts has esbuild write `import.meta.url` as
 * `importMeta.url` and inject this object. The bundle's file URL is made at its first use (a require
 * made with createRequire), not at every start as tsup's own shim makes it (a URL parse, about 0.5 ms).
 * node:url is loaded by Node's own start anyway.
 */
import { pathToFileURL } from 'node:url';

declare const __filename: string;

export const importMeta = {
  get url(): string {
    return pathToFileURL(__filename).href;
  },
};
