#include "votequorum.h"

#include <corosync/votequorum.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "errors.h"

typedef struct {
  conn_event base;
  bool quorate;
  uint32_t count;
  votequorum_node_t nodes[];
} quorum_event;

static int quorum_to_js(napi_env env, const conn_event *base, napi_value *argv) {
  const quorum_event *event = (const quorum_event *)base;
  if (napi_get_boolean(env, event->quorate, &argv[0]) != napi_ok ||
      napi_create_array_with_length(env, event->count, &argv[1]) != napi_ok) {
    return -1;
  }
  for (uint32_t i = 0; i < event->count; i++) {
    napi_value entry, nodeid, state;
    if (napi_create_object(env, &entry) != napi_ok ||
        napi_create_uint32(env, event->nodes[i].nodeid, &nodeid) != napi_ok ||
        napi_create_uint32(env, event->nodes[i].state, &state) != napi_ok ||
        napi_set_named_property(env, entry, "nodeId", nodeid) != napi_ok ||
        napi_set_named_property(env, entry, "state", state) != napi_ok ||
        napi_set_element(env, argv[1], i, entry) != napi_ok) {
      return -1;
    }
  }
  return 2;
}

static void on_quorum(votequorum_handle_t handle, uint64_t context, uint32_t quorate, uint32_t count,
                      votequorum_node_t nodes[]) {
  (void)context;
  void *c = NULL;
  if (votequorum_context_get(handle, &c) != CS_OK || !c) return;
  quorum_event *event = malloc(sizeof *event + count * sizeof(votequorum_node_t));
  if (!event) {
    conn_fail(c, CS_ERR_NO_MEMORY, "votequorum notification");
    return;
  }
  event->base.listener = "quorum";
  event->base.to_js = quorum_to_js;
  event->quorate = quorate != 0;
  event->count = count;
  memcpy(event->nodes, nodes, count * sizeof(votequorum_node_t));
  conn_queue(c, &event->base);
}

static cs_error_t init(uint64_t *handle, void *context) {
  votequorum_callbacks_t callbacks = {.votequorum_quorum_notify_fn = on_quorum};
  cs_error_t result = votequorum_initialize(handle, &callbacks);
  if (result != CS_OK) return result;
  result = votequorum_context_set(*handle, context);
  if (result != CS_OK) votequorum_finalize(*handle);
  return result;
}

static cs_error_t fd_get(uint64_t handle, int *fd) {
  return votequorum_fd_get(handle, fd);
}

static cs_error_t dispatch(uint64_t handle) {
  return votequorum_dispatch(handle, CS_DISPATCH_ALL);
}

static void finalize(uint64_t handle) {
  /* Its result only says whether corosync heard of it; the library lets go of the handle either way. */
  votequorum_finalize(handle);
}

static bool set_uint(napi_env env, napi_value object, const char *name, uint32_t value) {
  napi_value number;
  return napi_create_uint32(env, value, &number) == napi_ok &&
         napi_set_named_property(env, object, name, number) == napi_ok;
}

typedef struct {
  conn_job base;
  uint32_t nodeid;
  struct votequorum_info info;
} info_job;

static cs_error_t run_getinfo(uint64_t handle, conn_job *base) {
  info_job *job = (info_job *)base;
  return votequorum_getinfo(handle, job->nodeid, &job->info);
}

static napi_value info_result(napi_env env, conn_job *base) {
  const struct votequorum_info *vq = &((info_job *)base)->info;
  napi_value result, quorate;
  if (napi_create_object(env, &result) != napi_ok || !set_uint(env, result, "nodeId", vq->node_id) ||
      !set_uint(env, result, "nodeState", vq->node_state) || !set_uint(env, result, "nodeVotes", vq->node_votes) ||
      !set_uint(env, result, "expectedVotes", vq->node_expected_votes) ||
      !set_uint(env, result, "highestExpected", vq->highest_expected) ||
      !set_uint(env, result, "totalVotes", vq->total_votes) || !set_uint(env, result, "quorum", vq->quorum) ||
      !set_uint(env, result, "flags", vq->flags) ||
      napi_get_boolean(env, (vq->flags & VOTEQUORUM_INFO_QUORATE) != 0, &quorate) != napi_ok ||
      napi_set_named_property(env, result, "quorate", quorate) != napi_ok) {
    throw_napi_failure(env, "getInfo");
    return NULL;
  }
  return result;
}

/* getInfo(nodeId = 0) -> Promise: what votequorum knows of a node (0: this one), and whether the
 * cluster is quorate. */
static napi_value vq_getinfo_method(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  napi_valuetype type;
  uint32_t nodeid = 0;
  conn *c = conn_unwrap(env, info, 1, argv);
  if (!c) return NULL;
  if (napi_typeof(env, argv[0], &type) != napi_ok ||
      (type != napi_undefined && !get_uint_arg(env, argv[0], "nodeId", UINT32_MAX, &nodeid))) {
    return NULL;
  }
  info_job *job = calloc(1, sizeof *job);
  if (!job) {
    throw_cs_error(env, CS_ERR_NO_MEMORY, "votequorum_getinfo");
    return NULL;
  }
  job->base.run = run_getinfo;
  job->base.result = info_result;
  job->base.call = "votequorum_getinfo";
  job->nodeid = nodeid;
  return conn_submit(env, c, &job->base);
}

static cs_error_t run_trackstart(uint64_t handle, conn_job *job) {
  (void)job;
  return votequorum_trackstart(handle, 0, CS_TRACK_CURRENT | CS_TRACK_CHANGES);
}

static cs_error_t run_trackstop(uint64_t handle, conn_job *job) {
  (void)job;
  return votequorum_trackstop(handle);
}

static napi_value track_method(napi_env env, napi_callback_info info, bool start) {
  const char *call = start ? "votequorum_trackstart" : "votequorum_trackstop";
  conn *c = conn_unwrap(env, info, 0, NULL);
  if (!c) return NULL;
  conn_job *job = calloc(1, sizeof *job);
  if (!job) {
    throw_cs_error(env, CS_ERR_NO_MEMORY, call);
    return NULL;
  }
  job->run = start ? run_trackstart : run_trackstop;
  job->call = call;
  return conn_submit(env, c, job);
}

/* trackStart() -> Promise<void>: quorum() is called with the current state, then on every change.
 * trackStop() ends it. */
static napi_value vq_track_start_method(napi_env env, napi_callback_info info) {
  return track_method(env, info, true);
}

static napi_value vq_track_stop_method(napi_env env, napi_callback_info info) {
  return track_method(env, info, false);
}

static const char *const listeners[] = {"quorum", "error", NULL};

static const conn_ops ops = {
    .class_name = "Votequorum",
    .listeners = listeners,
    .init_call = "votequorum_initialize",
    .dispatch_call = "votequorum_dispatch",
    .init = init,
    .fd_get = fd_get,
    .dispatch = dispatch,
    .finalize = finalize,
};

napi_status votequorum_define(napi_env env, napi_value *constructor) {
  napi_property_descriptor methods[] = {
      {"getInfo", NULL, vq_getinfo_method, NULL, NULL, NULL, napi_default_method, NULL},
      {"trackStart", NULL, vq_track_start_method, NULL, NULL, NULL, napi_default_method, NULL},
      {"trackStop", NULL, vq_track_stop_method, NULL, NULL, NULL, napi_default_method, NULL},
  };
  return conn_define_class(env, &ops, methods, sizeof methods / sizeof methods[0], constructor);
}
