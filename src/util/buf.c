/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded byte buffer (see buf.h). */
#include "util/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

void buf_init(buf *b, size_t max) {
        *b = (buf){.max = max};
}

int buf_reserve(buf *b, size_t extra) {
        if (extra > b->max - b->len)
                return -EMSGSIZE;
        size_t need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
                cap = cap > (SIZE_MAX / 2) ? need : cap * 2;
        if (cap > b->max + 1)
                cap = b->max + 1;
        char *p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = cap;
        return 0;
}

int buf_append(buf *b, const void *data, size_t n) {
        int r = buf_reserve(b, n);
        if (r < 0)
                return r;
        if (n)
                memcpy(b->data + b->len, data, n);
        b->len += n;
        b->data[b->len] = '\0';
        return 0;
}

int buf_vprintf(buf *b, const char *fmt, va_list ap) {
        va_list aq;
        va_copy(aq, ap);
        int n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return -EINVAL;
        int r = buf_reserve(b, (size_t)n);
        if (r < 0)
                return r;
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
}

int buf_printf(buf *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = buf_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

void buf_reset(buf *b) {
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

char *buf_steal(buf *b, size_t *ret_len) {
        char *p = b->data;
        if (!p)
                p = calloc(1, 1);
        if (ret_len)
                *ret_len = b->len;
        size_t max = b->max;
        buf_init(b, max);
        return p;
}

void buf_free(buf *b) {
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
}
