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

/* p as an IPv6 prefix: itself, or an IPv4 prefix in its v4-mapped form. */
static void ip_prefix_as_v6(const ip_prefix *p, unsigned char addr[16], unsigned *prefix) {
        if (p->family == AF_INET6) {
                memcpy(addr, p->addr, 16);
                *prefix = p->prefix;
                return;
        }
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(addr, mapped, sizeof(mapped));
        memcpy(addr + 12, p->addr, 4);
        *prefix = 96 + p->prefix;
}

bool ip_prefix_overlaps(const ip_prefix *a, const ip_prefix *b) {
        unsigned char x[16], y[16];
        unsigned px, py;
        ip_prefix_as_v6(a, x, &px);
        ip_prefix_as_v6(b, y, &py);
        unsigned bits = px < py ? px : py;
        unsigned bytes = bits / 8, rest = bits % 8;
        if (memcmp(x, y, bytes) != 0)
                return false;
        if (rest == 0)
                return true;
        unsigned char mask = (unsigned char)(0xFFu << (8 - rest));
        return (x[bytes] & mask) == (y[bytes] & mask);
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

bool account_pattern_matches(const char *pattern, const char *account) {
        if (fnmatch(pattern, account, FNM_CASEFOLD) == 0)
                return true;
        char p[BW_ACCOUNT_NAME_MAX + 1], a[BW_ACCOUNT_NAME_MAX + 1];
        account_canonical_user(pattern, p, sizeof(p));
        account_canonical_user(account, a, sizeof(a));
        return p[0] && fnmatch(p, a, FNM_CASEFOLD) == 0;
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
