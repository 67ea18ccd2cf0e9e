/* Errors shaped like Node's system errors, and argument checks that run before any syscall. */
#ifndef FENCE_VSOCK_ERRORS_H
#define FENCE_VSOCK_ERRORS_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

/* An Error with code = errno name ("EADDRINUSE"), errno = -errnum (as Node does) and syscall.
 * The message reads "EADDRINUSE: address already in use, bind <detail>". */
napi_value make_errno_error(napi_env env, int errnum, const char *syscall, const char *detail);
void throw_errno(napi_env env, int errnum, const char *syscall, const char *detail);

/* Throws a generic error unless a JS exception is already pending (a failed napi call). */
void throw_napi_failure(napi_env env, const char *what);

/* Reads an integer in [0, max]; otherwise throws (TypeError / RangeError naming `name`) and returns false. */
bool get_uint_arg(napi_env env, napi_value value, const char *name, uint32_t max, uint32_t *out);

/* Checks that `value` is a function; otherwise throws a TypeError naming `name`. */
bool check_function_arg(napi_env env, napi_value value, const char *name);

#endif
