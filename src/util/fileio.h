/* SPDX-License-Identifier: Apache-2.0 */
/* Reading and writing whole files with size limits; every descriptor O_CLOEXEC. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads the regular file at path into a NUL-terminated heap buffer of at most max
 * bytes. Returns 0, -EFBIG if larger than max, -EINVAL if not a regular file, or
 * another negative errno. The outputs are written only on success. */
int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len);

/* Like file_read_all, for secrets such as token files: refuses (-EPERM, with
 * *ret_why saying which rule) a file that is not regular, that group or others
 * may read or write, that is owned by neither the reader nor root, or that
 * lies in a directory (its own or any above it) owned by another user or
 * writable by one without the sticky bit: whoever may write there could swap
 * it. */
int file_read_secret(const char *path, size_t max, char **ret, size_t *ret_len, const char **ret_why);

/* Writes data to path atomically (temp file, fsync, rename) with the given mode.
 * Fails with -EEXIST if the file exists and overwrite is false. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool overwrite);
