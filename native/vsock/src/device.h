/* Opening a character device (a guest's virtio-serial port), FIFO or socket path as a polled Handle.
 * No terminal ioctls: virtio-serial ports are not ttys. */
#ifndef FENCE_VSOCK_DEVICE_H
#define FENCE_VSOCK_DEVICE_H

#include <node_api.h>

napi_value device_open(napi_env env, napi_callback_info info);

#endif
