#include "memory.h"

#include <malloc.h>
#include <stdbool.h>

/* glibc's default trim threshold, which it raises on its own up to 64 MB each time a large block is freed. */
#define TRIM_THRESHOLD (128 * 1024)

/*
 * trimMalloc() -> whether any memory went back to the kernel. glibc gives freed memory back by itself
 * only from the top of a heap, once more than the trim threshold is free there; and each large block
 * freed raises that threshold, so the heaps of V8's worker threads keep up to megabytes of free memory
 * resident. This pins the threshold at its default (from the first call on), then releases the pages of
 * free chunks in every arena (malloc_trim). Where the C library is not glibc, nothing is done.
 */
napi_value memory_trim(napi_env env, napi_callback_info info) {
  (void)info;
  bool released = false;
#ifdef __GLIBC__
  static bool pinned = false;
  if (!pinned) pinned = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1;
  released = malloc_trim(0) != 0;
#endif
  napi_value result;
  if (napi_get_boolean(env, released, &result) != napi_ok) return NULL;
  return result;
}
