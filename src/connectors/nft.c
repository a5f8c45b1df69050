/* SPDX-License-Identifier: Apache-2.0 */
/* The nft connector kind: blocks and unblocks addresses in nftables sets through
 * libnftables' JSON API, with a snapshot and rollback scoped to the action's
 * targets. Runs in its integration's worker; targets derive from alerts and are
 * parsed again here. */
#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "connectors/kind.h"
#include "util/strutil.h"

typedef enum {
        NFT_IP_V4,
        NFT_IP_V6,
        _NFT_IP_MAX,
} nft_ip;

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

typedef struct nft_state {
        struct nft_ctx *ctx; /* one per worker, reused by every call */
        char family[8];
        char table[BW_NAME_MAX + 1];
        char set[_NFT_IP_MAX][BW_NAME_MAX + 1];
        bool has_set[_NFT_IP_MAX]; /* an ip table has no IPv6 set, an ip6 table no IPv4 set */
        int64_t default_timeout_s; /* 0 = blocks without timeout_s are permanent */
} nft_state;

/* One action, parsed and checked. */
typedef struct nft_plan {
        nft_addr *addrs; /* one per target, same order */
        size_t n;
        bool block;
        int64_t timeout_s; /* 0 = none */
} nft_plan;

typedef struct nft_opts {
        const char *family, *table, *set[_NFT_IP_MAX];
        bool create;
        int64_t default_timeout_s;
} nft_opts;

static const setting_spec nft_settings[] = {
        {"family", SETTING_STRING, false, 2, 4, "", "table family: inet, ip or ip6 (default inet)"},
        {"table", SETTING_STRING, false, 1, BW_NAME_MAX, "_.", "table name (default bulwark)"},
        {"set_v4", SETTING_STRING, false, 1, BW_NAME_MAX, "_.",
         "set of IPv4 addresses (default blocklist_v4)"},
        {"set_v6", SETTING_STRING, false, 1, BW_NAME_MAX, "_.",
         "set of IPv6 addresses (default blocklist_v6)"},
        {"create", SETTING_BOOL, false, 0, 0, NULL,
         "at start, create the table and sets if missing, never flushing existing ones (default true)"},
        {"default_timeout_s", SETTING_INT, false, 1, BW_NFT_TIMEOUT_S_MAX, NULL,
         "timeout of a block without timeout_s, in seconds (default none: permanent)"},
        {0},
};

static const char *const nft_set_keys[_NFT_IP_MAX] = {"set_v4", "set_v6"};

static unsigned nft_width(nft_ip ip) {
        return ip == NFT_IP_V4 ? 32 : 128;
}

static int nft_af(nft_ip ip) {
        return ip == NFT_IP_V4 ? AF_INET : AF_INET6;
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

static json_t *nft_elem_json(const nft_addr *a, int64_t timeout_s) {
        json_t *v = nft_addr_json(a);
        if (!v || timeout_s <= 0)
                return v;
        return json_pack("{s{sosI}}", "elem", "val", v, "timeout", (json_int_t)timeout_s);
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

static json_t *nft_cmd_set(const nft_state *s, const char *verb, nft_ip ip) {
        return json_pack("{s{s{ss ss ss}}}", verb, "set", "family", s->family, "table", s->table, "name",
                         s->set[ip]);
}

static json_t *nft_cmd_elements(const nft_state *s, const char *verb, nft_ip ip, json_t *elems) {
        return json_pack("{s{s{ss ss ss so}}}", verb, "element", "family", s->family, "table", s->table,
                         "name", s->set[ip], "elem", elems);
}

static void nft_listing_clear(nft_listing *l) {
        free(l->e);
        *l = (nft_listing){0};
}

/* Lists one set. libnftables 1.0.6's JSON input has no "get element", so the
 * whole set is read; the snapshot keeps only the action's targets. */
static int nft_listing_load(nft_state *s, nft_ip ip, nft_listing *ret, char *why, size_t whylen) {
        json_t *cmds = json_array();
        if (!cmds || json_array_append_new(cmds, nft_cmd_set(s, "list", ip)) < 0) {
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
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)a->params, key, v) {
                if (!p.block || strcmp(key, "timeout_s") != 0)
                        return kind_invalid(res, "params.%s: not a parameter of nft.%s", key, a->verb);
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > BW_NFT_TIMEOUT_S_MAX)
                        return kind_invalid(res, "params.timeout_s: must be an integer within 1..%d",
                                            BW_NFT_TIMEOUT_S_MAX);
                p.timeout_s = json_integer_value(v);
        }
        p.addrs = calloc(a->n_targets, sizeof(nft_addr));
        if (!p.addrs)
                return -ENOMEM;
        p.n = a->n_targets;
        for (size_t i = 0; i < p.n; i++) {
                nft_addr *ad = &p.addrs[i];
                if (nft_addr_parse(a->targets[i], ad) < 0)
                        r = kind_invalid(res, "targets[%zu]: not an IP address or network prefix", i);
                else if (!s->has_set[ad->ip])
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

/* Lists the sets the plan's targets live in. */
static int nft_listings_load(nft_state *s, const nft_plan *p, nft_listing l[_NFT_IP_MAX],
                             connector_result *res) {
        for (size_t i = 0; i < p->n; i++) {
                nft_ip ip = p->addrs[i].ip;
                if (l[ip].loaded)
                        continue;
                char why[256];
                int r = nft_listing_load(s, ip, &l[ip], why, sizeof(why));
                if (r < 0) {
                        kind_result(res, false, "listing %s %s %s: %s", s->family, s->table, s->set[ip],
                                    why);
                        return r;
                }
        }
        return 0;
}

/* Appends one "add"/"delete" element command per set that has elements. */
static int nft_cmds_add(const nft_state *s, json_t *cmds, const char *verb, json_t *elems[_NFT_IP_MAX]) {
        for (nft_ip ip = 0; ip < _NFT_IP_MAX; ip++) {
                if (json_array_size(elems[ip]) == 0)
                        continue;
                if (json_array_append_new(cmds, nft_cmd_elements(s, verb, ip, json_incref(elems[ip]))) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Runs the element commands built for an apply or a rollback as one
 * transaction: nft refusing it is the op's outcome (ok = false), not an error. */
static int nft_commit(nft_state *s, json_t *add[_NFT_IP_MAX], json_t *del[_NFT_IP_MAX],
                      connector_result *res, const char *done) {
        json_t *cmds = json_array();
        int r = cmds ? 0 : -ENOMEM;
        if (r == 0)
                r = nft_cmds_add(s, cmds, "delete", del);
        if (r == 0)
                r = nft_cmds_add(s, cmds, "add", add);
        if (r == 0 && json_array_size(cmds) == 0) {
                kind_result(res, true, "nothing to change");
        } else if (r == 0) {
                char why[256];
                r = nft_run(s, cmds, NULL, why, sizeof(why));
                if (r == -EIO) {
                        kind_result(res, false, "nft refused the change: %s", why);
                        r = 0;
                } else if (r == 0) {
                        kind_result(res, true, "%s", done);
                }
        }
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
 * to keep with the action, and rollback can touch nothing else. */
static int nft_snapshot(void *state, const connector_action *a, connector_result *res) {
        nft_plan p = {0};
        nft_listing l[_NFT_IP_MAX] = {0};
        int r = nft_plan_parse(state, a, &p, res);
        if (r < 0)
                return r;
        json_t *elements = json_object();
        r = elements ? nft_listings_load(state, &p, l, res) : -ENOMEM;
        for (size_t i = 0; r == 0 && i < p.n; i++) {
                const nft_elem *e = nft_listing_find(&l[p.addrs[i].ip], &p.addrs[i]);
                json_t *entry = json_pack("{sb}", "present", e != NULL);
                if (entry && e && e->timeout_s > 0) {
                        json_object_set_new(entry, "timeout", json_integer(e->timeout_s));
                        json_object_set_new(entry, "expires", json_integer(e->expires_s));
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
        for (nft_ip ip = 0; ip < _NFT_IP_MAX; ip++)
                nft_listing_clear(&l[ip]);
        nft_plan_clear(&p);
        return r;
}

static int nft_apply(void *state, const connector_action *a, connector_result *res) {
        nft_state *s = state;
        nft_plan p = {0};
        nft_listing l[_NFT_IP_MAX] = {0};
        json_t *elems[_NFT_IP_MAX] = {json_array(), json_array()};
        json_t *none[_NFT_IP_MAX] = {NULL, NULL};
        int r = nft_plan_parse(s, a, &p, res);
        if (r < 0)
                goto out;
        r = elems[NFT_IP_V4] && elems[NFT_IP_V6] ? 0 : -ENOMEM;
        /* Deleting an absent element fails the whole transaction: unblock
         * deletes only what is there. */
        if (r == 0 && !p.block)
                r = nft_listings_load(s, &p, l, res);
        size_t n = 0;
        for (size_t i = 0; r == 0 && i < p.n; i++) {
                const nft_addr *ad = &p.addrs[i];
                if (nft_plan_repeat(&p, i) || (!p.block && !nft_listing_find(&l[ad->ip], ad)))
                        continue;
                json_t *e = p.block ? nft_elem_json(ad, p.timeout_s) : nft_addr_json(ad);
                if (json_array_append_new(elems[ad->ip], e) < 0)
                        r = -ENOMEM;
                n++;
        }
        char done[128];
        snprintf(done, sizeof(done), "%s %zu element(s) in %s %s", p.block ? "added" : "deleted", n,
                 s->family, s->table);
        if (r == 0)
                r = p.block ? nft_commit(s, elems, none, res, done) : nft_commit(s, none, elems, res, done);
out:
        for (nft_ip ip = 0; ip < _NFT_IP_MAX; ip++) {
                json_decref(elems[ip]);
                nft_listing_clear(&l[ip]);
        }
        nft_plan_clear(&p);
        return r;
}

static int nft_verify(void *state, const connector_action *a, connector_result *res) {
        nft_plan p = {0};
        nft_listing l[_NFT_IP_MAX] = {0};
        int r = nft_plan_parse(state, a, &p, res);
        if (r < 0)
                return r;
        r = nft_listings_load(state, &p, l, res);
        size_t i = 0;
        while (r == 0 && i < p.n && (nft_listing_find(&l[p.addrs[i].ip], &p.addrs[i]) != NULL) == p.block)
                i++;
        if (r == 0 && i < p.n)
                kind_result(res, false, "targets[%zu] (%s) is %s", i, a->targets[i],
                            p.block ? "not in the set" : "still in the set");
        else if (r == 0)
                kind_result(res, true, "all %zu target(s) %s", p.n,
                            p.block ? "in the set" : "out of the set");
        for (nft_ip ip = 0; ip < _NFT_IP_MAX; ip++)
                nft_listing_clear(&l[ip]);
        nft_plan_clear(&p);
        return r;
}

/* Restores the snapshot in one transaction: deletes what was absent and is
 * there, re-adds what was present and is gone or changed, with the time it had
 * left. */
static int nft_rollback(void *state, const connector_action *a, connector_result *res) {
        nft_state *s = state;
        const json_t *recorded = json_object_get(a->snapshot, "elements");
        if (!json_is_object(recorded))
                return kind_invalid(res, "snapshot: no elements recorded");
        nft_plan p = {0};
        nft_listing l[_NFT_IP_MAX] = {0};
        json_t *add[_NFT_IP_MAX] = {json_array(), json_array()};
        json_t *del[_NFT_IP_MAX] = {json_array(), json_array()};
        int r = nft_plan_parse(s, a, &p, res);
        if (r < 0)
                goto out;
        r = add[0] && add[1] && del[0] && del[1] ? 0 : -ENOMEM;
        if (r == 0)
                r = nft_listings_load(s, &p, l, res);
        for (size_t i = 0; r == 0 && i < p.n; i++) {
                const nft_addr *ad = &p.addrs[i];
                const json_t *entry = json_object_get(recorded, a->targets[i]);
                if (!json_is_boolean(json_object_get(entry, "present"))) {
                        r = kind_invalid(res, "snapshot: nothing recorded for targets[%zu]", i);
                        break;
                }
                bool was = json_is_true(json_object_get(entry, "present"));
                const nft_elem *now = nft_listing_find(&l[ad->ip], ad);
                int64_t timeout = json_integer_value(json_object_get(entry, "timeout"));
                int64_t expires = json_integer_value(json_object_get(entry, "expires"));
                /* Present before and now: "add" may have refreshed or removed its
                 * timeout (the kernel updates existing elements), which time
                 * passing alone never does. */
                bool changed = now && (now->timeout_s != timeout || now->expires_s > expires);
                if (nft_plan_repeat(&p, i) || (!was && !now) || (was && now && !changed))
                        continue;
                if (now && json_array_append_new(del[ad->ip], nft_addr_json(ad)) < 0)
                        r = -ENOMEM;
                /* An element whose timeout ran out since the snapshot would have
                 * left the set anyway: it is not brought back. */
                if (!was || (timeout > 0 && expires <= 0))
                        continue;
                if (json_array_append_new(add[ad->ip], nft_elem_json(ad, timeout > 0 ? expires : 0)) < 0)
                        r = -ENOMEM;
        }
        if (r == 0)
                r = nft_commit(s, add, del, res, "restored the snapshot");
out:
        for (nft_ip ip = 0; ip < _NFT_IP_MAX; ip++) {
                json_decref(add[ip]);
                json_decref(del[ip]);
                nft_listing_clear(&l[ip]);
        }
        nft_plan_clear(&p);
        return r;
}

static int nft_read_opts(const json_t *settings, nft_opts *o, bw_error *err) {
        const setting_spec *t = nft_settings;
        int r;
        if ((r = kind_get_str(settings, t, "family", "inet", &o->family, err)) < 0 ||
            (r = kind_get_str(settings, t, "table", "bulwark", &o->table, err)) < 0 ||
            (r = kind_get_str(settings, t, "set_v4", "blocklist_v4", &o->set[NFT_IP_V4], err)) < 0 ||
            (r = kind_get_str(settings, t, "set_v6", "blocklist_v6", &o->set[NFT_IP_V6], err)) < 0 ||
            (r = kind_get_bool(settings, t, "create", true, &o->create, err)) < 0 ||
            (r = kind_get_int(settings, t, "default_timeout_s", 0, &o->default_timeout_s, err)) < 0)
                return r;
        if (strcmp(o->family, "inet") != 0 && strcmp(o->family, "ip") != 0 && strcmp(o->family, "ip6") != 0)
                return bw_error_set(err, "invalid", "family", "must be inet, ip or ip6");
        /* nft's own syntax needs names that start with a letter. */
        const char *names[] = {o->table, o->set[NFT_IP_V4], o->set[NFT_IP_V6]};
        const char *keys[] = {"table", nft_set_keys[NFT_IP_V4], nft_set_keys[NFT_IP_V6]};
        for (size_t i = 0; i < 3; i++) {
                char c = names[i][0];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
                        return bw_error_set(err, "invalid", keys[i], "must start with a letter");
        }
        if (strcmp(o->family, "inet") == 0 && strcmp(o->set[NFT_IP_V4], o->set[NFT_IP_V6]) == 0)
                return bw_error_set(err, "invalid", "set_v6", "must differ from set_v4");
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
        free(s);
}

/* create: "add" leaves an existing table or set (and its elements) alone. */
static int nft_prepare(nft_state *s, bool create, bw_error *err) {
        char why[256];
        if (!create) {
                for (nft_ip ip = 0; ip < _NFT_IP_MAX; ip++) {
                        nft_listing l = {0};
                        int r = s->has_set[ip] ? nft_listing_load(s, ip, &l, why, sizeof(why)) : 0;
                        nft_listing_clear(&l);
                        if (r < 0) {
                                bw_error_set(err, "open_failed", nft_set_keys[ip],
                                             "set %s %s %s is unusable (create is false): %s", s->family,
                                             s->table, s->set[ip], why);
                                return r;
                        }
                }
                return 0;
        }
        json_t *cmds = json_array();
        int r = cmds ? json_array_append_new(cmds, json_pack("{s{s{ssss}}}", "add", "table", "family",
                                                             s->family, "name", s->table))
                     : -ENOMEM;
        for (nft_ip ip = 0; r == 0 && ip < _NFT_IP_MAX; ip++) {
                if (!s->has_set[ip])
                        continue;
                json_t *cmd = nft_cmd_set(s, "add", ip);
                json_t *set = json_object_get(json_object_get(cmd, "add"), "set");
                if (!set ||
                    json_object_set_new(set, "type",
                                        json_string(ip == NFT_IP_V4 ? "ipv4_addr" : "ipv6_addr")) < 0 ||
                    json_object_set_new(set, "flags", json_pack("[ss]", "interval", "timeout")) < 0)
                        r = -ENOMEM;
                if (json_array_append_new(cmds, cmd) < 0)
                        r = -ENOMEM;
        }
        if (r == 0)
                r = nft_run(s, cmds, NULL, why, sizeof(why));
        json_decref(cmds);
        if (r == -EIO)
                bw_error_set(err, "open_failed", "table", "cannot create %s %s and its sets: %s", s->family,
                             s->table, why);
        return r;
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
        for (nft_ip ip = 0; ip < _NFT_IP_MAX; ip++)
                str_copy(s->set[ip], sizeof(s->set[ip]), o.set[ip]);
        s->has_set[NFT_IP_V4] = strcmp(o.family, "ip6") != 0;
        s->has_set[NFT_IP_V6] = strcmp(o.family, "ip") != 0;
        s->default_timeout_s = o.default_timeout_s;
        s->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        r = s->ctx ? 0 : -ENOMEM;
        if (r == 0) {
                nft_ctx_output_set_flags(s->ctx, NFT_CTX_OUTPUT_JSON);
                if (nft_ctx_buffer_output(s->ctx) != 0 || nft_ctx_buffer_error(s->ctx) != 0)
                        r = -ENOMEM;
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

static const connector_verb nft_verbs[] = {
        {"block", 1u << TARGET_IP, true},
        {"unblock", 1u << TARGET_IP, true},
        {0},
};

const connector_kind nft_kind = {
        .name = "nft",
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
};
