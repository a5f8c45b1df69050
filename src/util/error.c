/* SPDX-License-Identifier: Apache-2.0 */
/* Structured validation errors (see error.h). */
#include "util/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/strutil.h"

static int error_vset(bw_error *e, const char *file, unsigned line, unsigned col, const char *code,
                      const char *field, const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));

static int error_vset(bw_error *e, const char *file, unsigned line, unsigned col, const char *code,
                      const char *field, const char *fmt, va_list ap) {
        if (!e)
                return -EINVAL;
        memset(e, 0, sizeof(*e));
        str_copy(e->code, sizeof(e->code), code ? code : "invalid");
        str_copy(e->field, sizeof(e->field), field ? field : "");
        str_copy(e->file, sizeof(e->file), file ? file : "");
        e->line = line;
        e->col = col;
        vsnprintf(e->message, sizeof(e->message), fmt, ap);
        return -EINVAL;
}

int bw_error_set(bw_error *e, const char *code, const char *field, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = error_vset(e, NULL, 0, 0, code, field, fmt, ap);
        va_end(ap);
        return r;
}

int bw_error_set_at(bw_error *e, const char *file, unsigned line, unsigned col, const char *code,
                    const char *field, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = error_vset(e, file, line, col, code, field, fmt, ap);
        va_end(ap);
        return r;
}

void bw_error_format(const bw_error *e, char *out, size_t outlen) {
        if (!out || outlen == 0)
                return;
        if (e->file[0] && e->line)
                snprintf(out, outlen, "%s:%u:%u: %s%s%s", e->file, e->line, e->col, e->field,
                         e->field[0] ? ": " : "", e->message);
        else if (e->file[0])
                snprintf(out, outlen, "%s: %s%s%s", e->file, e->field, e->field[0] ? ": " : "",
                         e->message);
        else
                snprintf(out, outlen, "%s%s%s", e->field, e->field[0] ? ": " : "", e->message);
}
