/* SPDX-License-Identifier: Apache-2.0 */
/* Typed targets (see target.h): normalisation, prefix sizes, canonical
 * comparison of protected accounts and hosts. Pure; input is untrusted. */
#include "core/target.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/socket.h>

#include "util/strutil.h"

int target_normalise(target_kind kind, const char *s, size_t len, char *out, size_t outlen) {
        if (!s || outlen < TARGET_TEXT_MAX + 1 || memchr(s, '\0', len))
                return -EINVAL;
        switch (kind) {
        case TARGET_IP: {
                ip_prefix p;
                if (ip_prefix_parse(s, len, &p) < 0)
                        return -EINVAL;
                return str_copy(out, outlen, p.text);
        }
        case TARGET_ACCOUNT:
                if (!alert_account_name_valid(s, len))
                        return -EINVAL;
                memcpy(out, s, len);
                out[len] = '\0';
                return 0;
        case TARGET_HOST:
                /* One spelling per host, as the alert parser stores them. */
                if (!alert_host_name_valid(s, len))
                        return -EINVAL;
                for (size_t i = 0; i < len; i++)
                        out[i] = (char)tolower((unsigned char)s[i]);
                out[len] = '\0';
                return 0;
        default:
                return -EINVAL;
        }
}

uint64_t ip_prefix_size(const ip_prefix *p) {
        unsigned bits = p->family == AF_INET ? 32 : 128;
        unsigned host = p->prefix <= bits ? bits - p->prefix : bits;
        return host >= 64 ? UINT64_MAX : (uint64_t)1 << host;
}

/* True if the first bits bits of x and y are equal. */
static bool bits_equal(const unsigned char *x, const unsigned char *y, unsigned bits) {
        unsigned bytes = bits / 8, rest = bits % 8;
        /* At most 16 bytes, compared against every protected prefix: a loop the
         * compiler keeps inline beats a call to memcmp here. */
        for (unsigned i = 0; i < bytes; i++)
                if (x[i] != y[i])
                        return false;
        if (rest == 0)
                return true;
        unsigned char mask = (unsigned char)(0xFFu << (8 - rest));
        return (x[bytes] & mask) == (y[bytes] & mask);
}

static inline bool overlaps(const ip_prefix *a, const ip_prefix *b) {
        /* The common case, one family: compare as they are. */
        if (a->family == b->family)
                return bits_equal(a->addr, b->addr, a->prefix < b->prefix ? a->prefix : b->prefix);
        /* IPv4 against IPv6: the IPv4 prefix in its v4-mapped form. */
        const ip_prefix *v4 = a->family == AF_INET ? a : b, *v6 = a->family == AF_INET ? b : a;
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        unsigned char m[16];
        memcpy(m, mapped, sizeof(mapped));
        memcpy(m + 12, v4->addr, 4);
        unsigned pm = 96 + v4->prefix;
        return bits_equal(m, v6->addr, pm < v6->prefix ? pm : v6->prefix);
}

bool ip_prefix_overlaps(const ip_prefix *a, const ip_prefix *b) {
        return overlaps(a, b);
}

const ip_prefix *ip_prefix_overlaps_any(const ip_prefix *t, const ip_prefix *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (overlaps(t, &list[i]))
                        return &list[i];
        return NULL;
}

/* The user part of s: after a "DOMAIN\" prefix, before an "@domain" suffix. */
static void user_part(const char *s, const char **ret, size_t *ret_len) {
        const char *back = strrchr(s, '\\');
        const char *user = back ? back + 1 : s;
        const char *at = strchr(user, '@');
        *ret = user;
        *ret_len = at ? (size_t)(at - user) : strlen(user);
}

static void lower_copy(const char *s, size_t len, char *out, size_t outlen) {
        if (len >= outlen)
                len = outlen - 1;
        for (size_t i = 0; i < len; i++)
                out[i] = (char)tolower((unsigned char)s[i]);
        out[len] = '\0';
}

void account_canonical_user(const char *s, char *out, size_t outlen) {
        const char *user;
        size_t len;
        user_part(s, &user, &len);
        lower_copy(user, len, out, outlen);
}

static bool names_domain(const char *s) {
        return strchr(s, '@') || strchr(s, '\\');
}

void account_subject_init(const char *account, account_subject *ret) {
        ret->account = account;
        ret->has_domain = names_domain(account);
        account_canonical_user(account, ret->user, sizeof(ret->user));
}

bool account_pattern_matches(const char *pattern, const account_subject *a) {
        if (fnmatch(pattern, a->account, FNM_CASEFOLD) == 0)
                return true;
        bool pattern_domain = names_domain(pattern);
        /* Neither names a domain: the user parts are what was just compared. */
        if (!pattern_domain && !a->has_domain)
                return false;
        char user[BW_ACCOUNT_NAME_MAX + 1];
        if (pattern_domain)
                account_canonical_user(pattern, user, sizeof(user));
        return fnmatch(pattern_domain ? user : pattern, a->user, FNM_CASEFOLD) == 0;
}

/* name without a trailing dot, case-folded, into out; *ret_label_len is the
 * length of its first label. */
static void host_canonical(const char *name, char *out, size_t outlen, size_t *ret_label_len) {
        size_t len = strlen(name);
        if (len > 0 && name[len - 1] == '.')
                len--;
        lower_copy(name, len, out, outlen);
        const char *dot = strchr(out, '.');
        *ret_label_len = dot ? (size_t)(dot - out) : strlen(out);
}

bool host_pattern_matches(const char *pattern, const char *host) {
        /* Both short or both full: one whole comparison decides. */
        bool p_dot = strchr(pattern, '.') != NULL, h_dot = strchr(host, '.') != NULL;
        size_t hl0 = strlen(host), pl0 = strlen(pattern);
        if (p_dot == h_dot && (hl0 == 0 || host[hl0 - 1] != '.') && (pl0 == 0 || pattern[pl0 - 1] != '.'))
                return fnmatch(pattern, host, FNM_CASEFOLD) == 0;
        char p[BW_HOST_NAME_MAX + 2], h[BW_HOST_NAME_MAX + 2];
        size_t pl, hl;
        host_canonical(pattern, p, sizeof(p), &pl);
        host_canonical(host, h, sizeof(h), &hl);
        if (fnmatch(p, h, FNM_CASEFOLD) == 0)
                return true;
        bool p_short = p[pl] == '\0', h_short = h[hl] == '\0';
        if (!p_short && !h_short)
                return false;
        p[pl] = h[hl] = '\0';
        return fnmatch(p, h, FNM_CASEFOLD) == 0;
}
