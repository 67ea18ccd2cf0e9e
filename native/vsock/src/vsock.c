#include "vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "errors.h"
#include "handle.h"

typedef struct {
  int fd;
  struct sockaddr_vm address;
  char where[48]; /* "vsock CID:PORT", for error messages */
} vsock_socket;

/* Checks the (cid, port) arguments, then makes a non-blocking, close-on-exec stream socket for that
 * address. On failure a JS exception is pending and false is returned; a kernel without vsock fails
 * here, in socket(), with EAFNOSUPPORT or ENODEV. */
static bool vsock_open(napi_env env, napi_value cid_arg, napi_value port_arg, uint32_t max_cid, vsock_socket *s) {
  uint32_t cid, port;
  if (!get_uint_arg(env, cid_arg, "cid", max_cid, &cid) || !get_uint_arg(env, port_arg, "port", UINT32_MAX, &port)) {
    return false;
  }
  snprintf(s->where, sizeof s->where, "vsock %u:%u", cid, port);
  s->address = (struct sockaddr_vm){.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
  s->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd >= 0) return true;
  throw_errno(env, errno, "socket", s->where);
  return false;
}

/* Closes the socket after `syscall` failed with errno, and throws that error. */
static napi_value vsock_fail(napi_env env, vsock_socket *s, const char *syscall) {
  int error = errno;
  close(s->fd);
  throw_errno(env, error, syscall, s->where);
  return NULL;
}

/* Gets exactly `n` arguments into argv, or throws naming the expected call. */
static bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv, const char *usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc >= n) return true;
  napi_throw_type_error(env, "ERR_MISSING_ARGS", usage);
  return false;
}

/* listen(cid, port, backlog, onEvent) -> Handle of a listening socket. */
napi_value vsock_listen(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  uint32_t backlog;
  vsock_socket s;
  if (!get_args(env, info, 4, argv, "listen(cid, port, backlog, onEvent)") ||
      !get_uint_arg(env, argv[2], "backlog", INT_MAX, &backlog) || !check_function_arg(env, argv[3], "onEvent") ||
      !vsock_open(env, argv[0], argv[1], UINT32_MAX, &s)) {
    return NULL;
  }
  if (bind(s.fd, (struct sockaddr *)&s.address, sizeof s.address) < 0) return vsock_fail(env, &s, "bind");
  if (listen(s.fd, (int)backlog) < 0) return vsock_fail(env, &s, "listen");
  return handle_wrap_fd(env, s.fd, argv[3]);
}

/* connect(cid, port, onEvent) -> Handle of a socket whose connect is under way: JS polls for
 * writability, then calls socketError() for the outcome. */
napi_value vsock_connect(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  vsock_socket s;
  /* VMADDR_CID_ANY (UINT32_MAX) is a bind address, never a peer. */
  if (!get_args(env, info, 3, argv, "connect(cid, port, onEvent)") || !check_function_arg(env, argv[2], "onEvent") ||
      !vsock_open(env, argv[0], argv[1], VMADDR_CID_ANY - 1, &s)) {
    return NULL;
  }
  if (connect(s.fd, (struct sockaddr *)&s.address, sizeof s.address) < 0 && errno != EINPROGRESS) {
    return vsock_fail(env, &s, "connect");
  }
  return handle_wrap_fd(env, s.fd, argv[2]);
}

/* localCid() -> this machine's CID, from /dev/vsock. */
napi_value vsock_local_cid(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, errno, "open", "/dev/vsock");
    return NULL;
  }
  unsigned int cid = 0;
  int rc = ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid);
  int error = errno;
  close(fd);
  if (rc < 0) {
    throw_errno(env, error, "ioctl", "IOCTL_VM_SOCKETS_GET_LOCAL_CID /dev/vsock");
    return NULL;
  }
  napi_value result;
  napi_create_uint32(env, cid, &result);
  return result;
}
