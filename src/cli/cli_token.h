/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the API bearer token from its file, for the CLI and the load
 * generator. Runs in those clients; the file is checked, not trusted. */
#pragma once

#include <stddef.h>

#include "util/error.h"

/* Reads the token: the first line of path (a trailing "\r" dropped), which must
 * pass file_read_secret (0600, owned by the reader or root, in directories no
 * other user may write) and must be
 * BW_TOKEN_MIN_LEN..BW_TOKEN_MAX_LEN printable ASCII characters without spaces,
 * since it goes into an HTTP header. ret (retlen >= BW_TOKEN_MAX_LEN + 1)
 * receives it NUL-terminated; the caller wipes it with sodium_memzero. Returns 0,
 * or -EINVAL / -EPERM / -EFBIG / another negative errno with *err (field
 * "token_file"). */
int cli_token_read(const char *path, char *ret, size_t retlen, bw_error *err);
