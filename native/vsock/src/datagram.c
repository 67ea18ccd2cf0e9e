#include "datagram.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"

/* Reads a Buffer argument; otherwise throws a TypeError naming `name`. */
static bool get_buffer_arg(napi_env env, napi_value value, const char *name, void **data, size_t *length) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, value, data, length) != napi_ok) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a Buffer", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  return true;
}

/*
 * sendUnixDatagram(address: Buffer, payload: Buffer) -> bytes sent, or -1 if the receiver's queue is full.
 * `address` is the raw sun_path: a leading NUL byte names an abstract socket, whose name is exactly the
 * bytes given (not NUL-terminated). A fresh socket per call, as sd_notify does: the kernel attaches the
 * sender's credentials, so the receiver sees this process. Never blocks (MSG_DONTWAIT).
 */
napi_value datagram_send_unix(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *address, *payload;
  size_t address_length, payload_length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) {
    napi_throw_type_error(env, "ERR_MISSING_ARGS", "address and payload are required");
    return NULL;
  }
  if (!get_buffer_arg(env, argv[0], "address", &address, &address_length) ||
      !get_buffer_arg(env, argv[1], "payload", &payload, &payload_length)) {
    return NULL;
  }
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  if (address_length == 0 || address_length > sizeof sun.sun_path) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "address must be 1 to 108 bytes");
    return NULL;
  }
  memcpy(sun.sun_path, address, address_length);
  /* A path socket's name ends at its NUL; an abstract one is exactly as long as given. */
  socklen_t sun_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + address_length +
                                     (((char *)address)[0] != '\0' && address_length < sizeof sun.sun_path));

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, errno, "socket", NULL);
    return NULL;
  }
  ssize_t sent = sendto(fd, payload, payload_length, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sun, sun_length);
  int saved = errno;
  close(fd);
  if (sent < 0 && saved != EAGAIN && saved != EWOULDBLOCK) {
    throw_errno(env, saved, "sendto", NULL);
    return NULL;
  }
  napi_value result;
  if (napi_create_int64(env, sent < 0 ? -1 : (int64_t)sent, &result) != napi_ok) return NULL;
  return result;
}
