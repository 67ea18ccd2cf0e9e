/* Giving freed malloc memory back to the kernel. */
#ifndef FENCE_VSOCK_MEMORY_H
#define FENCE_VSOCK_MEMORY_H

#include <node_api.h>

napi_value memory_trim(napi_env env, napi_callback_info info);

#endif
