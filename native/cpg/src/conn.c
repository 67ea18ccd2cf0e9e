#include "conn.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "errors.h"

enum { JOB_CALL, JOB_CONNECT, JOB_FINALIZE };
enum { STATE_NEW, STATE_CONNECTING, STATE_CONNECTED, STATE_FINALIZED };

typedef struct {
  conn_job base;
  int fd;
} connect_job;

struct conn {
  napi_env env;
  uv_loop_t *loop;
  const conn_ops *ops;
  /* Written by the thread's connect job and read on the loop once that job has settled (the lock
   * orders the two); has_handle is the thread's own. */
  uint64_t handle;
  bool has_handle;

  /* Shared with the thread, under lock. */
  pthread_mutex_t lock;
  pthread_cond_t wake_thread;
  conn_job *todo_head, *todo_tail;
  conn_job *done_head, *done_tail;
  bool stop;         /* the thread ends once nothing is left to do */
  bool thread_ended;
  bool wake_live;    /* uv_async_send on wake_loop is allowed */
  int refs;          /* the JS wrapper, the thread, wake_loop, the poller: freed when all let go */

  /* The loop's own. */
  uv_async_t wake_loop;
  uv_poll_t poll;
  int fd;            /* the library's IPC fd while connected; -1 otherwise */
  int state;
  int busy;          /* jobs submitted and not yet settled */
  int uv_handles;    /* uv handles initialised and not yet closed */
  bool wake_open;
  bool poll_open;
  bool polling;
  bool tearing_down;
  cs_error_t error;  /* reported to error() after the queue; CS_OK when there is none */
  const char *error_call;
  conn_event *head;
  conn_event *tail;
  /* Strong until finalized: a handle that may still call listeners must not be garbage-collected. */
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

bool conn_busy(const conn *c) {
  return c->busy > 0;
}

static void conn_unref(conn *c) {
  pthread_mutex_lock(&c->lock);
  bool last = --c->refs == 0;
  pthread_mutex_unlock(&c->lock);
  if (!last) return;
  pthread_mutex_destroy(&c->lock);
  pthread_cond_destroy(&c->wake_thread);
  free(c);
}

static void append(conn_job **head, conn_job **tail, conn_job *job) {
  job->next = NULL;
  if (*tail) (*tail)->next = job;
  else *head = job;
  *tail = job;
}

/* ---- the handle's thread ---- */

static void run_job(conn *c, conn_job *job) {
  switch (job->kind) {
    case JOB_CONNECT: {
      job->status = c->ops->init(&c->handle, c);
      if (job->status != CS_OK) return;
      job->status = c->ops->fd_get(c->handle, &((connect_job *)job)->fd);
      if (job->status == CS_OK) c->has_handle = true;
      else c->ops->finalize(c->handle);
      return;
    }
    case JOB_FINALIZE:
      if (c->has_handle) c->ops->finalize(c->handle);
      c->has_handle = false;
      job->status = CS_OK;
      return;
    default:
      job->status = c->has_handle ? job->run(c->handle, job) : CS_ERR_BAD_HANDLE;
  }
}

static void *thread_main(void *arg) {
  conn *c = arg;
  pthread_mutex_lock(&c->lock);
  for (;;) {
    while (!c->todo_head && !c->stop) pthread_cond_wait(&c->wake_thread, &c->lock);
    conn_job *job = c->todo_head;
    if (!job) break;
    c->todo_head = job->next;
    if (!c->todo_head) c->todo_tail = NULL;
    pthread_mutex_unlock(&c->lock);
    run_job(c, job);
    pthread_mutex_lock(&c->lock);
    append(&c->done_head, &c->done_tail, job);
    if (c->wake_live) uv_async_send(&c->wake_loop);
  }
  if (c->has_handle) {
    /* Told to stop without a finalize job (none could be allocated, or teardown): the library still
     * lets go of its connection. */
    pthread_mutex_unlock(&c->lock);
    c->ops->finalize(c->handle);
    c->has_handle = false;
    pthread_mutex_lock(&c->lock);
  }
  c->thread_ended = true;
  if (c->wake_live) uv_async_send(&c->wake_loop);
  pthread_mutex_unlock(&c->lock);
  conn_unref(c);
  return NULL;
}

/* ---- the loop ---- */

static void drop_events(conn *c) {
  while (c->head) {
    conn_event *next = c->head->next;
    free(c->head);
    c->head = next;
  }
  c->tail = NULL;
  c->error = CS_OK;
}

static void uv_handle_gone(conn *c) {
  if (--c->uv_handles == 0 && c->cleanup) {
    napi_remove_async_cleanup_hook(c->cleanup);
    c->cleanup = NULL;
  }
  conn_unref(c);
}

static void on_poll_closed(uv_handle_t *handle) {
  uv_handle_gone(handle->data);
}

static void on_wake_closed(uv_handle_t *handle) {
  conn *c = handle->data;
  /* At environment teardown Node-API may no longer be used; the process is ending anyway. */
  if (!c->tearing_down && c->async) napi_async_destroy(c->env, c->async);
  c->async = NULL;
  uv_handle_gone(c);
}

static void close_poll(conn *c) {
  if (!c->poll_open) return;
  c->poll_open = false;
  c->polling = false;
  /* uv_close takes the fd out of epoll at once, before the thread's finalize closes it and the number
   * can be reused; the close callback follows on the loop. */
  uv_close((uv_handle_t *)&c->poll, on_poll_closed);
}

static void close_wake(conn *c) {
  if (!c->wake_open) return;
  c->wake_open = false;
  pthread_mutex_lock(&c->lock);
  c->wake_live = false;
  pthread_mutex_unlock(&c->lock);
  uv_close((uv_handle_t *)&c->wake_loop, on_wake_closed);
}

/* A call under way keeps the process alive, as any I/O does; nothing does once the handle is finalized
 * (its finalize, and any call a stopped corosync holds, are left to end with the process). */
static void update_ref(conn *c) {
  if (!c->wake_open) return;
  if (c->busy > 0 && c->state != STATE_FINALIZED) uv_ref((uv_handle_t *)&c->wake_loop);
  else uv_unref((uv_handle_t *)&c->wake_loop);
}

/* Hands `job` to the thread (or, with stop, tells it to end after what it has). */
static void submit(conn *c, conn_job *job, bool stop) {
  pthread_mutex_lock(&c->lock);
  if (job) append(&c->todo_head, &c->todo_tail, job);
  if (stop) c->stop = true;
  pthread_cond_signal(&c->wake_thread);
  pthread_mutex_unlock(&c->lock);
}

/* Lets go of the listeners and makes the JS object collectable; no listener is called after this. */
static void release_js(napi_env env, conn *c) {
  if (c->listeners) {
    napi_delete_reference(env, c->listeners);
    c->listeners = NULL;
  }
  if (c->self) napi_reference_unref(env, c->self, NULL);
}

/* Stops polling and queues the library's finalize behind whatever the thread is doing; the thread ends
 * after it. `deferred` (may be NULL) settles once the library has let go. */
static void finalize_conn(napi_env env, conn *c, napi_deferred deferred) {
  c->state = STATE_FINALIZED;
  close_poll(c);
  c->fd = -1;
  drop_events(c);
  conn_job *job = calloc(1, sizeof *job);
  if (job) {
    job->kind = JOB_FINALIZE;
    job->call = "finalize";
    job->deferred = deferred;
    c->busy++;
  } else if (deferred) {
    /* The thread still finalizes before it ends (thread_main, on stop); only the promise settles early. */
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, deferred, undefined);
  }
  submit(c, job, true);
  update_ref(c);
  release_js(env, c);
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
  while (c->state == STATE_CONNECTED && (c->head || c->error != CS_OK)) {
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
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  (void)events;
  conn *c = poll->data;
  if (c->state != STATE_CONNECTED) return;
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

/* The connect job is back: start polling, unless finalize came first or connecting failed. Returns
 * the error to reject with, or NULL. */
static napi_value connected(napi_env env, conn *c, connect_job *job) {
  if (job->base.status != CS_OK) {
    if (c->state != STATE_FINALIZED) finalize_conn(env, c, NULL); /* nothing to keep */
    return make_cs_error(env, job->base.status, c->ops->init_call);
  }
  if (c->state == STATE_FINALIZED) {
    return make_cs_error(env, CS_ERR_BAD_HANDLE, "(finalized while connecting)");
  }
  int rc = uv_poll_init(c->loop, &c->poll, job->fd);
  if (rc == 0) {
    c->poll.data = c;
    c->poll_open = true;
    c->uv_handles++;
    pthread_mutex_lock(&c->lock);
    c->refs++;
    pthread_mutex_unlock(&c->lock);
    rc = uv_poll_start(&c->poll, UV_READABLE, on_poll);
  }
  if (rc < 0) {
    finalize_conn(env, c, NULL);
    napi_value code, message, err;
    napi_create_string_utf8(env, "ERR_CPG_POLL", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, uv_strerror(rc), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, code, message, &err);
    return err;
  }
  c->fd = job->fd;
  c->polling = true;
  c->state = STATE_CONNECTED;
  return NULL;
}

static void settle(napi_env env, conn *c, conn_job *job) {
  c->busy--;
  napi_value error = NULL, value = NULL;
  if (job->kind == JOB_CONNECT) {
    error = connected(env, c, (connect_job *)job);
  } else if (job->status != CS_OK) {
    error = make_cs_error(env, job->status, job->call);
  } else if (job->result) {
    value = job->result(env, job);
    bool pending = false;
    if (!value && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      napi_get_and_clear_last_exception(env, &error);
    }
  }
  if (job->deferred) {
    if (error) {
      napi_reject_deferred(env, job->deferred, error);
    } else {
      if (!value) napi_get_undefined(env, &value);
      napi_resolve_deferred(env, job->deferred, value);
    }
  }
  free(job);
}

static void on_wake(uv_async_t *handle) {
  conn *c = handle->data;
  napi_env env = c->env;
  pthread_mutex_lock(&c->lock);
  conn_job *job = c->done_head;
  c->done_head = c->done_tail = NULL;
  bool ended = c->thread_ended;
  pthread_mutex_unlock(&c->lock);

  if (job && !c->tearing_down) {
    napi_handle_scope scope;
    napi_callback_scope callback_scope;
    napi_value resource;
    /* A callback scope, so that promise reactions run when it closes, as after any other I/O. */
    if (napi_open_handle_scope(env, &scope) == napi_ok) {
      bool in_callback = napi_create_object(env, &resource) == napi_ok &&
                         napi_open_callback_scope(env, resource, c->async, &callback_scope) == napi_ok;
      while (job) {
        conn_job *next = job->next;
        settle(env, c, job);
        job = next;
      }
      if (in_callback) napi_close_callback_scope(env, callback_scope);
      napi_close_handle_scope(env, scope);
    }
  }
  while (job) { /* teardown, or no handle scope: nobody can be told, but the job is over */
    conn_job *next = job->next;
    c->busy--;
    free(job);
    job = next;
  }
  update_ref(c);
  if (ended) close_wake(c);
}

/* Environment teardown (process exit, worker end): close the uv handles so the loop can be closed; a
 * thread stuck in a stopped corosync is left behind and ends with the process. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  conn *c = arg;
  (void)hook;
  c->tearing_down = true;
  close_poll(c);
  submit(c, NULL, true);
  close_wake(c);
}

static void on_collect(napi_env env, void *data, void *hint) {
  (void)hint;
  conn *c = data;
  /* Only reached before finalize at environment teardown: the strong self reference prevents it. */
  if (c->state != STATE_FINALIZED) {
    c->state = STATE_FINALIZED;
    close_poll(c);
    drop_events(c);
    submit(c, NULL, true);
  }
  if (c->listeners) napi_delete_reference(env, c->listeners);
  if (c->self) napi_delete_reference(env, c->self);
  c->listeners = c->self = NULL;
  conn_unref(c);
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
    throw_cs_error(env, CS_ERR_NO_MEMORY, ops->class_name);
    return NULL;
  }
  c->env = env;
  c->loop = loop;
  c->ops = ops;
  c->fd = -1;
  c->error = CS_OK;
  c->state = STATE_NEW;
  if (pthread_mutex_init(&c->lock, NULL) != 0) {
    free(c);
    throw_cs_error(env, CS_ERR_NO_RESOURCES, ops->class_name);
    return NULL;
  }
  if (pthread_cond_init(&c->wake_thread, NULL) != 0) {
    pthread_mutex_destroy(&c->lock);
    free(c);
    throw_cs_error(env, CS_ERR_NO_RESOURCES, ops->class_name);
    return NULL;
  }
  c->refs = 1; /* the JS wrapper, from napi_wrap on */
  if (napi_wrap(env, self, c, on_collect, NULL, NULL) != napi_ok) {
    c->state = STATE_FINALIZED;
    conn_unref(c);
    throw_napi_failure(env, "napi_wrap");
    return NULL;
  }
  /* From here on_collect owns the wrapper's reference. */
  if (napi_create_reference(env, self, 1, &c->self) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &c->listeners) != napi_ok ||
      napi_create_string_utf8(env, ops->class_name, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &c->async) != napi_ok) {
    c->state = STATE_FINALIZED;
    release_js(env, c);
    throw_napi_failure(env, ops->class_name);
    return NULL;
  }
  int rc = uv_async_init(loop, &c->wake_loop, on_wake);
  if (rc < 0) {
    c->state = STATE_FINALIZED;
    release_js(env, c);
    napi_throw_error(env, "ERR_CPG_THREAD", uv_strerror(rc));
    return NULL;
  }
  c->wake_loop.data = c;
  /* Referenced only while a call is under way (update_ref). */
  uv_unref((uv_handle_t *)&c->wake_loop);
  c->wake_open = c->wake_live = true;
  c->uv_handles = 1;
  c->refs++;

  pthread_attr_t attr;
  sigset_t all, previous;
  pthread_t thread;
  sigfillset(&all);
  /* Signals are the main thread's business: the thread starts with all of them blocked. */
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  rc = pthread_attr_init(&attr);
  if (rc == 0) {
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    c->refs++;
    rc = pthread_create(&thread, &attr, thread_main, c);
    if (rc != 0) c->refs--;
    pthread_attr_destroy(&attr);
  }
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  if (rc != 0 || napi_add_async_cleanup_hook(env, on_env_cleanup, c, &c->cleanup) != napi_ok) {
    c->state = STATE_FINALIZED;
    if (rc == 0) submit(c, NULL, true); /* the thread ends and closes wake_loop through on_wake */
    else close_wake(c);
    release_js(env, c);
    napi_throw_error(env, "ERR_CPG_THREAD", rc != 0 ? "cannot start the handle's thread" : "cleanup hook");
    return NULL;
  }
  return self;
}

static conn *unwrap_any(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  napi_value self;
  conn *c;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, (void **)&c) != napi_ok) {
    throw_napi_failure(env, "unwrap");
    return NULL;
  }
  for (size_t i = argc; i < n; i++) napi_get_undefined(env, &argv[i]);
  return c;
}

conn *conn_unwrap(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  conn *c = unwrap_any(env, info, n, argv);
  if (!c) return NULL;
  if (c->state != STATE_CONNECTED) {
    throw_cs_error(env, CS_ERR_BAD_HANDLE,
                   c->state == STATE_FINALIZED ? "(handle already finalized)" : "(not connected yet)");
    return NULL;
  }
  return c;
}

napi_value conn_submit(napi_env env, conn *c, conn_job *job) {
  napi_value promise;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    free(job);
    throw_napi_failure(env, "napi_create_promise");
    return NULL;
  }
  c->busy++;
  submit(c, job, false);
  update_ref(c);
  return promise;
}

/* connect() -> Promise<void>: connects to the local corosync on the handle's thread, then polls. */
static napi_value conn_connect(napi_env env, napi_callback_info info) {
  conn *c = unwrap_any(env, info, 0, NULL);
  if (!c) return NULL;
  if (c->state != STATE_NEW) {
    throw_cs_error(env, c->state == STATE_FINALIZED ? CS_ERR_BAD_HANDLE : CS_ERR_EXIST, "connect");
    return NULL;
  }
  connect_job *job = calloc(1, sizeof *job);
  if (!job) {
    throw_cs_error(env, CS_ERR_NO_MEMORY, "connect");
    return NULL;
  }
  job->base.kind = JOB_CONNECT;
  job->base.call = c->ops->init_call;
  job->fd = -1;
  c->state = STATE_CONNECTING;
  return conn_submit(env, c, &job->base);
}

/* fd() -> the IPC fd the poller watches, -1 unless connected. */
static napi_value conn_fd(napi_env env, napi_callback_info info) {
  conn *c = unwrap_any(env, info, 0, NULL);
  napi_value result;
  if (!c || napi_create_int32(env, c->fd, &result) != napi_ok) return NULL;
  return result;
}

/* finalize() -> Promise<void>: stops polling at once (no listener is called after it) and lets the
 * library go on the handle's thread; the promise settles when it has. Idempotent. */
static napi_value conn_finalize(napi_env env, napi_callback_info info) {
  conn *c = unwrap_any(env, info, 0, NULL);
  napi_value promise, undefined;
  napi_deferred deferred;
  if (!c || napi_create_promise(env, &deferred, &promise) != napi_ok) return NULL;
  if (c->state == STATE_FINALIZED) {
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, deferred, undefined);
  } else {
    finalize_conn(env, c, deferred);
  }
  return promise;
}

napi_status conn_define_class(napi_env env, const conn_ops *ops, const napi_property_descriptor *methods,
                              size_t method_count, napi_value *constructor) {
  napi_property_descriptor all[16] = {
      {"connect", NULL, conn_connect, NULL, NULL, NULL, napi_default_method, NULL},
      {"fd", NULL, conn_fd, NULL, NULL, NULL, napi_default_method, NULL},
      {"finalize", NULL, conn_finalize, NULL, NULL, NULL, napi_default_method, NULL},
  };
  size_t count = 3;
  if (method_count > sizeof all / sizeof all[0] - count) return napi_invalid_arg;
  for (size_t i = 0; i < method_count; i++) all[count++] = methods[i];
  return napi_define_class(env, ops->class_name, NAPI_AUTO_LENGTH, conn_construct, (void *)ops, count, all,
                           constructor);
}
