/**
 * Loads the native addon (workspace package @fence-virtd/vsock, built by node-gyp during `npm ci`) on
 * first use, so importing a transport never fails where the addon is missing and nobody needs it.
 *
 * createRequire resolves the package through node_modules from this file's own location, which works
 * from the source tree (tsx) and from a tsup bundle in dist/ alike. The bundle must keep the package
 * external (esbuild does not follow a require created at run time, so it stays a run-time lookup): an
 * installed daemon needs node_modules/@fence-virtd/vsock/{package.json,index.js,build/Release/vsock.node}
 * in a node_modules folder above the bundle's directory.
 */
import { createRequire } from 'node:module';
import type * as Addon from '@fence-virtd/vsock';

export type NativeAddon = typeof Addon;
export type { Handle as NativeHandle, OnEvent, VsockAddress } from '@fence-virtd/vsock';

export const ADDON_PACKAGE = '@fence-virtd/vsock';

export class AddonMissingError extends Error {
  readonly code = 'ERR_VSOCK_ADDON_MISSING';
}

let addon: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (!addon) {
    try {
      addon = createRequire(import.meta.url)(ADDON_PACKAGE) as NativeAddon;
    } catch (cause) {
      throw new AddonMissingError(
        `native addon ${ADDON_PACKAGE} could not be loaded (is it built? run npm ci, or node-gyp rebuild in native/vsock): ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  return addon;
}
