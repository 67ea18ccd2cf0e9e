/* Errors as JS exceptions: corosync failures carry the cs_error_t name, argument errors Node's codes. */
#ifndef FENCE_CPG_ERRORS_H
#define FENCE_CPG_ERRORS_H

#include <corosync/corotypes.h>
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An Error with code = the cs_error_t name ("CS_ERR_TRY_AGAIN"), csError = its number and call = the
 * library function; the message reads "CS_ERR_TRY_AGAIN: <corosync's text>, cpg_join". */
napi_value make_cs_error(napi_env env, cs_error_t error, const char *call);
void throw_cs_error(napi_env env, cs_error_t error, const char *call);

/* Throws a generic error unless a JS exception is already pending (a failed napi call). */
void throw_napi_failure(napi_env env, const char *what);

/* Reads a string of 1 to `size` bytes (UTF-8, no NUL) into `out` (not NUL-terminated); otherwise throws. */
bool get_name_arg(napi_env env, napi_value value, const char *name, char *out, size_t size, size_t *length);

/* Reads an integer in [0, max]; otherwise throws (TypeError / RangeError naming `name`) and returns false. */
bool get_uint_arg(napi_env env, napi_value value, const char *name, uint32_t max, uint32_t *out);

/* Checks that `object` has a function property `name`; otherwise throws a TypeError. */
bool check_listener(napi_env env, napi_value object, const char *name);

#endif
