/* AF_VSOCK entry points: listen, connect (guests only; never run on hosts without a loopback
 * transport), and the local CID. */
#ifndef FENCE_VSOCK_VSOCK_H
#define FENCE_VSOCK_VSOCK_H

#include <node_api.h>

napi_value vsock_listen(napi_env env, napi_callback_info info);
napi_value vsock_connect(napi_env env, napi_callback_info info);
napi_value vsock_local_cid(napi_env env, napi_callback_info info);

#endif
