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

/* A non-blocking, close-on-exec vsock stream socket; throws (naming socket()) on failure, which is
 * where a kernel without vsock says EAFNOSUPPORT or ENODEV. */
static int vsock_socket(napi_env env, const char *where) {
  int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(env, errno, "socket", where);
  return fd;
}

static struct sockaddr_vm vsock_address(uint32_t cid, uint32_t port) {
  struct sockaddr_vm sa = {0};
  sa.svm_family = AF_VSOCK;
  sa.svm_cid = cid;
  sa.svm_port = port;
  return sa;
}

/* listen(cid, port, backlog, onEvent) -> Handle of a listening socket. */
napi_value vsock_listen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint32_t cid, port, backlog;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 4) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "listen(cid, port, backlog, onEvent)");
    return NULL;
  }
  if (!get_uint_arg(env, argv[0], "cid", UINT32_MAX, &cid) ||
      !get_uint_arg(env, argv[1], "port", UINT32_MAX, &port) ||
      !get_uint_arg(env, argv[2], "backlog", INT_MAX, &backlog) || !check_function_arg(env, argv[3], "onEvent")) {
    return NULL;
  }
  char where[64];
  snprintf(where, sizeof where, "vsock %u:%u", cid, port);
  int fd = vsock_socket(env, where);
  if (fd < 0) return NULL;
  struct sockaddr_vm sa = vsock_address(cid, port);
  const char *failed = NULL;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) failed = "bind";
  else if (listen(fd, (int)backlog) < 0) failed = "listen";
  if (failed) {
    int error = errno;
    close(fd);
    throw_errno(env, error, failed, where);
    return NULL;
  }
  return handle_wrap_fd(env, fd, argv[3]);
}

/* connect(cid, port, onEvent) -> Handle of a socket whose connect is under way: JS polls for
 * writability, then calls socketError() for the outcome. */
napi_value vsock_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint32_t cid, port;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "connect(cid, port, onEvent)");
    return NULL;
  }
  /* VMADDR_CID_ANY (UINT32_MAX) is a bind address, never a peer. */
  if (!get_uint_arg(env, argv[0], "cid", VMADDR_CID_ANY - 1, &cid) ||
      !get_uint_arg(env, argv[1], "port", UINT32_MAX, &port) || !check_function_arg(env, argv[2], "onEvent")) {
    return NULL;
  }
  char where[64];
  snprintf(where, sizeof where, "vsock %u:%u", cid, port);
  int fd = vsock_socket(env, where);
  if (fd < 0) return NULL;
  struct sockaddr_vm sa = vsock_address(cid, port);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
    int error = errno;
    close(fd);
    throw_errno(env, error, "connect", where);
    return NULL;
  }
  return handle_wrap_fd(env, fd, argv[2]);
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
