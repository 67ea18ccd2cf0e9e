/* Cpg: a closed process group client (libcpg). */
#ifndef FENCE_CPG_CPG_H
#define FENCE_CPG_CPG_H

#include <node_api.h>

/* Defines the Cpg class: new Cpg({deliver, confchg, error}) connects to the local corosync. */
napi_status cpg_define(napi_env env, napi_value *constructor);

#endif
