/* One datagram to an AF_UNIX SOCK_DGRAM socket (e.g. systemd's notification socket). */
#ifndef FENCE_VSOCK_DATAGRAM_H
#define FENCE_VSOCK_DATAGRAM_H

#include <node_api.h>

napi_value datagram_send_unix(napi_env env, napi_callback_info info);

#endif
