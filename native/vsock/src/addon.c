/* Module entry: loading does not touch AF_VSOCK, so it works on kernels without vsock. */
#include <node_api.h>

#include "datagram.h"
#include "device.h"
#include "errors.h"
#include "handle.h"
#include "memory.h"
#include "vsock.h"

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"listen", NULL, vsock_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connect", NULL, vsock_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"localCid", NULL, vsock_local_cid, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openDevice", NULL, device_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendUnixDatagram", NULL, datagram_send_unix, NULL, NULL, NULL, napi_enumerable, NULL},
      {"trimMalloc", NULL, memory_trim, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (handle_init(env) != napi_ok ||
      napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok) {
    throw_napi_failure(env, "module init");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
