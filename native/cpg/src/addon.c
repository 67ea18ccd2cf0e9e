/* Module entry: loading connects to nothing, so it works where corosync is not running. */
#include <corosync/cpg.h>
#include <corosync/votequorum.h>
#include <node_api.h>

#include "cpg.h"
#include "errors.h"
#include "votequorum.h"

static bool set_uint(napi_env env, napi_value object, const char *name, uint32_t value) {
  napi_value number;
  return napi_create_uint32(env, value, &number) == napi_ok &&
         napi_set_named_property(env, object, name, number) == napi_ok;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value cpg, votequorum, constants;
  if (cpg_define(env, &cpg) != napi_ok || votequorum_define(env, &votequorum) != napi_ok ||
      napi_set_named_property(env, exports, "Cpg", cpg) != napi_ok ||
      napi_set_named_property(env, exports, "Votequorum", votequorum) != napi_ok ||
      napi_create_object(env, &constants) != napi_ok ||
      !set_uint(env, constants, "CPG_MAX_NAME_LENGTH", CPG_MAX_NAME_LENGTH) ||
      !set_uint(env, constants, "CPG_REASON_JOIN", CPG_REASON_JOIN) ||
      !set_uint(env, constants, "CPG_REASON_LEAVE", CPG_REASON_LEAVE) ||
      !set_uint(env, constants, "CPG_REASON_NODEDOWN", CPG_REASON_NODEDOWN) ||
      !set_uint(env, constants, "CPG_REASON_NODEUP", CPG_REASON_NODEUP) ||
      !set_uint(env, constants, "CPG_REASON_PROCDOWN", CPG_REASON_PROCDOWN) ||
      !set_uint(env, constants, "VOTEQUORUM_NODESTATE_MEMBER", VOTEQUORUM_NODESTATE_MEMBER) ||
      !set_uint(env, constants, "VOTEQUORUM_NODESTATE_DEAD", VOTEQUORUM_NODESTATE_DEAD) ||
      !set_uint(env, constants, "VOTEQUORUM_NODESTATE_LEAVING", VOTEQUORUM_NODESTATE_LEAVING) ||
      napi_object_freeze(env, constants) != napi_ok ||
      napi_set_named_property(env, exports, "constants", constants) != napi_ok) {
    throw_napi_failure(env, "module init");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
