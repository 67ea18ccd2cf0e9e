/* conn: one corosync client library handle (cpg or votequorum) plus the libuv poller that watches its
 * IPC fd on Node's own loop. On readability the library's dispatch runs with CS_DISPATCH_ALL, which
 * never waits; the library callbacks only queue copies of what they were given, and the queue is
 * turned into JS calls after the dispatch has returned, so JS never runs inside the library and may
 * call any method (finalize too) from a listener. No threads. */
#ifndef FENCE_CPG_CONN_H
#define FENCE_CPG_CONN_H

#include <corosync/corotypes.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define CONN_MAX_ARGS 4

typedef struct conn_event conn_event;
struct conn_event {
  conn_event *next;
  /* The listener to call, a property of the listeners object given to the constructor. */
  const char *listener;
  /* Fills argv (at most CONN_MAX_ARGS values) and returns how many; returns -1 with an exception
   * pending when a Node-API call failed. */
  int (*to_js)(napi_env env, const conn_event *event, napi_value *argv);
  /* The event is one malloc'd block, released with free(). */
};

typedef struct {
  const char *class_name;
  const char *const *listeners; /* NULL-terminated; each must be a function of the listeners object */
  const char *init_call;
  const char *dispatch_call;
  /* Connects to corosync; `context` is the conn, for the library callbacks to find it. */
  cs_error_t (*init)(uint64_t *handle, void *context);
  cs_error_t (*fd_get)(uint64_t handle, int *fd);
  cs_error_t (*dispatch)(uint64_t handle);
  void (*finalize)(uint64_t handle);
} conn_ops;

typedef struct conn conn;

/* For the library callbacks: queue a copy (ownership moves to the conn). */
void conn_queue(conn *c, conn_event *event);
/* For the library callbacks: something could not be kept (out of memory). The conn reports `error`
 * to the listeners' error() after this dispatch and stops polling, as the stream has a gap. */
void conn_fail(conn *c, cs_error_t error, const char *call);

/* Defines a class whose constructor takes the listeners object and connects through ops->init.
 * `methods` are added to the conn's own (fd, finalize). */
napi_status conn_define_class(napi_env env, const conn_ops *ops, const napi_property_descriptor *methods,
                              size_t method_count, napi_value *constructor);

/* For methods: unwraps `this` and up to n arguments (missing ones undefined); throws CS_ERR_BAD_HANDLE
 * when the handle was finalized. */
conn *conn_unwrap(napi_env env, napi_callback_info info, size_t n, napi_value *argv);
uint64_t conn_handle(const conn *c);

#endif
