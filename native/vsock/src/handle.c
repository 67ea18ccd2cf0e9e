#include "handle.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include <linux/vm_sockets.h>

#include "errors.h"

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;        /* -1 once closed */
  bool is_socket;
  int events;    /* UV_READABLE | UV_WRITABLE currently watched; 0 = poller stopped */
  bool closing;  /* uv_close called */
  bool uv_closed;
  bool finalized;
  /* Strong while open: an fd that is still being polled must not be garbage-collected. */
  napi_ref self;
  napi_ref on_event;
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
} handle;

/* What the addon's functions hand to the constructor; JS cannot create externals, so it cannot
 * construct a Handle around an arbitrary fd. */
typedef struct {
  int fd;
} handle_init_args;

typedef struct {
  napi_ref constructor;
} addon_data;

static void on_uv_closed(uv_handle_t *poll) {
  handle *h = poll->data;
  h->uv_closed = true;
  if (h->cleanup) {
    napi_remove_async_cleanup_hook(h->cleanup);
    h->cleanup = NULL;
  }
  if (h->finalized) free(h);
}

static void close_native(handle *h) {
  if (h->closing) return;
  h->closing = true;
  /* Stopping first takes the fd out of epoll before close(2) can let the number be reused. */
  uv_poll_stop(&h->poll);
  close(h->fd);
  h->fd = -1;
  h->events = 0;
  uv_close((uv_handle_t *)&h->poll, on_uv_closed);
}

/* Environment teardown (process exit, worker end): close the poller so the loop can be closed. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  close_native(arg); /* on_uv_closed removes the hook */
}

static void on_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  handle *h = data;
  h->finalized = true;
  /* Only reached while open at environment teardown: the strong self reference prevents it before. */
  close_native(h);
  napi_delete_reference(env, h->self);
  h->self = NULL;
  if (h->uv_closed) free(h);
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  handle *h = poll->data;
  napi_env env = h->env;
  if (status < 0) h->events = 0; /* libuv stops a poller that reports an error */

  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[3], self, callback;
  if (status < 0) {
    argv[0] = make_errno_error(env, -status, "poll", NULL);
  } else {
    napi_get_null(env, &argv[0]);
  }
  napi_get_boolean(env, (events & UV_READABLE) != 0, &argv[1]);
  napi_get_boolean(env, (events & UV_WRITABLE) != 0, &argv[2]);
  if (argv[0] && napi_get_reference_value(env, h->self, &self) == napi_ok &&
      napi_get_reference_value(env, h->on_event, &callback) == napi_ok &&
      napi_make_callback(env, h->async, self, callback, 3, argv, NULL) == napi_pending_exception) {
    /* Nothing up the stack can catch it here: hand it to process 'uncaughtException'. */
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
}

static napi_value handle_construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  handle_init_args *args = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  if (argc < 2 || napi_get_value_external(env, argv[0], (void **)&args) != napi_ok) {
    napi_throw_type_error(env, "ERR_ILLEGAL_CONSTRUCTOR", "Handle is created by the addon's functions only");
    return NULL;
  }
  int fd = args->fd;
  args->fd = -1; /* ownership moves here */
  if (!check_function_arg(env, argv[1], "onEvent")) {
    close(fd);
    return NULL;
  }

  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    close(fd);
    throw_napi_failure(env, "napi_get_uv_event_loop");
    return NULL;
  }
  handle *h = calloc(1, sizeof *h);
  if (!h) {
    close(fd);
    throw_errno(env, ENOMEM, "calloc", NULL);
    return NULL;
  }
  h->env = env;
  h->fd = fd;
  struct stat st;
  h->is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
  int rc = uv_poll_init(loop, &h->poll, fd); /* also makes the fd non-blocking */
  if (rc < 0) {
    close(fd);
    free(h);
    throw_errno(env, -rc, "uv_poll_init", "(the fd cannot be polled)");
    return NULL;
  }
  h->poll.data = h;

  napi_value name;
  if (napi_wrap(env, self, h, on_finalize, NULL, NULL) != napi_ok) {
    h->finalized = true; /* no JS object owns it: free once libuv lets go */
    close_native(h);
    throw_napi_failure(env, "napi_wrap");
    return NULL;
  }
  /* From here the finalizer owns h: failures below close the fd and leave freeing to it. */
  if (napi_create_reference(env, self, 1, &h->self) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &h->on_event) != napi_ok ||
      napi_create_string_utf8(env, "VsockHandle", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, self, name, &h->async) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_env_cleanup, h, &h->cleanup) != napi_ok) {
    close_native(h);
    throw_napi_failure(env, "Handle constructor");
    return NULL;
  }
  return self;
}

napi_value handle_wrap_fd(napi_env env, int fd, napi_value on_event) {
  addon_data *data;
  napi_value constructor, argv[2], result;
  handle_init_args args = {fd};
  if (napi_get_instance_data(env, (void **)&data) != napi_ok ||
      napi_get_reference_value(env, data->constructor, &constructor) != napi_ok ||
      napi_create_external(env, &args, NULL, NULL, &argv[0]) != napi_ok) {
    close(fd);
    throw_napi_failure(env, "handle_wrap_fd");
    return NULL;
  }
  argv[1] = on_event;
  if (napi_new_instance(env, constructor, 2, argv, &result) != napi_ok) {
    if (args.fd >= 0) close(args.fd); /* the constructor never took it */
    throw_napi_failure(env, "new Handle");
    return NULL;
  }
  return result;
}

/* Unwraps `this` and up to `n` arguments; throws EBADF if the handle is already closed. */
static handle *open_handle(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  napi_value self;
  handle *h;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, (void **)&h) != napi_ok) {
    throw_napi_failure(env, "unwrap Handle");
    return NULL;
  }
  for (size_t i = argc; i < n; i++) napi_get_undefined(env, &argv[i]);
  if (h->closing) {
    throw_errno(env, EBADF, "handle", "(already closed)");
    return NULL;
  }
  return h;
}

static napi_value make_int(napi_env env, int64_t value) {
  napi_value result;
  napi_create_int64(env, value, &result);
  return result;
}

static napi_value make_address(napi_env env, const struct sockaddr_vm *sa) {
  napi_value result, cid, port;
  if (napi_create_object(env, &result) != napi_ok || napi_create_uint32(env, sa->svm_cid, &cid) != napi_ok ||
      napi_create_uint32(env, sa->svm_port, &port) != napi_ok ||
      napi_set_named_property(env, result, "cid", cid) != napi_ok ||
      napi_set_named_property(env, result, "port", port) != napi_ok) {
    throw_napi_failure(env, "make_address");
    return NULL;
  }
  return result;
}

/* poll(readable, writable): what to watch; both false stops the poller (and lets the loop exit). */
static napi_value handle_poll(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  bool readable = false, writable = false;
  handle *h = open_handle(env, info, 2, argv);
  if (!h) return NULL;
  napi_get_value_bool(env, argv[0], &readable);
  napi_get_value_bool(env, argv[1], &writable);
  int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  if (events == h->events) return NULL;
  int rc = events ? uv_poll_start(&h->poll, events, on_poll) : uv_poll_stop(&h->poll);
  if (rc < 0) {
    throw_errno(env, -rc, "uv_poll_start", NULL);
    return NULL;
  }
  h->events = events;
  return NULL;
}

static bool get_buffer_arg(napi_env env, napi_value value, void **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) == napi_ok && is_buffer &&
      napi_get_buffer_info(env, value, data, length) == napi_ok) {
    return true;
  }
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "buffer must be a Buffer");
  return false;
}

/* read(buffer) -> bytes read, 0 at end of stream; write(buffer) -> bytes written (possibly fewer).
 * Both answer -1 if the call would block. */
static napi_value transfer(napi_env env, napi_callback_info info, bool writing) {
  napi_value argv[1];
  void *data;
  size_t length;
  handle *h = open_handle(env, info, 1, argv);
  if (!h || !get_buffer_arg(env, argv[0], &data, &length)) return NULL;
  ssize_t n;
  do {
    if (!writing) n = read(h->fd, data, length);
    /* MSG_NOSIGNAL: a vanished peer is an EPIPE error, not a SIGPIPE. */
    else n = h->is_socket ? send(h->fd, data, length, MSG_NOSIGNAL) : write(h->fd, data, length);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return make_int(env, n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return make_int(env, -1);
  throw_errno(env, errno, writing ? "write" : "read", NULL);
  return NULL;
}

static napi_value handle_read(napi_env env, napi_callback_info info) {
  return transfer(env, info, false);
}

static napi_value handle_write(napi_env env, napi_callback_info info) {
  return transfer(env, info, true);
}

/* shutdown(): end of our half of a socket connection (the peer reads EOF). */
static napi_value handle_shutdown(napi_env env, napi_callback_info info) {
  handle *h = open_handle(env, info, 0, NULL);
  if (h && shutdown(h->fd, SHUT_WR) < 0) throw_errno(env, errno, "shutdown", NULL);
  return NULL;
}

/* accept(onEvent) -> {handle, cid, port} of the peer, or null if no connection is waiting. */
static napi_value handle_accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  handle *h = open_handle(env, info, 1, argv);
  if (!h || !check_function_arg(env, argv[0], "onEvent")) return NULL;
  struct sockaddr_vm peer = {0};
  socklen_t length = sizeof peer;
  int fd;
  do fd = accept4(h->fd, (struct sockaddr *)&peer, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    napi_value null_value;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      throw_errno(env, errno, "accept", NULL);
      return NULL;
    }
    napi_get_null(env, &null_value);
    return null_value;
  }
  napi_value result = make_address(env, &peer);
  if (!result) {
    close(fd);
    return NULL;
  }
  napi_value connection = handle_wrap_fd(env, fd, argv[0]);
  if (!connection) return NULL;
  if (napi_set_named_property(env, result, "handle", connection) != napi_ok) {
    throw_napi_failure(env, "accept");
    return NULL;
  }
  return result;
}

/* socketError(): throws the pending socket error (the outcome of a non-blocking connect), if any. */
static napi_value handle_socket_error(napi_env env, napi_callback_info info) {
  handle *h = open_handle(env, info, 0, NULL);
  if (!h) return NULL;
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) error = errno;
  if (error) throw_errno(env, error, "connect", NULL);
  return NULL;
}

/* localAddress() -> {cid, port} the socket is bound to. */
static napi_value handle_local_address(napi_env env, napi_callback_info info) {
  handle *h = open_handle(env, info, 0, NULL);
  if (!h) return NULL;
  struct sockaddr_vm local = {0};
  socklen_t length = sizeof local;
  if (getsockname(h->fd, (struct sockaddr *)&local, &length) < 0) {
    throw_errno(env, errno, "getsockname", NULL);
    return NULL;
  }
  return make_address(env, &local);
}

/* close(): closes the fd and the poller; idempotent. The poller's uv_close finishes on the loop. */
static napi_value handle_close(napi_env env, napi_callback_info info) {
  napi_value self;
  handle *h;
  if (napi_get_cb_info(env, info, NULL, NULL, &self, NULL) != napi_ok ||
      napi_unwrap(env, self, (void **)&h) != napi_ok) {
    throw_napi_failure(env, "unwrap Handle");
    return NULL;
  }
  if (h->closing) return NULL;
  close_native(h);
  napi_delete_reference(env, h->on_event);
  h->on_event = NULL;
  napi_async_destroy(env, h->async);
  h->async = NULL;
  napi_reference_unref(env, h->self, NULL); /* collectable from now on */
  return NULL;
}

static void delete_addon_data(napi_env env, void *data, void *hint) {
  (void)hint;
  napi_delete_reference(env, ((addon_data *)data)->constructor);
  free(data);
}

napi_status handle_init(napi_env env) {
  napi_property_descriptor methods[] = {
      {"poll", NULL, handle_poll, NULL, NULL, NULL, napi_default_method, NULL},
      {"read", NULL, handle_read, NULL, NULL, NULL, napi_default_method, NULL},
      {"write", NULL, handle_write, NULL, NULL, NULL, napi_default_method, NULL},
      {"shutdown", NULL, handle_shutdown, NULL, NULL, NULL, napi_default_method, NULL},
      {"accept", NULL, handle_accept, NULL, NULL, NULL, napi_default_method, NULL},
      {"socketError", NULL, handle_socket_error, NULL, NULL, NULL, napi_default_method, NULL},
      {"localAddress", NULL, handle_local_address, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, handle_close, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value constructor;
  napi_status status = napi_define_class(env, "Handle", NAPI_AUTO_LENGTH, handle_construct, NULL,
                                         sizeof methods / sizeof methods[0], methods, &constructor);
  if (status != napi_ok) return status;
  addon_data *data = calloc(1, sizeof *data);
  if (!data) return napi_generic_failure;
  status = napi_create_reference(env, constructor, 1, &data->constructor);
  if (status == napi_ok) status = napi_set_instance_data(env, data, delete_addon_data, NULL);
  if (status != napi_ok) free(data);
  return status;
}
