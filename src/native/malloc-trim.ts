/**
 * Gives the pages of freed malloc chunks back to the kernel (the native addon's trimMalloc: glibc's
 * malloc_trim, with the trim threshold kept at its default). glibc returns freed memory by itself only
 * from the top of a heap, past a threshold it raises each time a large block is freed: after 1,000
 * serial guests all asked at once, about 3 MB of free malloc memory stayed resident
 * (bench/results/startup-memory.md).
 */
import { loadAddon } from './addon.js';

/**
 * Trims. Only memory is at stake: where the addon is missing or cannot trim, the memory stays where it
 * is and the daemon goes on.
 */
export function trimMalloc(): void {
  try {
    loadAddon().trimMalloc();
  } catch {
    // Nothing given back this time.
  }
}
