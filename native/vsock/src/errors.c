#include "errors.h"

#include <math.h>
#include <stdio.h>
#include <uv.h>

napi_value make_errno_error(napi_env env, int errnum, const char *syscall, const char *detail) {
  char name[64];
  char text[128];
  char message[512];
  /* libuv's error codes are negated errno values on Linux, so it names and describes them for us. */
  uv_err_name_r(-errnum, name, sizeof name);
  uv_strerror_r(-errnum, text, sizeof text);
  if (name[0] != 'E') snprintf(name, sizeof name, "ERRNO%d", errnum);
  snprintf(message, sizeof message, "%s: %s, %s%s%s", name, text, syscall, detail ? " " : "",
           detail ? detail : "");

  napi_value code, msg, err, errno_value, syscall_value;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &err) != napi_ok ||
      napi_create_int32(env, -errnum, &errno_value) != napi_ok ||
      napi_set_named_property(env, err, "errno", errno_value) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) != napi_ok ||
      napi_set_named_property(env, err, "syscall", syscall_value) != napi_ok) {
    return NULL;
  }
  return err;
}

void throw_errno(napi_env env, int errnum, const char *syscall, const char *detail) {
  napi_value err = make_errno_error(env, errnum, syscall, detail);
  if (err) napi_throw(env, err);
  else throw_napi_failure(env, syscall);
}

void throw_napi_failure(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  char message[128];
  snprintf(message, sizeof message, "vsock addon: Node-API call failed in %s", what);
  napi_throw_error(env, "ERR_VSOCK_ADDON", message);
}

bool get_uint_arg(napi_env env, napi_value value, const char *name, uint32_t max, uint32_t *out) {
  char message[160];
  napi_valuetype type;
  double number;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, value, &number) != napi_ok) {
    snprintf(message, sizeof message, "%s must be a number", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  if (!(number >= 0 && number <= max && floor(number) == number)) {
    snprintf(message, sizeof message, "%s must be an integer from 0 to %u, got %.17g", name, max, number);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return false;
  }
  *out = (uint32_t)number;
  return true;
}

bool check_function_arg(napi_env env, napi_value value, const char *name) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) == napi_ok && type == napi_function) return true;
  char message[128];
  snprintf(message, sizeof message, "%s must be a function", name);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return false;
}
