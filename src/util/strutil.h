/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded string helpers and strict number parsing; replaces the banned libc calls
 * (strcpy, strcat, sprintf, atoi, unchecked strtol). Used in all processes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies src into dst (size dstlen), always NUL-terminating. Returns -ENAMETOOLONG
 * (after copying a truncated prefix) if src did not fit, else 0. */
int str_copy(char *dst, size_t dstlen, const char *src);

/* True if buf[0..len) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF)
 * and contains no NUL byte. */
bool utf8_valid(const char *buf, size_t len);

/* The length of the longest prefix of buf[0..len) that utf8_valid accepts: len
 * when all of it is valid, else the offset of the first byte that is not. */
size_t utf8_valid_prefix(const char *buf, size_t len);

/* The length, at most max, of a prefix of the UTF-8 text s (length len) that
 * ends on a character boundary: cutting there keeps valid text valid. */
size_t utf8_cut(const char *s, size_t len, size_t max);

/* Parses a whole decimal integer within [min, max]. Rejects empty strings, signs
 * where min >= 0, leading/trailing garbage and overflow. Returns 0 or -EINVAL/-ERANGE;
 * *ret is written only on success. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);

/* True if every byte of s (length len, 1..maxlen) is in the set
 * [A-Za-z0-9] or in `extra`. */
bool str_charset_ok(const char *s, size_t len, size_t maxlen, const char *extra);

/* strdup that returns NULL on NULL input. */
char *str_dup_or_null(const char *s);

/* True if s is a, then the character sep, then b ("nft" '.' "block" is
 * "nft.block"), without building the joined string. */
bool str_is_joined(const char *s, const char *a, char sep, const char *b);
