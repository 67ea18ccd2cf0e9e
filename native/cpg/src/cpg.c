#include "cpg.h"

#include <corosync/cpg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "conn.h"
#include "errors.h"

typedef struct {
  conn_event base;
  struct cpg_name group;
  uint32_t nodeid;
  uint32_t pid;
  size_t length;
  unsigned char message[];
} deliver_event;

typedef struct {
  conn_event base;
  struct cpg_name group;
  size_t members;
  size_t left;
  size_t joined;
  struct cpg_address addresses[]; /* members, then left, then joined */
} confchg_event;

static napi_value make_group(napi_env env, const struct cpg_name *group) {
  napi_value result;
  size_t length = group->length <= CPG_MAX_NAME_LENGTH ? group->length : CPG_MAX_NAME_LENGTH;
  if (napi_create_string_utf8(env, group->value, length, &result) != napi_ok) return NULL;
  return result;
}

static int deliver_to_js(napi_env env, const conn_event *base, napi_value *argv) {
  const deliver_event *event = (const deliver_event *)base;
  void *data;
  if (napi_create_uint32(env, event->nodeid, &argv[0]) != napi_ok ||
      napi_create_uint32(env, event->pid, &argv[1]) != napi_ok ||
      napi_create_buffer_copy(env, event->length, event->message, &data, &argv[2]) != napi_ok ||
      !(argv[3] = make_group(env, &event->group))) {
    return -1;
  }
  return 4;
}

static napi_value make_addresses(napi_env env, const struct cpg_address *addresses, size_t count) {
  napi_value list;
  if (napi_create_array_with_length(env, count, &list) != napi_ok) return NULL;
  for (size_t i = 0; i < count; i++) {
    napi_value entry, nodeid, pid, reason;
    if (napi_create_object(env, &entry) != napi_ok ||
        napi_create_uint32(env, addresses[i].nodeid, &nodeid) != napi_ok ||
        napi_create_uint32(env, addresses[i].pid, &pid) != napi_ok ||
        napi_create_uint32(env, addresses[i].reason, &reason) != napi_ok ||
        napi_set_named_property(env, entry, "nodeId", nodeid) != napi_ok ||
        napi_set_named_property(env, entry, "pid", pid) != napi_ok ||
        napi_set_named_property(env, entry, "reason", reason) != napi_ok ||
        napi_set_element(env, list, (uint32_t)i, entry) != napi_ok) {
      return NULL;
    }
  }
  return list;
}

static int confchg_to_js(napi_env env, const conn_event *base, napi_value *argv) {
  const confchg_event *event = (const confchg_event *)base;
  const struct cpg_address *left = event->addresses + event->members;
  const struct cpg_address *joined = left + event->left;
  if (!(argv[0] = make_addresses(env, event->addresses, event->members)) ||
      !(argv[1] = make_addresses(env, left, event->left)) ||
      !(argv[2] = make_addresses(env, joined, event->joined)) || !(argv[3] = make_group(env, &event->group))) {
    return -1;
  }
  return 4;
}

static conn *context_of(cpg_handle_t handle) {
  void *context = NULL;
  if (cpg_context_get(handle, &context) != CS_OK) return NULL;
  return context;
}

static void on_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
                       void *message, size_t length) {
  conn *c = context_of(handle);
  if (!c) return;
  deliver_event *event = malloc(sizeof *event + length);
  if (!event) {
    conn_fail(c, CS_ERR_NO_MEMORY, "cpg deliver");
    return;
  }
  event->base.listener = "deliver";
  event->base.to_js = deliver_to_js;
  event->group = *group;
  event->nodeid = nodeid;
  event->pid = pid;
  event->length = length;
  memcpy(event->message, message, length);
  conn_queue(c, &event->base);
}

static void on_confchg(cpg_handle_t handle, const struct cpg_name *group, const struct cpg_address *members,
                       size_t member_count, const struct cpg_address *left, size_t left_count,
                       const struct cpg_address *joined, size_t joined_count) {
  conn *c = context_of(handle);
  if (!c) return;
  size_t total = member_count + left_count + joined_count;
  confchg_event *event = malloc(sizeof *event + total * sizeof(struct cpg_address));
  if (!event) {
    conn_fail(c, CS_ERR_NO_MEMORY, "cpg confchg");
    return;
  }
  event->base.listener = "confchg";
  event->base.to_js = confchg_to_js;
  event->group = *group;
  event->members = member_count;
  event->left = left_count;
  event->joined = joined_count;
  memcpy(event->addresses, members, member_count * sizeof *members);
  memcpy(event->addresses + member_count, left, left_count * sizeof *left);
  memcpy(event->addresses + member_count + left_count, joined, joined_count * sizeof *joined);
  conn_queue(c, &event->base);
}

static cs_error_t init(uint64_t *handle, void *context) {
  cpg_model_v1_data_t model = {
      .model = CPG_MODEL_V1,
      .cpg_deliver_fn = on_deliver,
      .cpg_confchg_fn = on_confchg,
  };
  return cpg_model_initialize(handle, CPG_MODEL_V1, (cpg_model_data_t *)&model, context);
}

static cs_error_t fd_get(uint64_t handle, int *fd) {
  return cpg_fd_get(handle, fd);
}

static cs_error_t dispatch(uint64_t handle) {
  return cpg_dispatch(handle, CS_DISPATCH_ALL);
}

static void finalize(uint64_t handle) {
  /* Its result only says whether corosync heard of it; the library lets go of the handle either way. */
  cpg_finalize(handle);
}

static bool get_group(napi_env env, napi_value value, struct cpg_name *group) {
  size_t length;
  memset(group, 0, sizeof *group);
  if (!get_name_arg(env, value, "group", group->value, CPG_MAX_NAME_LENGTH, &length)) return false;
  group->length = (uint32_t)length;
  return true;
}

typedef struct {
  conn_job base;
  struct cpg_name group;
  bool joining;
} group_job;

static cs_error_t run_join_or_leave(uint64_t handle, conn_job *base) {
  group_job *job = (group_job *)base;
  return job->joining ? cpg_join(handle, &job->group) : cpg_leave(handle, &job->group);
}

/* join(group) / leave(group) -> Promise<void>: the handle's membership in a group (CS_ERR_TRY_AGAIN
 * while corosync syncs a membership change). */
static napi_value join_or_leave(napi_env env, napi_callback_info info, bool joining) {
  napi_value argv[1];
  struct cpg_name group;
  conn *c = conn_unwrap(env, info, 1, argv);
  if (!c || !get_group(env, argv[0], &group)) return NULL;
  group_job *job = calloc(1, sizeof *job);
  if (!job) {
    throw_cs_error(env, CS_ERR_NO_MEMORY, joining ? "cpg_join" : "cpg_leave");
    return NULL;
  }
  job->base.run = run_join_or_leave;
  job->base.call = joining ? "cpg_join" : "cpg_leave";
  job->group = group;
  job->joining = joining;
  return conn_submit(env, c, &job->base);
}

static napi_value cpg_join_method(napi_env env, napi_callback_info info) {
  return join_or_leave(env, info, true);
}

static napi_value cpg_leave_method(napi_env env, napi_callback_info info) {
  return join_or_leave(env, info, false);
}

/* mcastJoined(message) -> true when queued for the joined groups in agreed order, false when corosync's
 * flow control asks to try again later (CS_ERR_TRY_AGAIN) or the handle's thread is in a call (the
 * library's request channel is in use). The send never waits; a message above maxMessageSize() is
 * refused (CS_ERR_TOO_BIG). */
static napi_value cpg_mcast_method(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  bool is_buffer = false;
  struct iovec iov;
  conn *c = conn_unwrap(env, info, 1, argv);
  if (!c) return NULL;
  if (napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[0], &iov.iov_base, &iov.iov_len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "message must be a Buffer");
    return NULL;
  }
  /* Bigger messages go out in fragments, each of which waits for corosync's answer. */
  uint32_t max_size;
  cs_error_t sent = cpg_max_atomic_msgsize_get(conn_handle(c), &max_size);
  if (sent == CS_OK && iov.iov_len > max_size) sent = CS_ERR_TOO_BIG;
  if (sent == CS_OK) sent = conn_busy(c) ? CS_ERR_TRY_AGAIN : cpg_mcast_joined(conn_handle(c), CPG_TYPE_AGREED, &iov, 1);
  if (sent != CS_OK && sent != CS_ERR_TRY_AGAIN) {
    throw_cs_error(env, sent, "cpg_mcast_joined");
    return NULL;
  }
  napi_get_boolean(env, sent == CS_OK, &result);
  return result;
}

typedef struct {
  conn_job base;
  unsigned int nodeid;
} local_job;

static cs_error_t run_local(uint64_t handle, conn_job *base) {
  return cpg_local_get(handle, &((local_job *)base)->nodeid);
}

static napi_value local_result(napi_env env, conn_job *base) {
  napi_value result;
  return napi_create_uint32(env, ((local_job *)base)->nodeid, &result) == napi_ok ? result : NULL;
}

/* localGet() -> Promise<number>: this node's corosync node id. */
static napi_value cpg_local_method(napi_env env, napi_callback_info info) {
  conn *c = conn_unwrap(env, info, 0, NULL);
  if (!c) return NULL;
  local_job *job = calloc(1, sizeof *job);
  if (!job) {
    throw_cs_error(env, CS_ERR_NO_MEMORY, "cpg_local_get");
    return NULL;
  }
  job->base.run = run_local;
  job->base.result = local_result;
  job->base.call = "cpg_local_get";
  return conn_submit(env, c, &job->base);
}

typedef struct {
  conn_job base;
  struct cpg_name group;
  int count;
  struct cpg_address members[CPG_MEMBERS_MAX];
} members_job;

static cs_error_t run_membership(uint64_t handle, conn_job *base) {
  members_job *job = (members_job *)base;
  job->count = CPG_MEMBERS_MAX;
  return cpg_membership_get(handle, &job->group, job->members, &job->count);
}

/* The members of a group whether or not this handle joined it, as corosync-cpgtool lists them. */
static cs_error_t run_iteration(uint64_t handle, conn_job *base) {
  members_job *job = (members_job *)base;
  cpg_iteration_handle_t iteration;
  struct cpg_iteration_description_t entry;
  cs_error_t status = cpg_iteration_initialize(handle, CPG_ITERATION_ONE_GROUP, &job->group, &iteration);
  if (status != CS_OK) return status;
  job->count = 0;
  while ((status = cpg_iteration_next(iteration, &entry)) == CS_OK) {
    if (job->count == CPG_MEMBERS_MAX) continue;
    job->members[job->count].nodeid = entry.nodeid;
    job->members[job->count].pid = entry.pid;
    job->members[job->count].reason = 0;
    job->count++;
  }
  cpg_iteration_finalize(iteration);
  return status == CS_ERR_NO_SECTIONS ? CS_OK : status;
}

static napi_value members_result(napi_env env, conn_job *base) {
  members_job *job = (members_job *)base;
  return make_addresses(env, job->members, (size_t)job->count);
}

static napi_value members_method(napi_env env, napi_callback_info info, bool joined) {
  napi_value argv[1];
  const char *call = joined ? "cpg_membership_get" : "cpg_iteration_initialize";
  conn *c = conn_unwrap(env, info, 1, argv);
  if (!c) return NULL;
  members_job *job = calloc(1, sizeof *job);
  if (!job) {
    throw_cs_error(env, CS_ERR_NO_MEMORY, call);
    return NULL;
  }
  if (!get_group(env, argv[0], &job->group)) {
    free(job);
    return NULL;
  }
  job->base.run = joined ? run_membership : run_iteration;
  job->base.result = members_result;
  job->base.call = call;
  return conn_submit(env, c, &job->base);
}

/* membershipGet(group) -> Promise<[{nodeId, pid, reason}]>: a joined group's current members. */
static napi_value cpg_membership_method(napi_env env, napi_callback_info info) {
  return members_method(env, info, true);
}

/* groupMembers(group) -> Promise<[{nodeId, pid, reason: 0}]>: any group's members, without joining it. */
static napi_value cpg_group_members_method(napi_env env, napi_callback_info info) {
  return members_method(env, info, false);
}

/* maxMessageSize() -> the largest message mcastJoined delivers as one piece (the library knows it
 * without asking corosync). */
static napi_value cpg_max_size_method(napi_env env, napi_callback_info info) {
  napi_value result;
  uint32_t size;
  conn *c = conn_unwrap(env, info, 0, NULL);
  if (!c) return NULL;
  cs_error_t status = cpg_max_atomic_msgsize_get(conn_handle(c), &size);
  if (status != CS_OK) {
    throw_cs_error(env, status, "cpg_max_atomic_msgsize_get");
    return NULL;
  }
  napi_create_uint32(env, size, &result);
  return result;
}

static const char *const listeners[] = {"deliver", "confchg", "error", NULL};

static const conn_ops ops = {
    .class_name = "Cpg",
    .listeners = listeners,
    .init_call = "cpg_initialize",
    .dispatch_call = "cpg_dispatch",
    .init = init,
    .fd_get = fd_get,
    .dispatch = dispatch,
    .finalize = finalize,
};

napi_status cpg_define(napi_env env, napi_value *constructor) {
  napi_property_descriptor methods[] = {
      {"join", NULL, cpg_join_method, NULL, NULL, NULL, napi_default_method, NULL},
      {"leave", NULL, cpg_leave_method, NULL, NULL, NULL, napi_default_method, NULL},
      {"mcastJoined", NULL, cpg_mcast_method, NULL, NULL, NULL, napi_default_method, NULL},
      {"localGet", NULL, cpg_local_method, NULL, NULL, NULL, napi_default_method, NULL},
      {"membershipGet", NULL, cpg_membership_method, NULL, NULL, NULL, napi_default_method, NULL},
      {"groupMembers", NULL, cpg_group_members_method, NULL, NULL, NULL, napi_default_method, NULL},
      {"maxMessageSize", NULL, cpg_max_size_method, NULL, NULL, NULL, napi_default_method, NULL},
  };
  return conn_define_class(env, &ops, methods, sizeof methods / sizeof methods[0], constructor);
}
