/**
 * Gives the pages of freed malloc chunks back to the kernel (glibc's malloc_trim, through the native
 * addon). glibc returns freed memory by itself only from the top of the main heap, so what a burst
 * freed below memory still in use stays resident: after 1,000 serial guests all asked at once, about
 * 1 MB (bench/results/startup-memory.md).
 */
import { AddonMissingError, loadAddon } from './addon.js';

/** Trims; without the addon (not installed) there is nothing to do, the memory just stays. */
export function trimMalloc(): void {
  try {
    loadAddon().trimMalloc();
  } catch (err) {
    if (!(err instanceof AddonMissingError)) throw err;
  }
}
