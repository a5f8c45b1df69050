/* SPDX-License-Identifier: Apache-2.0 */
/* The one bounded byte buffer (after OpenSSH's sshbuf): its maximum is fixed at
 * creation and every append checks it. Used in all processes for untrusted bytes. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
        char *data; /* always NUL-terminated when non-NULL, for convenience */
        size_t len; /* bytes used, excluding the terminator */
        size_t cap; /* bytes allocated */
        size_t max; /* hard limit on len, fixed at init */
} buf;

/* Initialises an empty buffer that may never hold more than max bytes. */
void buf_init(buf *b, size_t max);

/* Appends n bytes. Returns 0, -EMSGSIZE if the result would exceed max (nothing
 * appended), or -ENOMEM. */
int buf_append(buf *b, const void *data, size_t n);

/* Makes room for extra more bytes (and the terminator) without changing len:
 * 0, -EMSGSIZE beyond max, or -ENOMEM. For reading straight into data + len. */
int buf_reserve(buf *b, size_t extra);

/* Appends a formatted string with the same limits as buf_append. */
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Forgets the content but keeps the allocation. */
void buf_reset(buf *b);

/* Hands the data to the caller (who frees it) and resets the buffer to empty. */
char *buf_steal(buf *b, size_t *ret_len);

/* Frees the data; accepts a zero-initialised or already freed buffer. */
void buf_free(buf *b);
