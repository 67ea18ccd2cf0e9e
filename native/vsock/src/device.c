#include "device.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "handle.h"

/* openDevice(path, onEvent) -> Handle, opened read-write and non-blocking. */
napi_value device_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[PATH_MAX];
  size_t length;
  napi_valuetype type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_string) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "path must be a string");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length) != napi_ok) return NULL;
  if (length + 1 >= sizeof path) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "path is too long");
    return NULL;
  }
  if (!check_function_arg(env, argv[1], "onEvent")) return NULL;

  /* O_NOCTTY: opening a tty must never make it our controlling terminal. */
  int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw_errno(env, errno, "open", path);
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
    char message[PATH_MAX + 80];
    snprintf(message, sizeof message, "open %s: not a character device, FIFO or socket", path);
    close(fd);
    napi_throw_error(env, "ERR_NOT_CHAR_DEVICE", message);
    return NULL;
  }
  return handle_wrap_fd(env, fd, argv[1]);
}
