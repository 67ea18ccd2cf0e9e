#include "conn.h"

#include <stdlib.h>

#include "errors.h"

struct conn {
  napi_env env;
  const conn_ops *ops;
  uint64_t handle;
  int fd;           /* the library's IPC fd; -1 once finalized */
  uv_poll_t poll;
  bool open;        /* the library handle is live and the poller initialised */
  bool polling;
  bool uv_closed;
  bool collected;   /* the JS object is gone (garbage-collected or environment teardown) */
  bool draining;    /* listeners are being called from the queue */
  bool async_destroy_pending;
  cs_error_t error; /* reported to error() after the queue; CS_OK when there is none */
  const char *error_call;
  conn_event *head;
  conn_event *tail;
  /* Strong while open: a handle that is still being polled must not be garbage-collected. */
  napi_ref self;
  napi_ref listeners;
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
};

void conn_queue(conn *c, conn_event *event) {
  event->next = NULL;
  if (c->tail) c->tail->next = event;
  else c->head = event;
  c->tail = event;
}

void conn_fail(conn *c, cs_error_t error, const char *call) {
  if (c->error != CS_OK) return; /* the first failure is the one to report */
  c->error = error;
  c->error_call = call;
}

uint64_t conn_handle(const conn *c) {
  return c->handle;
}

static void drop_events(conn *c) {
  while (c->head) {
    conn_event *next = c->head->next;
    free(c->head);
    c->head = next;
  }
  c->tail = NULL;
  c->error = CS_OK;
}

static void on_uv_closed(uv_handle_t *poll) {
  conn *c = poll->data;
  c->uv_closed = true;
  if (c->cleanup) {
    napi_remove_async_cleanup_hook(c->cleanup);
    c->cleanup = NULL;
  }
  if (c->collected) free(c);
}

static void close_native(conn *c) {
  if (!c->open) return;
  c->open = false;
  c->polling = false;
  /* uv_close takes the fd out of epoll at once, before the library closes it and the number can be
   * reused; the close callback follows on the loop. */
  uv_close((uv_handle_t *)&c->poll, on_uv_closed);
  c->ops->finalize(c->handle);
  c->fd = -1;
  drop_events(c);
}

/* Lets go of the JS side once the library handle is closed: listeners, async context, self. */
static void release_js(napi_env env, conn *c) {
  if (c->listeners) {
    napi_delete_reference(env, c->listeners);
    c->listeners = NULL;
  }
  if (c->async) {
    /* A listener that finalizes runs inside napi_make_callback on this context: destroy it after. */
    if (c->draining) {
      c->async_destroy_pending = true;
    } else {
      napi_async_destroy(env, c->async);
      c->async = NULL;
    }
  }
  if (c->self) napi_reference_unref(env, c->self, NULL); /* collectable from now on */
}

/* Environment teardown (process exit, worker end): close the poller so the loop can be closed. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  close_native(arg); /* on_uv_closed removes the hook */
}

static void on_collect(napi_env env, void *data, void *hint) {
  (void)hint;
  conn *c = data;
  c->collected = true;
  /* Only reached while open at environment teardown: the strong self reference prevents it before. */
  close_native(c);
  if (c->listeners) napi_delete_reference(env, c->listeners);
  if (c->self) napi_delete_reference(env, c->self);
  c->listeners = c->self = NULL;
  if (c->uv_closed) free(c);
}

static void report_exception(napi_env env) {
  bool pending = false;
  napi_value exception;
  /* Nothing up the stack can catch it here: hand it to process 'uncaughtException'. */
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &exception) == napi_ok) {
    napi_fatal_exception(env, exception);
  }
}

static void call_listener(conn *c, const char *name, int argc, napi_value *argv) {
  napi_env env = c->env;
  napi_value listeners, callback;
  if (napi_get_reference_value(env, c->listeners, &listeners) != napi_ok ||
      napi_get_named_property(env, listeners, name, &callback) != napi_ok ||
      napi_make_callback(env, c->async, listeners, callback, (size_t)argc, argv, NULL) != napi_ok) {
    report_exception(env);
  }
}

/* Calls the listeners for what the dispatch queued, then error() if the connection failed. A listener
 * may finalize the handle; what is left is then dropped. */
static void drain(conn *c) {
  napi_env env = c->env;
  c->draining = true;
  while (c->open && (c->head || c->error != CS_OK)) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) break;
    napi_value argv[CONN_MAX_ARGS];
    const char *listener = "error";
    int argc;
    conn_event *event = c->head;
    if (event) {
      c->head = event->next;
      if (!c->head) c->tail = NULL;
      listener = event->listener;
      argc = event->to_js(env, event, argv);
      free(event);
    } else {
      argv[0] = make_cs_error(env, c->error, c->error_call);
      argc = argv[0] ? 1 : -1;
      c->error = CS_OK;
    }
    if (argc >= 0) call_listener(c, listener, argc, argv);
    else report_exception(env);
    napi_close_handle_scope(env, scope);
  }
  c->draining = false;
  if (c->async_destroy_pending) {
    c->async_destroy_pending = false;
    napi_async_destroy(env, c->async);
    c->async = NULL;
  }
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  (void)events;
  conn *c = poll->data;
  if (!c->open) return;
  if (status < 0) {
    conn_fail(c, CS_ERR_LIBRARY, "uv_poll");
  } else {
    cs_error_t result = c->ops->dispatch(c->handle);
    if (result != CS_OK) conn_fail(c, result, c->ops->dispatch_call);
  }
  if (c->error != CS_OK && c->polling) {
    /* The connection is gone; an fd left in the poller would report a hang-up forever. */
    uv_poll_stop(&c->poll);
    c->polling = false;
  }
  drain(c);
}

static napi_value conn_construct(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, name;
  const conn_ops *ops;
  if (napi_get_cb_info(env, info, &argc, argv, &self, (void **)&ops) != napi_ok) return NULL;
  if (argc < 1) napi_get_undefined(env, &argv[0]);
  for (const char *const *listener = ops->listeners; *listener; listener++) {
    if (!check_listener(env, argv[0], *listener)) return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    throw_napi_failure(env, "napi_get_uv_event_loop");
    return NULL;
  }
  conn *c = calloc(1, sizeof *c);
  if (!c) {
    throw_cs_error(env, CS_ERR_NO_MEMORY, ops->init_call);
    return NULL;
  }
  c->env = env;
  c->ops = ops;
  c->fd = -1;
  c->error = CS_OK;

  cs_error_t result = ops->init(&c->handle, c);
  if (result != CS_OK) {
    free(c);
    throw_cs_error(env, result, ops->init_call);
    return NULL;
  }
  int fd;
  result = ops->fd_get(c->handle, &fd);
  int rc = result == CS_OK ? uv_poll_init(loop, &c->poll, fd) : 0;
  if (result != CS_OK || rc < 0) {
    ops->finalize(c->handle);
    free(c);
    if (result != CS_OK) {
      throw_cs_error(env, result, "fd_get");
    } else {
      napi_throw_error(env, "ERR_CPG_POLL", uv_strerror(rc));
    }
    return NULL;
  }
  c->fd = fd;
  c->poll.data = c;
  c->open = true;

  if (napi_wrap(env, self, c, on_collect, NULL, NULL) != napi_ok) {
    c->collected = true; /* no JS object owns it: free once libuv lets go */
    close_native(c);
    throw_napi_failure(env, "napi_wrap");
    return NULL;
  }
  /* From here on_collect owns c: failures below close the handle and leave freeing to it. */
  if (napi_create_reference(env, self, 1, &c->self) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &c->listeners) != napi_ok ||
      napi_create_string_utf8(env, ops->class_name, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &c->async) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_env_cleanup, c, &c->cleanup) != napi_ok) {
    close_native(c);
    release_js(env, c);
    throw_napi_failure(env, ops->class_name);
    return NULL;
  }
  rc = uv_poll_start(&c->poll, UV_READABLE, on_poll);
  if (rc < 0) {
    close_native(c);
    release_js(env, c);
    napi_throw_error(env, "ERR_CPG_POLL", uv_strerror(rc));
    return NULL;
  }
  c->polling = true;
  return self;
}

conn *conn_unwrap(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  napi_value self;
  conn *c;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, (void **)&c) != napi_ok) {
    throw_napi_failure(env, "unwrap");
    return NULL;
  }
  for (size_t i = argc; i < n; i++) napi_get_undefined(env, &argv[i]);
  if (!c->open) {
    throw_cs_error(env, CS_ERR_BAD_HANDLE, "(handle already finalized)");
    return NULL;
  }
  return c;
}

static conn *unwrap_any(napi_env env, napi_callback_info info) {
  napi_value self;
  conn *c;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, (void **)&c) != napi_ok) {
    throw_napi_failure(env, "unwrap");
    return NULL;
  }
  return c;
}

/* fd() -> the IPC fd the poller watches, -1 once finalized. */
static napi_value conn_fd(napi_env env, napi_callback_info info) {
  conn *c = unwrap_any(env, info);
  napi_value result;
  if (!c || napi_create_int32(env, c->fd, &result) != napi_ok) return NULL;
  return result;
}

/* finalize(): closes the poller and the library handle (corosync drops it from its groups); idempotent. */
static napi_value conn_finalize(napi_env env, napi_callback_info info) {
  conn *c = unwrap_any(env, info);
  if (!c || !c->open) return NULL;
  close_native(c);
  release_js(env, c);
  return NULL;
}

napi_status conn_define_class(napi_env env, const conn_ops *ops, const napi_property_descriptor *methods,
                              size_t method_count, napi_value *constructor) {
  napi_property_descriptor all[16] = {
      {"fd", NULL, conn_fd, NULL, NULL, NULL, napi_default_method, NULL},
      {"finalize", NULL, conn_finalize, NULL, NULL, NULL, napi_default_method, NULL},
  };
  size_t count = 2;
  if (method_count > sizeof all / sizeof all[0] - count) return napi_invalid_arg;
  for (size_t i = 0; i < method_count; i++) all[count++] = methods[i];
  return napi_define_class(env, ops->class_name, NAPI_AUTO_LENGTH, conn_construct, (void *)ops, count, all,
                           constructor);
}
