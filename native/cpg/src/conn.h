/* conn: one corosync client library handle (cpg or votequorum), the libuv poller that watches its IPC
 * fd on Node's own loop, and the handle's own thread for the library calls that wait for corosync.
 *
 * Dispatch runs on the loop: on readability the library's dispatch runs with CS_DISPATCH_ALL, which
 * never waits; the library callbacks only queue copies of what they were given, and the queue is turned
 * into JS calls after the dispatch has returned, so JS never runs inside the library and may call any
 * method (finalize too) from a listener.
 *
 * Request-reply calls (connect, join, quorum info, finalize, ...) wait for the local corosync without a
 * limit (libqb's infinite IPC timeout): a stopped corosync would hold them forever. They run one after
 * another on the handle's thread and settle a promise on the loop, so the loop never waits and the
 * caller can put a deadline on the promise. A call stuck in a stopped corosync holds only that thread;
 * finalize is queued behind it, and the thread ends once corosync answers or dies. A call under way
 * keeps the process alive like any I/O, until the handle is finalized; after that nothing of the
 * handle does (a thread still stuck in a stopped corosync ends with the process). */
#ifndef FENCE_CPG_CONN_H
#define FENCE_CPG_CONN_H

#include <corosync/corotypes.h>
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
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

/* A library call for the handle's thread. Embed it first in a malloc'd struct holding the arguments
 * and results; conn_submit takes ownership and frees it after settling its promise. */
typedef struct conn_job conn_job;
struct conn_job {
  conn_job *next;
  /* On the handle's thread: the call itself, which may wait for corosync. */
  cs_error_t (*run)(uint64_t handle, conn_job *job);
  /* On the loop, after success: the value the promise resolves to (NULL: undefined; NULL with an
   * exception pending: rejected with it). */
  napi_value (*result)(napi_env env, conn_job *job);
  const char *call;
  /* Filled in by conn. */
  cs_error_t status;
  napi_deferred deferred;
  int kind;
};

typedef struct {
  const char *class_name;
  const char *const *listeners; /* NULL-terminated; each must be a function of the listeners object */
  const char *init_call;
  const char *dispatch_call;
  /* Connects to corosync (on the handle's thread); `context` is the conn, for the library callbacks. */
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

/* Defines a class whose constructor takes the listeners object (no I/O) and whose connect() connects
 * through ops->init. `methods` are added to the conn's own (connect, fd, finalize). */
napi_status conn_define_class(napi_env env, const conn_ops *ops, const napi_property_descriptor *methods,
                              size_t method_count, napi_value *constructor);

/* For methods: unwraps `this` and up to n arguments (missing ones undefined); throws CS_ERR_BAD_HANDLE
 * unless the handle is connected and not finalized. */
conn *conn_unwrap(napi_env env, napi_callback_info info, size_t n, napi_value *argv);
uint64_t conn_handle(const conn *c);
/* Whether a job is queued or running: the library's request channel is in use by the handle's thread. */
bool conn_busy(const conn *c);

/* Queues `job` (malloc'd, freed by conn) for the handle's thread; returns its promise, or NULL with an
 * exception pending. */
napi_value conn_submit(napi_env env, conn *c, conn_job *job);

#endif
