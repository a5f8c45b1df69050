/* SPDX-License-Identifier: Apache-2.0 */
/* The nft connector's netlink client: single-element lookups and set checks
 * sent to nf_tables as binary requests. Runs in the nft integration's worker;
 * only the kernel's replies are read, each bounds-checked before use. */
#include <endian.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/limits.h"
#include "connectors/nft_netlink.h"
#include "util/strutil.h"

/* libnftables 1.0.6 has no "get element" in its JSON input, and its text
 * command first loads every element of the set into its cache (30 ms at 20,000
 * elements, measured): as slow as a listing. The kernel answers
 * NFT_MSG_GETSETELEM with one hash lookup, so hash sets are asked directly over
 * netlink, and the answer carries the element's timeout and the time it has
 * left, to the millisecond. The requests are binary: the table and set names
 * come from settings checked against their charset, the family from a fixed
 * table and the key from the address parsed into its binary form; nothing from
 * an alert is spliced into them as text. */

struct nft_netlink {
        int fd;
        uint32_t seq; /* of the next request's first message */
        uint8_t nfproto;
        char table[BW_NAME_MAX + 1];
};

typedef struct nft_netlink_req {
        union {
                struct nlmsghdr align;
                unsigned char data[BW_NFT_NL_REQUEST_MAX];
        } u;
        size_t len;
        bool overflow;
} nft_netlink_req;

/* What the kernel answered to the messages of one request, in order. */
typedef struct nft_netlink_reply {
        int err[2]; /* 0 or -errno, from each message's acknowledgement */
        uint32_t set_flags, set_key_len;
        uint64_t timeout_ms, expires_ms; /* of the element returned, 0 if none */
} nft_netlink_reply;

int nft_netlink_open(uint8_t nfproto, const char *table, nft_netlink **ret) {
        nft_netlink *nl = calloc(1, sizeof(*nl));
        if (!nl)
                return -ENOMEM;
        nl->fd = -1;
        nl->seq = 1;
        nl->nfproto = nfproto;
        int r = str_copy(nl->table, sizeof(nl->table), table) < 0 ? -EINVAL : 0;
        if (r == 0) {
                nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
                if (nl->fd < 0)
                        r = -errno;
        }
        /* The pool kills a worker whose call outlives its timeout; this bound
         * only keeps a lost reply from blocking forever. */
        struct timeval tv = {.tv_sec = BW_CONNECTOR_TIMEOUT_MS_MAX / 1000};
        if (r == 0 && setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                r = -errno;
        if (r < 0) {
                nft_netlink_close(nl);
                return r;
        }
        *ret = nl;
        return 0;
}

void nft_netlink_close(nft_netlink *nl) {
        if (!nl)
                return;
        if (nl->fd >= 0)
                close(nl->fd);
        free(nl);
}

/* --- Requests ----------------------------------------------------------------- */

static void *nft_netlink_reserve(nft_netlink_req *q, size_t len) {
        size_t need = NLMSG_ALIGN(len);
        if (q->overflow || need > sizeof(q->u.data) - q->len) {
                q->overflow = true;
                return NULL;
        }
        unsigned char *p = q->u.data + q->len;
        memset(p, 0, need);
        q->len += need;
        return p;
}

/* Starts one message; returns its offset for nft_netlink_end. */
static size_t nft_netlink_begin(nft_netlink_req *q, uint16_t type, uint32_t seq, uint8_t family) {
        size_t off = q->len;
        struct nlmsghdr *h = nft_netlink_reserve(q, NLMSG_HDRLEN);
        struct nfgenmsg *g = nft_netlink_reserve(q, sizeof(*g));
        if (h && g) {
                h->nlmsg_type = (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | type);
                h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
                h->nlmsg_seq = seq;
                g->nfgen_family = family;
                g->version = NFNETLINK_V0;
        }
        return off;
}

static void nft_netlink_end(nft_netlink_req *q, size_t off) {
        if (!q->overflow)
                ((struct nlmsghdr *)(void *)(q->u.data + off))->nlmsg_len = (uint32_t)(q->len - off);
}

/* Appends one attribute; a nest (data NULL) is closed by nft_netlink_nest_end
 * with the offset returned. */
static size_t nft_netlink_attr(nft_netlink_req *q, uint16_t type, const void *data, size_t len) {
        size_t off = q->len;
        struct nlattr *a = nft_netlink_reserve(q, NLA_HDRLEN);
        unsigned char *p = data ? nft_netlink_reserve(q, len) : NULL;
        if (a && (p || !data)) {
                a->nla_type = type;
                a->nla_len = (uint16_t)(NLA_HDRLEN + len);
                if (p)
                        memcpy(p, data, len);
        }
        return off;
}

static void nft_netlink_nest_end(nft_netlink_req *q, size_t off) {
        if (!q->overflow)
                ((struct nlattr *)(void *)(q->u.data + off))->nla_len = (uint16_t)(q->len - off);
}

static void nft_netlink_str(nft_netlink_req *q, uint16_t type, const char *s) {
        nft_netlink_attr(q, type, s, strlen(s) + 1);
}

static void nft_netlink_get_set(const nft_netlink *nl, nft_netlink_req *q, const char *set, uint32_t seq) {
        size_t m = nft_netlink_begin(q, NFT_MSG_GETSET, seq, nl->nfproto);
        nft_netlink_str(q, NFTA_SET_TABLE, nl->table);
        nft_netlink_str(q, NFTA_SET_NAME, set);
        nft_netlink_end(q, m);
}

/* --- Replies ------------------------------------------------------------------ */

/* The payload of the first attribute of this type in p[0..len), or NULL. */
static const unsigned char *nft_netlink_nla_find(const unsigned char *p, size_t len, uint16_t type,
                                                 size_t *ret_len) {
        while (len >= NLA_HDRLEN) {
                struct nlattr a;
                memcpy(&a, p, sizeof(a));
                if (a.nla_len < NLA_HDRLEN || a.nla_len > len)
                        return NULL;
                if ((a.nla_type & NLA_TYPE_MASK) == type) {
                        *ret_len = a.nla_len - NLA_HDRLEN;
                        return p + NLA_HDRLEN;
                }
                size_t step = NLA_ALIGN(a.nla_len);
                if (step >= len)
                        return NULL;
                p += step;
                len -= step;
        }
        return NULL;
}

/* A big-endian 32- or 64-bit attribute (nf_tables sends both so); 0 if absent. */
static uint64_t nft_netlink_nla_uint(const unsigned char *p, size_t len, uint16_t type) {
        size_t n = 0;
        const unsigned char *v = nft_netlink_nla_find(p, len, type, &n);
        if (v && n == sizeof(uint32_t)) {
                uint32_t x;
                memcpy(&x, v, sizeof(x));
                return be32toh(x);
        }
        if (v && n == sizeof(uint64_t)) {
                uint64_t x;
                memcpy(&x, v, sizeof(x));
                return be64toh(x);
        }
        return 0;
}

static void nft_netlink_parse(const struct nlmsghdr *h, nft_netlink_reply *rep) {
        size_t head = NLMSG_LENGTH(sizeof(struct nfgenmsg));
        if (h->nlmsg_len < head)
                return;
        const unsigned char *p = (const unsigned char *)h + head;
        size_t len = h->nlmsg_len - head, n = 0;
        if (h->nlmsg_type == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSET)) {
                rep->set_flags = (uint32_t)nft_netlink_nla_uint(p, len, NFTA_SET_FLAGS);
                rep->set_key_len = (uint32_t)nft_netlink_nla_uint(p, len, NFTA_SET_KEY_LEN);
        } else if (h->nlmsg_type == (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM)) {
                const unsigned char *list = nft_netlink_nla_find(p, len, NFTA_SET_ELEM_LIST_ELEMENTS, &n);
                const unsigned char *elem = list ? nft_netlink_nla_find(list, n, NFTA_LIST_ELEM, &n) : NULL;
                if (elem) {
                        rep->timeout_ms = nft_netlink_nla_uint(elem, n, NFTA_SET_ELEM_TIMEOUT);
                        rep->expires_ms = nft_netlink_nla_uint(elem, n, NFTA_SET_ELEM_EXPIRATION);
                }
        }
}

/* The next complete message at *off of a datagram of len bytes, or NULL (the
 * NLMSG_OK/NLMSG_NEXT macros mix signed and unsigned lengths). */
static const struct nlmsghdr *nft_netlink_next(const unsigned char *base, size_t len, size_t *off) {
        if (*off > len || len - *off < sizeof(struct nlmsghdr))
                return NULL;
        const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)(base + *off);
        if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - *off)
                return NULL;
        size_t step = NLMSG_ALIGN(h->nlmsg_len);
        *off = step > len - *off ? len : *off + step;
        return h;
}

/* Sends the n (at most 2) messages of q, numbered from first, and reads until
 * each is acknowledged. Returns 0 with what the kernel said (its refusals are
 * in ret->err), or -errno if the exchange itself failed. */
static int nft_netlink_exchange(nft_netlink *nl, const nft_netlink_req *q, uint32_t first, size_t n,
                                nft_netlink_reply *ret) {
        if (q->overflow)
                return -EMSGSIZE;
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        ssize_t sent = sendto(nl->fd, q->u.data, q->len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
        if (sent < 0)
                return -errno;
        if ((size_t)sent != q->len)
                return -EIO;
        nft_netlink_reply rep = {0};
        size_t acked = 0;
        union {
                struct nlmsghdr align;
                unsigned char data[BW_NFT_NL_REPLY_MAX];
        } buf;
        while (acked < n) {
                struct sockaddr_nl from = {0};
                socklen_t fromlen = sizeof(from);
                ssize_t got = recvfrom(nl->fd, buf.data, sizeof(buf.data), MSG_TRUNC,
                                       (struct sockaddr *)&from, &fromlen);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
                if ((size_t)got > sizeof(buf.data))
                        return -EMSGSIZE;
                /* Only the kernel (port 0) answers requests; any other sender is ignored. */
                if (from.nl_pid != 0)
                        continue;
                size_t off = 0;
                for (const struct nlmsghdr *h;
                     (h = nft_netlink_next(buf.data, (size_t)got, &off)) != NULL;) {
                        /* A reply to an earlier request that timed out is skipped. */
                        uint32_t i = h->nlmsg_seq - first;
                        if (i >= n)
                                continue;
                        if (h->nlmsg_type != NLMSG_ERROR) {
                                nft_netlink_parse(h, &rep);
                                continue;
                        }
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                                return -EIO;
                        struct nlmsgerr e;
                        memcpy(&e, NLMSG_DATA(h), sizeof(e));
                        rep.err[i] = e.error > 0 ? -EIO : e.error;
                        acked++;
                }
        }
        *ret = rep;
        return 0;
}

/* --- Calls -------------------------------------------------------------------- */

/* Asks for the set and the element in one request: the kernel answers ENOENT
 * both for an absent element and for a missing table or set, and the set's own
 * answer tells the two apart. */
int nft_netlink_lookup(nft_netlink *nl, const char *set, const void *key, size_t key_len,
                       nft_netlink_elem *ret, char *why, size_t whylen) {
        nft_netlink_req q = {.len = 0};
        uint32_t first = nl->seq;
        nl->seq += 2;
        nft_netlink_get_set(nl, &q, set, first);
        size_t m = nft_netlink_begin(&q, NFT_MSG_GETSETELEM, first + 1, nl->nfproto);
        nft_netlink_str(&q, NFTA_SET_ELEM_LIST_TABLE, nl->table);
        nft_netlink_str(&q, NFTA_SET_ELEM_LIST_SET, set);
        size_t list = nft_netlink_attr(&q, NLA_F_NESTED | NFTA_SET_ELEM_LIST_ELEMENTS, NULL, 0);
        size_t elem = nft_netlink_attr(&q, NLA_F_NESTED | NFTA_LIST_ELEM, NULL, 0);
        size_t k = nft_netlink_attr(&q, NLA_F_NESTED | NFTA_SET_ELEM_KEY, NULL, 0);
        nft_netlink_attr(&q, NFTA_DATA_VALUE, key, key_len);
        nft_netlink_nest_end(&q, k);
        nft_netlink_nest_end(&q, elem);
        nft_netlink_nest_end(&q, list);
        nft_netlink_end(&q, m);
        nft_netlink_reply rep;
        int r = nft_netlink_exchange(nl, &q, first, 2, &rep);
        if (r < 0) {
                snprintf(why, whylen, "netlink: %s", strerror(-r));
                return r;
        }
        if (rep.err[0] < 0) {
                snprintf(why, whylen, "the set cannot be read: %s", strerror(-rep.err[0]));
                return rep.err[0];
        }
        if (rep.err[1] < 0 && rep.err[1] != -ENOENT) {
                snprintf(why, whylen, "the lookup failed: %s", strerror(-rep.err[1]));
                return rep.err[1];
        }
        if (rep.err[1] == -ENOENT)
                return 0;
        *ret = (nft_netlink_elem){.timeout_ms = rep.timeout_ms, .expires_ms = rep.expires_ms};
        return 1;
}

int nft_netlink_check_set(nft_netlink *nl, const char *set, uint32_t flags, uint32_t mask, uint32_t key_len,
                          char *why, size_t whylen) {
        nft_netlink_req q = {.len = 0};
        uint32_t seq = nl->seq++;
        nft_netlink_get_set(nl, &q, set, seq);
        nft_netlink_reply rep;
        int r = nft_netlink_exchange(nl, &q, seq, 1, &rep);
        if (r == 0)
                r = rep.err[0];
        if (r < 0) {
                snprintf(why, whylen, "%s", r == -ENOENT ? "does not exist" : strerror(-r));
                return r;
        }
        if ((rep.set_flags & mask) != flags || rep.set_key_len != key_len)
                return -EMEDIUMTYPE;
        return 0;
}
