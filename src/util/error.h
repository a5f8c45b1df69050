/* SPDX-License-Identifier: Apache-2.0 */
/* Structured validation errors: every parser of untrusted input reports which
 * field (and, for files, which line and column) was wrong. Used in all processes. */
#pragma once

#include <stddef.h>

typedef struct bw_error {
        char code[32];      /* machine-readable: "invalid", "too_large", "missing", "unknown_key", ... */
        char field[128];    /* dotted path of the offending field: "observables.ips[3]" */
        char message[256];  /* human-readable, never contains secrets */
        char file[256];     /* file name when the input came from a file, else "" */
        unsigned line, col; /* 1-based position in file; 0 when unknown */
} bw_error;

/* Fills *e (if non-NULL) and returns -EINVAL, so parsers can `return bw_error_set(...)`. */
int bw_error_set(bw_error *e, const char *code, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Same, with a file position. */
int bw_error_set_at(bw_error *e, const char *file, unsigned line, unsigned col, const char *code,
                    const char *field, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Formats "file:line:col: field: message" (or "field: message") into out. */
void bw_error_format(const bw_error *e, char *out, size_t outlen);
