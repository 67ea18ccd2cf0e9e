/* Votequorum: the quorum state of the local corosync (libvotequorum). */
#ifndef FENCE_CPG_VOTEQUORUM_H
#define FENCE_CPG_VOTEQUORUM_H

#include <node_api.h>

/* Defines the Votequorum class: new Votequorum({quorum, error}) connects to the local corosync. */
napi_status votequorum_define(napi_env env, napi_value *constructor);

#endif
