#include "errors.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  const char *text;
} cs_error_info;

/* corosync's own cs_strerror answers with the name only; these say what the caller needs to know. */
static cs_error_info describe(cs_error_t error) {
  switch (error) {
    case CS_OK: return (cs_error_info){"CS_OK", "no error"};
    case CS_ERR_LIBRARY: return (cs_error_info){"CS_ERR_LIBRARY", "corosync cannot be reached (not running, or the connection was lost)"};
    case CS_ERR_VERSION: return (cs_error_info){"CS_ERR_VERSION", "version mismatch"};
    case CS_ERR_INIT: return (cs_error_info){"CS_ERR_INIT", "not initialised"};
    case CS_ERR_TIMEOUT: return (cs_error_info){"CS_ERR_TIMEOUT", "timed out"};
    case CS_ERR_TRY_AGAIN: return (cs_error_info){"CS_ERR_TRY_AGAIN", "corosync is busy (membership change or flow control), try again"};
    case CS_ERR_INVALID_PARAM: return (cs_error_info){"CS_ERR_INVALID_PARAM", "invalid parameter"};
    case CS_ERR_NO_MEMORY: return (cs_error_info){"CS_ERR_NO_MEMORY", "out of memory"};
    case CS_ERR_BAD_HANDLE: return (cs_error_info){"CS_ERR_BAD_HANDLE", "the handle is not valid (finalized)"};
    case CS_ERR_BUSY: return (cs_error_info){"CS_ERR_BUSY", "busy"};
    case CS_ERR_ACCESS: return (cs_error_info){"CS_ERR_ACCESS", "permission denied by corosync"};
    case CS_ERR_NOT_EXIST: return (cs_error_info){"CS_ERR_NOT_EXIST", "does not exist (not a member of the group?)"};
    case CS_ERR_NAME_TOO_LONG: return (cs_error_info){"CS_ERR_NAME_TOO_LONG", "name too long"};
    case CS_ERR_EXIST: return (cs_error_info){"CS_ERR_EXIST", "already exists (already a member of the group?)"};
    case CS_ERR_NO_SPACE: return (cs_error_info){"CS_ERR_NO_SPACE", "no space"};
    case CS_ERR_INTERRUPT: return (cs_error_info){"CS_ERR_INTERRUPT", "interrupted"};
    case CS_ERR_NAME_NOT_FOUND: return (cs_error_info){"CS_ERR_NAME_NOT_FOUND", "name not found"};
    case CS_ERR_NO_RESOURCES: return (cs_error_info){"CS_ERR_NO_RESOURCES", "no resources"};
    case CS_ERR_NOT_SUPPORTED: return (cs_error_info){"CS_ERR_NOT_SUPPORTED", "not supported"};
    case CS_ERR_BAD_OPERATION: return (cs_error_info){"CS_ERR_BAD_OPERATION", "bad operation"};
    case CS_ERR_FAILED_OPERATION: return (cs_error_info){"CS_ERR_FAILED_OPERATION", "operation failed"};
    case CS_ERR_MESSAGE_ERROR: return (cs_error_info){"CS_ERR_MESSAGE_ERROR", "message error"};
    case CS_ERR_QUEUE_FULL: return (cs_error_info){"CS_ERR_QUEUE_FULL", "queue full"};
    case CS_ERR_QUEUE_NOT_AVAILABLE: return (cs_error_info){"CS_ERR_QUEUE_NOT_AVAILABLE", "queue not available"};
    case CS_ERR_BAD_FLAGS: return (cs_error_info){"CS_ERR_BAD_FLAGS", "bad flags"};
    case CS_ERR_TOO_BIG: return (cs_error_info){"CS_ERR_TOO_BIG", "message too big"};
    case CS_ERR_NO_SECTIONS: return (cs_error_info){"CS_ERR_NO_SECTIONS", "no sections"};
    case CS_ERR_CONTEXT_NOT_FOUND: return (cs_error_info){"CS_ERR_CONTEXT_NOT_FOUND", "context not found"};
    case CS_ERR_TOO_MANY_GROUPS: return (cs_error_info){"CS_ERR_TOO_MANY_GROUPS", "too many groups"};
    case CS_ERR_SECURITY: return (cs_error_info){"CS_ERR_SECURITY", "security error"};
  }
  return (cs_error_info){NULL, "unknown error"};
}

napi_value make_cs_error(napi_env env, cs_error_t error, const char *call) {
  char unknown[32];
  char message[256];
  cs_error_info info = describe(error);
  const char *name = info.name;
  if (!name) {
    snprintf(unknown, sizeof unknown, "CS_ERR_%d", (int)error);
    name = unknown;
  }
  snprintf(message, sizeof message, "%s: %s, %s", name, info.text, call);

  napi_value code, msg, err, number, call_value;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &err) != napi_ok ||
      napi_create_int32(env, (int32_t)error, &number) != napi_ok ||
      napi_set_named_property(env, err, "csError", number) != napi_ok ||
      napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &call_value) != napi_ok ||
      napi_set_named_property(env, err, "call", call_value) != napi_ok) {
    return NULL;
  }
  return err;
}

void throw_cs_error(napi_env env, cs_error_t error, const char *call) {
  napi_value err = make_cs_error(env, error, call);
  if (err) napi_throw(env, err);
  else throw_napi_failure(env, call);
}

void throw_napi_failure(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  char message[128];
  snprintf(message, sizeof message, "cpg addon: Node-API call failed in %s", what);
  napi_throw_error(env, "ERR_CPG_ADDON", message);
}

bool get_name_arg(napi_env env, napi_value value, const char *name, char *out, size_t size, size_t *length) {
  char message[160];
  napi_valuetype type;
  size_t needed;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string ||
      napi_get_value_string_utf8(env, value, NULL, 0, &needed) != napi_ok) {
    snprintf(message, sizeof message, "%s must be a string", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  if (needed == 0 || needed > size) {
    snprintf(message, sizeof message, "%s must be 1 to %zu bytes long, got %zu", name, size, needed);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return false;
  }
  /* napi writes a terminating NUL, so read into a buffer one byte longer than the name may be. */
  char buffer[needed + 1];
  if (napi_get_value_string_utf8(env, value, buffer, sizeof buffer, length) != napi_ok) {
    throw_napi_failure(env, name);
    return false;
  }
  if (memchr(buffer, 0, *length)) {
    snprintf(message, sizeof message, "%s must not contain NUL characters", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", message);
    return false;
  }
  memcpy(out, buffer, *length);
  return true;
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

bool check_listener(napi_env env, napi_value object, const char *name) {
  napi_valuetype type;
  napi_value value;
  if (napi_typeof(env, object, &type) == napi_ok && type == napi_object &&
      napi_get_named_property(env, object, name, &value) == napi_ok &&
      napi_typeof(env, value, &type) == napi_ok && type == napi_function) {
    return true;
  }
  char message[128];
  snprintf(message, sizeof message, "listeners.%s must be a function", name);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return false;
}
