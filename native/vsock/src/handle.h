/* Handle: one non-blocking fd (vsock socket, FIFO or character device) plus the libuv poller that
 * watches it on Node's own loop. JS decides when to poll for what; the callback only reports
 * readiness, and JS then calls read/write/accept until they would block. */
#ifndef FENCE_VSOCK_HANDLE_H
#define FENCE_VSOCK_HANDLE_H

#include <node_api.h>

/* Defines the (not exported) Handle class and keeps its constructor for handle_wrap_fd. */
napi_status handle_init(napi_env env);

/* Wraps `fd` in a new Handle whose poll events go to `on_event(err, readable, writable)`.
 * Takes ownership of fd: on failure it is closed, NULL is returned and a JS exception is pending. */
napi_value handle_wrap_fd(napi_env env, int fd, napi_value on_event);

#endif
