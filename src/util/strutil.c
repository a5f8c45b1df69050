/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded string helpers and strict number parsing (see strutil.h). */
#include "util/strutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int str_copy(char *dst, size_t dstlen, const char *src) {
        if (dstlen == 0)
                return -ENAMETOOLONG;
        size_t n = strlen(src);
        if (n >= dstlen) {
                memcpy(dst, src, dstlen - 1);
                dst[dstlen - 1] = '\0';
                return -ENAMETOOLONG;
        }
        memcpy(dst, src, n + 1);
        return 0;
}

size_t utf8_cut(const char *s, size_t len, size_t max) {
        if (len <= max)
                return len;
        while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
                max--;
        return max;
}

bool utf8_valid(const char *buf, size_t len) {
        return utf8_valid_prefix(buf, len) == len;
}

size_t utf8_valid_prefix(const char *buf, size_t len) {
        const unsigned char *s = (const unsigned char *)buf;
        size_t i = 0;
        while (i < len) {
                unsigned c = s[i];
                if (c == 0)
                        return i;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                unsigned need;
                uint32_t cp, min;
                if ((c & 0xE0) == 0xC0) {
                        need = 1, cp = c & 0x1F, min = 0x80;
                } else if ((c & 0xF0) == 0xE0) {
                        need = 2, cp = c & 0x0F, min = 0x800;
                } else if ((c & 0xF8) == 0xF0) {
                        need = 3, cp = c & 0x07, min = 0x10000;
                } else
                        return i;
                if (len - i <= need)
                        return i;
                for (unsigned k = 1; k <= need; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return i;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        return i;
                i += need + 1;
        }
        return len;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        if (!s || !*s)
                return -EINVAL;
        if (min >= 0 && (*s == '-' || *s == '+'))
                return -EINVAL;
        /* strtoll would skip leading white space; a strict parser does not. */
        if (isspace((unsigned char)*s))
                return -EINVAL;
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s || *end != '\0')
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (int64_t)v;
        return 0;
}

bool str_charset_ok(const char *s, size_t len, size_t maxlen, const char *extra) {
        if (len == 0 || len > maxlen)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
                        continue;
                if (c == 0 || !extra || !strchr(extra, c))
                        return false;
        }
        return true;
}

char *str_dup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

bool str_is_joined(const char *s, const char *a, char sep, const char *b) {
        size_t la = strlen(a);
        return strncmp(s, a, la) == 0 && s[la] == sep && strcmp(s + la + 1, b) == 0;
}
