/* SPDX-License-Identifier: Apache-2.0 */
/* The nft connector kind: blocks and unblocks addresses in nftables sets (host
 * addresses in hash sets, networks in interval sets) with a snapshot and
 * rollback scoped to the action's targets. Runs in its integration's worker;
 * targets derive from alerts and are parsed again here. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/limits.h"
#include "connectors/kind.h"
#include "connectors/nft_netlink.h"
#include "util/strutil.h"

typedef enum {
        NFT_IP_V4,
        NFT_IP_V6,
        _NFT_IP_MAX,
} nft_ip;

/* Hosts (full-length prefixes, the common case) live in hash sets, where an
 * add or a lookup costs the same at any size; networks live in interval sets,
 * which libnftables loads whole before every change to check overlaps. */
typedef enum {
        NFT_SET_HOST_V4,
        NFT_SET_HOST_V6,
        NFT_SET_NET_V4,
        NFT_SET_NET_V6,
        _NFT_SET_MAX,
} nft_set_id;

static const struct {
        const char *key, *def;
        nft_ip ip;
        bool interval;
} nft_sets[_NFT_SET_MAX] = {
        [NFT_SET_HOST_V4] = {"set_v4", "blocklist_v4", NFT_IP_V4, false},
        [NFT_SET_HOST_V6] = {"set_v6", "blocklist_v6", NFT_IP_V6, false},
        [NFT_SET_NET_V4] = {"net_set_v4", "blocknets_v4", NFT_IP_V4, true},
        [NFT_SET_NET_V6] = {"net_set_v6", "blocknets_v6", NFT_IP_V6, true},
};

typedef struct nft_addr {
        nft_ip ip;
        unsigned char bytes[16];
        unsigned len; /* prefix length; the full width for one address */
} nft_addr;

/* One element listed from a set; 0 = no timeout. */
typedef struct nft_elem {
        nft_addr addr;
        int64_t timeout_s, expires_s;
} nft_elem;

typedef struct nft_listing {
        nft_elem *e;
        size_t n;
        bool loaded;
} nft_listing;

/* What a set holds for one target now. */
typedef struct nft_found {
        bool present;
        int64_t timeout_s, expires_s; /* 0 = none */
} nft_found;

typedef struct nft_state {
        struct nft_ctx *ctx; /* one per worker, reused by every change and listing */
        nft_netlink *nl;     /* single-element lookups in hash sets, set checks */
        char family[8];
        char table[BW_NAME_MAX + 1];
        char set[_NFT_SET_MAX][BW_NAME_MAX + 1];
        bool has_set[_NFT_SET_MAX]; /* an ip table has no IPv6 sets, an ip6 table no IPv4 sets */
        int64_t default_timeout_s;  /* 0 = blocks without timeout_s are permanent */
} nft_state;

/* One action, parsed and checked. */
typedef struct nft_plan {
        nft_addr *addrs; /* one per target, same order */
        size_t n;
        bool block;
        int64_t timeout_s; /* 0 = none */
} nft_plan;

typedef struct nft_opts {
        const char *family, *table, *set[_NFT_SET_MAX];
        bool create;
        int64_t default_timeout_s;
} nft_opts;

static const setting_spec nft_settings[] = {
        {"family", SETTING_STRING, false, 2, 4, "", "table family: inet, ip or ip6 (default inet)"},
        {"table", SETTING_STRING, false, 1, BW_NAME_MAX, "_.", "table name (default bulwark)"},
        {"set_v4", SETTING_STRING, false, 1, BW_NAME_MAX, "_.",
         "hash set (flags timeout) of IPv4 host addresses (default blocklist_v4)"},
        {"set_v6", SETTING_STRING, false, 1, BW_NAME_MAX, "_.",
         "hash set (flags timeout) of IPv6 host addresses (default blocklist_v6)"},
        {"net_set_v4", SETTING_STRING, false, 1, BW_NAME_MAX, "_.",
         "interval set (flags interval, timeout) of IPv4 networks (default blocknets_v4)"},
        {"net_set_v6", SETTING_STRING, false, 1, BW_NAME_MAX, "_.",
         "interval set (flags interval, timeout) of IPv6 networks (default blocknets_v6)"},
        {"create", SETTING_BOOL, false, 0, 0, NULL,
         "at start, create the table and its four sets if missing, never flushing existing ones (default "
         "true); when false, all four must exist"},
        {"default_timeout_s", SETTING_INT, false, 1, BW_NFT_TIMEOUT_S_MAX, NULL,
         "timeout of a block without timeout_s, in seconds (default none: permanent)"},
        {0},
};

static unsigned nft_width(nft_ip ip) {
        return ip == NFT_IP_V4 ? 32 : 128;
}

static int nft_af(nft_ip ip) {
        return ip == NFT_IP_V4 ? AF_INET : AF_INET6;
}

static nft_set_id nft_set_of(const nft_addr *a) {
        if (a->len == nft_width(a->ip))
                return a->ip == NFT_IP_V4 ? NFT_SET_HOST_V4 : NFT_SET_HOST_V6;
        return a->ip == NFT_IP_V4 ? NFT_SET_NET_V4 : NFT_SET_NET_V6;
}

/* An element timed by the set's default timeout (an administrator's set)
 * reports no timeout of its own, only the time it has left: that is what a
 * restore needs. */
static nft_found nft_found_make(int64_t timeout_s, int64_t expires_s) {
        return (nft_found){
                .present = true,
                .timeout_s = timeout_s > 0 ? timeout_s : expires_s,
                .expires_s = expires_s,
        };
}

/* addr with prefix length len (negative: the full width). Host bits must be
 * zero: the normalised form, and what nft itself lists. */
static int nft_addr_from(const char *addr, int64_t len, nft_addr *ret) {
        nft_addr a = {.ip = strchr(addr, ':') ? NFT_IP_V6 : NFT_IP_V4};
        if (inet_pton(nft_af(a.ip), addr, a.bytes) != 1)
                return -EINVAL;
        unsigned width = nft_width(a.ip);
        if (len > (int64_t)width)
                return -EINVAL;
        a.len = len < 0 ? width : (unsigned)len;
        for (unsigned bit = a.len; bit < width; bit++)
                if (a.bytes[bit / 8] & (0x80u >> (bit % 8)))
                        return -EINVAL;
        *ret = a;
        return 0;
}

/* "192.0.2.1", "198.51.100.0/24", "2001:db8::/48". */
static int nft_addr_parse(const char *text, nft_addr *ret) {
        char copy[INET6_ADDRSTRLEN + 5];
        if (str_copy(copy, sizeof(copy), text) < 0)
                return -EINVAL;
        char *slash = strchr(copy, '/');
        int64_t len = -1;
        if (slash) {
                *slash = '\0';
                if (parse_int64(slash + 1, 0, 128, &len) < 0)
                        return -EINVAL;
        }
        return nft_addr_from(copy, len, ret);
}

static bool nft_addr_equal(const nft_addr *a, const nft_addr *b) {
        return a->ip == b->ip && a->len == b->len && memcmp(a->bytes, b->bytes, nft_width(a->ip) / 8) == 0;
}

static json_t *nft_addr_json(const nft_addr *a) {
        char text[INET6_ADDRSTRLEN];
        if (!inet_ntop(nft_af(a->ip), a->bytes, text, sizeof(text)))
                return NULL;
        if (a->len == nft_width(a->ip))
                return json_string(text);
        return json_pack("{s{sssi}}", "prefix", "addr", text, "len", (int)a->len);
}

/* An element to add: timed if timeout_s > 0, with expires_s (> 0) left of it. */
static json_t *nft_elem_json(const nft_addr *a, int64_t timeout_s, int64_t expires_s) {
        json_t *v = nft_addr_json(a);
        if (!v || timeout_s <= 0)
                return v;
        json_t *e = json_pack("{s{sosI}}", "elem", "val", v, "timeout", (json_int_t)timeout_s);
        if (e && expires_s > 0 &&
            json_object_set_new(json_object_get(e, "elem"), "expires", json_integer(expires_s)) < 0) {
                json_decref(e);
                return NULL;
        }
        return e;
}

/* One element as nft lists it: "a", {"prefix": ...} or {"elem": {"val", "timeout", "expires"}}. */
static int nft_elem_parse(const json_t *j, nft_elem *ret) {
        nft_elem e = {0};
        const json_t *inner = json_object_get(j, "elem");
        const json_t *val = inner ? json_object_get(inner, "val") : j;
        if (inner) {
                e.timeout_s = json_integer_value(json_object_get(inner, "timeout"));
                e.expires_s = json_integer_value(json_object_get(inner, "expires"));
        }
        const json_t *prefix = json_object_get(val, "prefix");
        int r;
        if (json_is_string(val))
                r = nft_addr_from(json_string_value(val), -1, &e.addr);
        else if (json_is_string(json_object_get(prefix, "addr")) &&
                 json_is_integer(json_object_get(prefix, "len")))
                r = nft_addr_from(json_string_value(json_object_get(prefix, "addr")),
                                  json_integer_value(json_object_get(prefix, "len")), &e.addr);
        else
                r = -EINVAL; /* a range: never one of ours */
        if (r == 0)
                *ret = e;
        return r;
}

/* nft's own message, e.g. "Error: interval overlaps with an existing one". */
static void nft_error_text(const char *errs, char *why, size_t len) {
        const char *p = errs ? strstr(errs, "Error: ") : NULL;
        p = p ? p + strlen("Error: ") : errs ? errs : "";
        size_t n = strcspn(p, "\n");
        if (n >= len)
                n = len - 1;
        memcpy(why, p, n);
        why[n] = '\0';
        if (!why[0])
                str_copy(why, len, "nft failed without a message");
}

/* Runs a batch of JSON commands as one transaction. Returns 0 (with nft's
 * output, valid until the next call), -ENOMEM, or -EIO with why. */
static int nft_run(nft_state *s, const json_t *cmds, const char **ret_output, char *why, size_t whylen) {
        json_t *root = json_pack("{sO}", "nftables", cmds);
        char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
        json_decref(root);
        if (!text)
                return -ENOMEM;
        int rc = nft_run_cmd_from_buffer(s->ctx, text);
        free(text);
        /* Reading the buffers also resets them for the next command. */
        const char *out = nft_ctx_get_output_buffer(s->ctx);
        const char *errs = nft_ctx_get_error_buffer(s->ctx);
        if (rc != 0) {
                nft_error_text(errs, why, whylen);
                return -EIO;
        }
        if (ret_output)
                *ret_output = out;
        return 0;
}

static json_t *nft_cmd_set(const nft_state *s, const char *verb, nft_set_id id) {
        return json_pack("{s{s{ss ss ss}}}", verb, "set", "family", s->family, "table", s->table, "name",
                         s->set[id]);
}

static json_t *nft_cmd_elements(const nft_state *s, const char *verb, nft_set_id id, json_t *elems) {
        return json_pack("{s{s{ss ss ss so}}}", verb, "element", "family", s->family, "table", s->table,
                         "name", s->set[id], "elem", elems);
}

/* --- Listings of interval sets -------------------------------------------------- */

static void nft_listing_clear(nft_listing *l) {
        free(l->e);
        *l = (nft_listing){0};
}

/* Lists one interval set. Networks are few; a lookup in an interval set would
 * need the range's two ends and libnftables lists the set before changing it
 * anyway, so these sets are read whole, once per op at most. */
static int nft_listing_load(nft_state *s, nft_set_id id, nft_listing *ret, char *why, size_t whylen) {
        json_t *cmds = json_array();
        if (!cmds || json_array_append_new(cmds, nft_cmd_set(s, "list", id)) < 0) {
                json_decref(cmds);
                return -ENOMEM;
        }
        const char *out = NULL;
        int r = nft_run(s, cmds, &out, why, whylen);
        json_decref(cmds);
        if (r < 0)
                return r;
        json_t *root = json_loads(out, 0, NULL);
        json_t *items = json_object_get(root, "nftables");
        const json_t *elems = NULL;
        for (size_t i = 0; i < json_array_size(items); i++) {
                json_t *set = json_object_get(json_array_get(items, i), "set");
                if (set)
                        elems = json_object_get(set, "elem");
        }
        nft_listing l = {.loaded = true};
        size_t n = json_array_size(elems);
        if (n) {
                l.e = calloc(n, sizeof(nft_elem));
                if (!l.e) {
                        json_decref(root);
                        return -ENOMEM;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (nft_elem_parse(json_array_get(elems, i), &l.e[l.n]) == 0)
                        l.n++;
        json_decref(root);
        *ret = l;
        return 0;
}

static const nft_elem *nft_listing_find(const nft_listing *l, const nft_addr *a) {
        for (size_t i = 0; i < l->n; i++)
                if (nft_addr_equal(&l->e[i].addr, a))
                        return &l->e[i];
        return NULL;
}

/* What the target's set holds for it: one kernel lookup for a host, the
 * op's listing (loaded on first use) for a network. On failure res says which
 * target and set. */
static int nft_find(nft_state *s, const nft_addr *a, const char *target, nft_listing l[_NFT_SET_MAX],
                    nft_found *ret, connector_result *res) {
        nft_set_id id = nft_set_of(a);
        char why[256];
        int r;
        if (!nft_sets[id].interval) {
                nft_netlink_elem k;
                r = nft_netlink_lookup(s->nl, s->set[id], a->bytes, nft_width(a->ip) / 8, &k, why,
                                       sizeof(why));
                if (r > 0)
                        *ret = nft_found_make((int64_t)(k.timeout_ms / 1000),
                                              (int64_t)(k.expires_ms / 1000));
                else if (r == 0)
                        *ret = (nft_found){0};
        } else {
                r = l[id].loaded ? 0 : nft_listing_load(s, id, &l[id], why, sizeof(why));
                const nft_elem *e = r == 0 ? nft_listing_find(&l[id], a) : NULL;
                if (r == 0)
                        *ret = e ? nft_found_make(e->timeout_s, e->expires_s) : (nft_found){0};
        }
        if (r < 0 && r != -ENOMEM)
                kind_result(res, false, "looking up %s in %s %s %s: %s", target, s->family, s->table,
                            s->set[id], why);
        return r < 0 ? r : 0;
}

static void nft_listings_clear(nft_listing l[_NFT_SET_MAX]) {
        for (nft_set_id id = 0; id < _NFT_SET_MAX; id++)
                nft_listing_clear(&l[id]);
}

/* --- Actions ------------------------------------------------------------------ */

static void nft_plan_clear(nft_plan *p) {
        free(p->addrs);
        *p = (nft_plan){0};
}

/* True if target i repeats an earlier one (one transaction must not add or
 * delete the same element twice). */
static bool nft_plan_repeat(const nft_plan *p, size_t i) {
        for (size_t j = 0; j < i; j++)
                if (nft_addr_equal(&p->addrs[j], &p->addrs[i]))
                        return true;
        return false;
}

static int nft_plan_parse(const nft_state *s, const connector_action *a, nft_plan *ret,
                          connector_result *res) {
        int r = kind_check_action(&nft_kind, a, res);
        if (r < 0)
                return r;
        nft_plan p = {.block = strcmp(a->verb, "block") == 0, .timeout_s = s->default_timeout_s};
        /* kind_check_action checked the params against the verb's table: only
         * block has timeout_s, an integer within its range. */
        const json_t *timeout = json_object_get(a->params, "timeout_s");
        if (timeout)
                p.timeout_s = json_integer_value(timeout);
        p.addrs = calloc(a->n_targets, sizeof(nft_addr));
        if (!p.addrs)
                return -ENOMEM;
        p.n = a->n_targets;
        for (size_t i = 0; i < p.n; i++) {
                nft_addr *ad = &p.addrs[i];
                if (nft_addr_parse(a->targets[i], ad) < 0)
                        r = kind_invalid(res, "targets[%zu]: not an IP address or network prefix", i);
                else if (!s->has_set[nft_set_of(ad)])
                        r = kind_invalid(res, "targets[%zu]: a %s table has no IPv%c set", i, s->family,
                                         ad->ip == NFT_IP_V4 ? '4' : '6');
                else if (ad->len < (ad->ip == NFT_IP_V4 ? BW_NFT_PREFIX_MIN_V4 : BW_NFT_PREFIX_MIN_V6))
                        r = kind_invalid(res, "targets[%zu]: wider than /%u", i,
                                         ad->ip == NFT_IP_V4 ? BW_NFT_PREFIX_MIN_V4 : BW_NFT_PREFIX_MIN_V6);
                if (r < 0) {
                        nft_plan_clear(&p);
                        return r;
                }
        }
        *ret = p;
        return 0;
}

/* Element lists per set, for one transaction. */
typedef struct nft_change {
        json_t *add[_NFT_SET_MAX], *del[_NFT_SET_MAX];
} nft_change;

static int nft_change_init(nft_change *c) {
        *c = (nft_change){0};
        for (nft_set_id id = 0; id < _NFT_SET_MAX; id++) {
                c->add[id] = json_array();
                c->del[id] = json_array();
                if (!c->add[id] || !c->del[id])
                        return -ENOMEM;
        }
        return 0;
}

static void nft_change_clear(nft_change *c) {
        for (nft_set_id id = 0; id < _NFT_SET_MAX; id++) {
                json_decref(c->add[id]);
                json_decref(c->del[id]);
        }
        *c = (nft_change){0};
}

static int nft_change_append(json_t *list[_NFT_SET_MAX], const nft_addr *a, json_t *e) {
        return json_array_append_new(list[nft_set_of(a)], e) < 0 ? -ENOMEM : 0;
}

/* Appends one "add"/"delete" element command per set that has elements. */
static int nft_cmds_add(const nft_state *s, json_t *cmds, const char *verb, json_t *elems[_NFT_SET_MAX]) {
        for (nft_set_id id = 0; id < _NFT_SET_MAX; id++) {
                if (json_array_size(elems[id]) == 0)
                        continue;
                if (json_array_append_new(cmds, nft_cmd_elements(s, verb, id, json_incref(elems[id]))) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Runs the change built for an apply or a rollback as one transaction, and
 * reports done when it went through (or was empty): nft refusing it is the
 * op's outcome (ok = false), not an error. */
static int nft_commit(nft_state *s, nft_change *c, connector_result *res, const char *done) {
        json_t *cmds = json_array();
        int r = cmds ? 0 : -ENOMEM;
        if (r == 0)
                r = nft_cmds_add(s, cmds, "delete", c->del);
        if (r == 0)
                r = nft_cmds_add(s, cmds, "add", c->add);
        if (r == 0 && json_array_size(cmds) > 0) {
                char why[256];
                r = nft_run(s, cmds, NULL, why, sizeof(why));
                if (r == -EIO) {
                        kind_result(res, false, "nft refused the change: %s", why);
                        json_decref(cmds);
                        return 0;
                }
        }
        if (r == 0)
                kind_result(res, true, "%s", done);
        json_decref(cmds);
        return r;
}

static int nft_validate(void *state, const connector_action *a, connector_result *res) {
        nft_plan p = {0};
        int r = nft_plan_parse(state, a, &p, res);
        if (r == 0)
                nft_plan_clear(&p);
        return kind_validated(r, res);
}

/* The snapshot covers the action's targets only, on purpose: it is small enough
 * to keep with the action, and rollback can touch nothing else. Each host costs
 * one kernel lookup whatever the size of its set, which also yields the timeout
 * and time left that unblock's rollback restores; networks come from the
 * listing of their set. */
static int nft_snapshot(void *state, const connector_action *a, connector_result *res) {
        nft_plan p = {0};
        nft_listing l[_NFT_SET_MAX] = {0};
        int r = nft_plan_parse(state, a, &p, res);
        if (r < 0)
                return r;
        json_t *elements = json_object();
        r = elements ? 0 : -ENOMEM;
        for (size_t i = 0; r == 0 && i < p.n; i++) {
                nft_found f;
                r = nft_find(state, &p.addrs[i], a->targets[i], l, &f, res);
                if (r < 0)
                        break;
                json_t *entry = json_pack("{sb}", "present", f.present);
                if (entry && f.present && f.timeout_s > 0 &&
                    (json_object_set_new(entry, "timeout", json_integer(f.timeout_s)) < 0 ||
                     json_object_set_new(entry, "expires", json_integer(f.expires_s)) < 0)) {
                        json_decref(entry);
                        entry = NULL;
                }
                if (!entry || json_object_set_new(elements, a->targets[i], entry) < 0)
                        r = -ENOMEM;
        }
        if (r == 0) {
                res->data = json_pack("{so}", "elements", elements);
                elements = NULL;
                r = res->data ? 0 : -ENOMEM;
        }
        if (r == 0)
                kind_result(res, true, "recorded %zu target(s)", p.n);
        json_decref(elements);
        nft_listings_clear(l);
        nft_plan_clear(&p);
        return r;
}

/* block adds only the targets that are absent: a present one is blocked
 * already, and leaving it (and its timeout) alone is what lets rollback delete
 * exactly what was absent before. unblock deletes only the present ones, since
 * deleting an absent element would fail the whole transaction. Adds action a's
 * part to change c; seen (may be NULL) holds the targets a batch already
 * changes, so that one transaction never names an element twice (the engine
 * does not group such actions; this keeps the transaction valid anyway). Fills
 * done with what it will do. */
static int nft_apply_plan(nft_state *s, const connector_action *a, nft_change *c, json_t *seen,
                          connector_result *res, char *done, size_t donelen) {
        nft_plan p = {0};
        nft_listing l[_NFT_SET_MAX] = {0};
        int r = nft_plan_parse(s, a, &p, res);
        size_t changed = 0, unchanged = 0;
        for (size_t i = 0; r == 0 && i < p.n; i++) {
                const nft_addr *ad = &p.addrs[i];
                nft_found f;
                if (nft_plan_repeat(&p, i))
                        continue;
                r = nft_find(s, ad, a->targets[i], l, &f, res);
                if (r < 0)
                        break;
                if (f.present == p.block || (seen && json_object_get(seen, a->targets[i]))) {
                        unchanged++;
                        continue;
                }
                changed++;
                r = p.block ? nft_change_append(c->add, ad, nft_elem_json(ad, p.timeout_s, 0))
                            : nft_change_append(c->del, ad, nft_addr_json(ad));
        }
        if (r == 0)
                snprintf(done, donelen, "%s %zu, already %s %zu in %s %s", p.block ? "added" : "deleted",
                         changed, p.block ? "present" : "absent", unchanged, s->family, s->table);
        nft_listings_clear(l);
        nft_plan_clear(&p);
        return r;
}

static int nft_apply(void *state, const connector_action *a, connector_result *res) {
        nft_change c;
        char done[128];
        int r = nft_change_init(&c);
        if (r == 0)
                r = nft_apply_plan(state, a, &c, NULL, res, done, sizeof(done));
        if (r == 0)
                r = nft_commit(state, &c, res, done);
        nft_change_clear(&c);
        return r;
}

/* A batch of actions of one verb as ONE transaction (the storm path): each
 * action's plan is made as apply makes it, then everything commits at once. An
 * action that fails validation is reported alone; if nft refuses the
 * transaction nothing changed and the caller applies one by one. */
/* Moves the elements of one action's change into the batch's. */
static int nft_change_merge(nft_change *into, nft_change *from) {
        for (nft_set_id id = 0; id < _NFT_SET_MAX; id++)
                if (json_array_extend(into->add[id], from->add[id]) < 0 ||
                    json_array_extend(into->del[id], from->del[id]) < 0)
                        return -ENOMEM;
        return 0;
}

/* Marks an action's targets as changed by the batch. */
static int nft_seen_add(json_t *seen, const connector_action *a) {
        for (size_t i = 0; i < a->n_targets; i++)
                if (json_object_set_new(seen, a->targets[i], json_true()) < 0)
                        return -ENOMEM;
        return 0;
}

static int nft_apply_batch(void *state, const connector_action *actions, size_t n,
                           connector_result *results) {
        nft_change c = {0};
        json_t *seen = json_object();
        bool *planned = calloc(n, sizeof(*planned));
        char(*done)[128] = calloc(n, sizeof(*done));
        int r = seen && planned && done ? nft_change_init(&c) : -ENOMEM;
        for (size_t i = 0; r == 0 && i < n; i++) {
                /* Each action plans into its own change: one that fails halfway adds
                 * nothing to the transaction. */
                nft_change one;
                r = nft_change_init(&one);
                int pr = r == 0 ? nft_apply_plan(state, &actions[i], &one, seen, &results[i], done[i],
                                                 sizeof(done[i]))
                                : r;
                if (pr == 0)
                        pr = nft_change_merge(&c, &one);
                if (pr == 0)
                        pr = nft_seen_add(seen, &actions[i]);
                nft_change_clear(&one);
                if (pr == -ENOMEM)
                        r = pr;
                planned[i] = pr == 0;
                if (pr < 0 && pr != -ENOMEM && !results[i].detail[0])
                        kind_result(&results[i], false, "%s", strerror(-pr));
        }
        connector_result all = {0};
        if (r == 0)
                r = nft_commit(state, &c, &all, "");
        if (r == 0 && !all.ok)
                r = -EIO; /* refused as a whole: nothing changed */
        for (size_t i = 0; r == 0 && i < n; i++)
                if (planned[i])
                        kind_result(&results[i], true, "%s", done[i]);
        connector_result_clear(&all);
        nft_change_clear(&c);
        json_decref(seen);
        free(planned);
        free(done);
        return r;
}

static int nft_verify(void *state, const connector_action *a, connector_result *res) {
        nft_plan p = {0};
        nft_listing l[_NFT_SET_MAX] = {0};
        int r = nft_plan_parse(state, a, &p, res);
        if (r < 0)
                return r;
        size_t i = 0;
        for (; i < p.n; i++) {
                nft_found f;
                r = nft_find(state, &p.addrs[i], a->targets[i], l, &f, res);
                if (r < 0 || f.present != p.block)
                        break;
        }
        if (r == 0 && i < p.n)
                kind_result(res, false, "targets[%zu] (%s) is %s", i, a->targets[i],
                            p.block ? "not in the set" : "still in the set");
        else if (r == 0)
                kind_result(res, true, "all %zu target(s) %s", p.n,
                            p.block ? "in the set" : "out of the set");
        nft_listings_clear(l);
        nft_plan_clear(&p);
        return r;
}

/* Undoes exactly what apply did, in one transaction: block's rollback deletes
 * the targets that were absent in the snapshot (apply left the present ones
 * alone); unblock's re-adds the targets that were present and are gone, with
 * their timeout and the time they had left. */
static int nft_rollback(void *state, const connector_action *a, connector_result *res) {
        nft_state *s = state;
        const json_t *recorded = json_object_get(a->snapshot, "elements");
        if (!json_is_object(recorded))
                return kind_invalid(res, "snapshot: no elements recorded");
        nft_plan p = {0};
        nft_listing l[_NFT_SET_MAX] = {0};
        nft_change c;
        int r = nft_change_init(&c);
        if (r == 0)
                r = nft_plan_parse(s, a, &p, res);
        size_t deleted = 0, added = 0;
        for (size_t i = 0; r == 0 && i < p.n; i++) {
                const nft_addr *ad = &p.addrs[i];
                const json_t *entry = json_object_get(recorded, a->targets[i]);
                if (!json_is_boolean(json_object_get(entry, "present"))) {
                        r = kind_invalid(res, "snapshot: nothing recorded for targets[%zu]", i);
                        break;
                }
                bool was = json_is_true(json_object_get(entry, "present"));
                int64_t timeout = json_integer_value(json_object_get(entry, "timeout"));
                int64_t expires = json_integer_value(json_object_get(entry, "expires"));
                /* What apply left alone stays; so does an element whose timeout
                 * had run out: it would have left the set anyway. */
                if (nft_plan_repeat(&p, i) || was == p.block || (timeout > 0 && expires <= 0))
                        continue;
                nft_found now;
                r = nft_find(s, ad, a->targets[i], l, &now, res);
                if (r < 0 || now.present != p.block)
                        continue;
                if (p.block) {
                        deleted++;
                        r = nft_change_append(c.del, ad, nft_addr_json(ad));
                } else {
                        added++;
                        r = nft_change_append(c.add, ad, nft_elem_json(ad, timeout, expires));
                }
        }
        if (r == 0) {
                char done[128];
                snprintf(done, sizeof(done), "restored the snapshot: deleted %zu, re-added %zu", deleted,
                         added);
                r = nft_commit(s, &c, res, done);
        }
        nft_change_clear(&c);
        nft_listings_clear(l);
        nft_plan_clear(&p);
        return r;
}

/* --- Opening ------------------------------------------------------------------- */

static int nft_read_opts(const json_t *settings, nft_opts *o, bw_error *err) {
        const setting_spec *t = nft_settings;
        int r;
        if ((r = kind_get_str(settings, t, "family", "inet", &o->family, err)) < 0 ||
            (r = kind_get_str(settings, t, "table", "bulwark", &o->table, err)) < 0 ||
            (r = kind_get_bool(settings, t, "create", true, &o->create, err)) < 0 ||
            (r = kind_get_int(settings, t, "default_timeout_s", 0, &o->default_timeout_s, err)) < 0)
                return r;
        for (nft_set_id id = 0; id < _NFT_SET_MAX; id++)
                if ((r = kind_get_str(settings, t, nft_sets[id].key, nft_sets[id].def, &o->set[id], err)) <
                    0)
                        return r;
        if (strcmp(o->family, "inet") != 0 && strcmp(o->family, "ip") != 0 && strcmp(o->family, "ip6") != 0)
                return bw_error_set(err, "invalid", "family", "must be inet, ip or ip6");
        /* nft's own syntax needs names that start with a letter. */
        if (!((o->table[0] >= 'a' && o->table[0] <= 'z') || (o->table[0] >= 'A' && o->table[0] <= 'Z')))
                return bw_error_set(err, "invalid", "table", "must start with a letter");
        for (nft_set_id id = 0; id < _NFT_SET_MAX; id++) {
                char c = o->set[id][0];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
                        return bw_error_set(err, "invalid", nft_sets[id].key, "must start with a letter");
        }
        /* The sets share one table: two settings naming one set would mix hosts
         * and networks, or the families of an inet table. */
        bool v4 = strcmp(o->family, "ip6") != 0, v6 = strcmp(o->family, "ip") != 0;
        for (nft_set_id j = 0; j < _NFT_SET_MAX; j++)
                for (nft_set_id i = 0; i < j; i++) {
                        bool used = (nft_sets[i].ip == NFT_IP_V4 ? v4 : v6) &&
                                    (nft_sets[j].ip == NFT_IP_V4 ? v4 : v6);
                        if (used && strcmp(o->set[i], o->set[j]) == 0)
                                return bw_error_set(err, "invalid", nft_sets[j].key, "must differ from %s",
                                                    nft_sets[i].key);
                }
        return 0;
}

static int nft_check_settings(const json_t *settings, bw_error *err) {
        nft_opts o;
        return nft_read_opts(settings, &o, err);
}

static void nft_close(void *state) {
        nft_state *s = state;
        if (!s)
                return;
        if (s->ctx)
                nft_ctx_free(s->ctx);
        nft_netlink_close(s->nl);
        free(s);
}

/* "add" leaves an existing table or set (and its elements) alone; the kernel
 * refuses it for a set of the same name with other flags. */
static int nft_create(nft_state *s, char *why, size_t whylen) {
        json_t *cmds = json_array();
        int r = cmds ? json_array_append_new(cmds, json_pack("{s{s{ssss}}}", "add", "table", "family",
                                                             s->family, "name", s->table))
                     : -ENOMEM;
        for (nft_set_id id = 0; r == 0 && id < _NFT_SET_MAX; id++) {
                if (!s->has_set[id])
                        continue;
                json_t *cmd = nft_cmd_set(s, "add", id);
                json_t *set = json_object_get(json_object_get(cmd, "add"), "set");
                json_t *flags = nft_sets[id].interval ? json_pack("[ss]", "interval", "timeout")
                                                      : json_pack("[s]", "timeout");
                if (!set ||
                    json_object_set_new(
                            set, "type",
                            json_string(nft_sets[id].ip == NFT_IP_V4 ? "ipv4_addr" : "ipv6_addr")) < 0 ||
                    json_object_set_new(set, "flags", flags) < 0)
                        r = -ENOMEM;
                if (json_array_append_new(cmds, cmd) < 0)
                        r = -ENOMEM;
        }
        if (r == 0)
                r = nft_run(s, cmds, NULL, why, whylen);
        json_decref(cmds);
        return r;
}

/* The set exists and is of its kind: a hash or an interval set, with timeouts,
 * of the right address width. Returns 0, -ENOENT (missing) or another -errno,
 * with why. */
static int nft_check_set(nft_state *s, nft_set_id id, char *why, size_t whylen) {
        bool interval = nft_sets[id].interval;
        uint32_t flags = NFT_SET_TIMEOUT | (interval ? NFT_SET_INTERVAL : 0);
        int r = nft_netlink_check_set(s->nl, s->set[id], flags, NFT_SET_INTERVAL | NFT_SET_TIMEOUT,
                                      nft_width(nft_sets[id].ip) / 8, why, whylen);
        if (r != -EMEDIUMTYPE)
                return r;
        snprintf(why, whylen, "must be %s set of IPv%c addresses with flags %s",
                 interval ? "an interval" : "a hash", nft_sets[id].ip == NFT_IP_V4 ? '4' : '6',
                 interval ? "interval, timeout" : "timeout only");
        return -EINVAL;
}

/* Creates what is missing (if create), then checks each set: a set of the
 * wrong kind, e.g. an interval set left by an older version where hosts go, is
 * named with its setting, which a refused create alone would not say. */
static int nft_prepare(nft_state *s, bool create, bw_error *err) {
        char create_why[256] = "";
        int created = create ? nft_create(s, create_why, sizeof(create_why)) : 0;
        if (created == -ENOMEM)
                return created;
        for (nft_set_id id = 0; id < _NFT_SET_MAX; id++) {
                char why[256];
                int r = s->has_set[id] ? nft_check_set(s, id, why, sizeof(why)) : 0;
                if (r == -ENOENT && created < 0)
                        continue;
                if (r < 0) {
                        bw_error_set(err, "open_failed", nft_sets[id].key, "set %s %s %s %s%s", s->family,
                                     s->table, s->set[id], why,
                                     r == -ENOENT && !create ? " (create is false)" : "");
                        return r;
                }
        }
        if (created < 0)
                bw_error_set(err, "open_failed", "table", "cannot create %s %s and its sets: %s", s->family,
                             s->table, create_why);
        return created;
}

static int nft_open(const json_t *settings, void **ret_state, bw_error *err) {
        nft_opts o;
        int r = nft_read_opts(settings, &o, err);
        if (r < 0)
                return r;
        nft_state *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        str_copy(s->family, sizeof(s->family), o.family);
        str_copy(s->table, sizeof(s->table), o.table);
        for (nft_set_id id = 0; id < _NFT_SET_MAX; id++) {
                str_copy(s->set[id], sizeof(s->set[id]), o.set[id]);
                s->has_set[id] = strcmp(o.family, nft_sets[id].ip == NFT_IP_V4 ? "ip6" : "ip") != 0;
        }
        s->default_timeout_s = o.default_timeout_s;
        s->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        r = s->ctx ? 0 : -ENOMEM;
        if (r == 0) {
                nft_ctx_output_set_flags(s->ctx, NFT_CTX_OUTPUT_JSON);
                if (nft_ctx_buffer_output(s->ctx) != 0 || nft_ctx_buffer_error(s->ctx) != 0)
                        r = -ENOMEM;
        }
        if (r == 0) {
                uint8_t nfproto = strcmp(o.family, "inet") == 0 ? NFPROTO_INET
                                  : strcmp(o.family, "ip") == 0 ? NFPROTO_IPV4
                                                                : NFPROTO_IPV6;
                r = nft_netlink_open(nfproto, s->table, &s->nl);
                if (r < 0)
                        bw_error_set(err, "open_failed", "", "netlink socket: %s", strerror(-r));
        }
        if (r == 0)
                r = nft_prepare(s, o.create, err);
        if (r < 0) {
                nft_close(s);
                return r;
        }
        *ret_state = s;
        return 0;
}

/* A worker that changes one table over netlink: CAP_NET_ADMIN, netlink
 * sockets only, no TCP, and the few files libnftables reads to print and parse
 * names (protocols, services, iproute2's tables). */
static int nft_confine(void *state, const json_t *settings, sandbox_profile *p) {
        (void)state;
        (void)settings;
        static const char *const names[] = {"/etc/protocols", "/etc/services",       "/etc/nsswitch.conf",
                                            "/etc/iproute2",  "/usr/share/iproute2", "/usr/lib/iproute2"};
        p->caps = 1ULL << CAP_NET_ADMIN;
        p->syscalls = SANDBOX_SYSCALLS_NFT;
        p->no_tcp = true;
        int r = 0;
        for (size_t i = 0; r == 0 && i < sizeof(names) / sizeof(names[0]); i++)
                r = sandbox_profile_add(p, names[i], SANDBOX_READ, true);
        return r;
}

static const setting_spec nft_block_params[] = {
        {"timeout_s", SETTING_INT, false, 1, BW_NFT_TIMEOUT_S_MAX, NULL,
         "the kernel removes the element after this many seconds (default: the integration's "
         "default_timeout_s, else never)"},
        {0},
};

static const setting_spec nft_unblock_params[] = {{0}};

static const connector_verb nft_verbs[] = {
        {"block", 1u << TARGET_IP, true, nft_block_params},
        {"unblock", 1u << TARGET_IP, true, nft_unblock_params},
        {0},
};

const connector_kind nft_kind = {
        .name = "nft",
        .expiry_param = "timeout_s",
        .expiry_setting = "default_timeout_s",
        .verbs = nft_verbs,
        .settings = nft_settings,
        .check_settings = nft_check_settings,
        .open = nft_open,
        .close = nft_close,
        .ops =
                {
                        [CONNECTOR_OP_VALIDATE] = nft_validate,
                        [CONNECTOR_OP_SNAPSHOT] = nft_snapshot,
                        [CONNECTOR_OP_APPLY] = nft_apply,
                        [CONNECTOR_OP_VERIFY] = nft_verify,
                        [CONNECTOR_OP_ROLLBACK] = nft_rollback,
                },
        .apply_batch = nft_apply_batch,
        .confine = nft_confine,
};
