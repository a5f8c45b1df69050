/* SPDX-License-Identifier: Apache-2.0 */
/* The governor's decision functions (see governor.h). Pure. */
#include "core/governor.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "util/strutil.h"

#include <pthread.h>
#include <sodium.h>

static const char *const verdict_names[_GOVERNOR_VERDICT_MAX] = {
        [GOVERNOR_ALLOW] = "allowed",
        [GOVERNOR_DENY_CEILING] = "over_ceiling",
        [GOVERNOR_DENY_PROTECTED] = "protected_asset",
};

const char *governor_verdict_name(governor_verdict v) {
        return (unsigned)v < _GOVERNOR_VERDICT_MAX ? verdict_names[v] : "?";
}

/* The permits' key: drawn once per process, never leaves this file. */
static unsigned char permit_key[crypto_generichash_KEYBYTES];
static pthread_once_t permit_key_once = PTHREAD_ONCE_INIT;

static void permit_key_init(void) {
        randombytes_buf(permit_key, sizeof(permit_key));
}

/* Length-prefixed fields, so two different actions never hash alike. */
static void permit_field(crypto_generichash_state *st, const void *data, size_t len) {
        uint64_t n = len;
        crypto_generichash_update(st, (const unsigned char *)&n, sizeof(n));
        crypto_generichash_update(st, data, len);
}

static void permit_seal(int64_t action_id, const char *verb, target_kind kind, char *const *targets,
                        size_t n, const char *key, unsigned char out[32]) {
        pthread_once(&permit_key_once, permit_key_init);
        crypto_generichash_state st;
        crypto_generichash_init(&st, permit_key, sizeof(permit_key), 32);
        uint32_t k = (uint32_t)kind;
        permit_field(&st, &action_id, sizeof(action_id));
        permit_field(&st, verb, strlen(verb));
        permit_field(&st, &k, sizeof(k));
        permit_field(&st, &n, sizeof(n));
        for (size_t i = 0; i < n; i++)
                permit_field(&st, targets[i], strlen(targets[i]));
        permit_field(&st, key, strlen(key));
        crypto_generichash_final(&st, out, 32);
}

void governor_permit_mint(int64_t action_id, const char *verb, target_kind kind, char *const *targets,
                          size_t n, const char *idempotency_key, governor_permit *ret) {
        ret->action_id = action_id;
        permit_seal(action_id, verb, kind, targets, n, idempotency_key, ret->seal);
}

bool governor_permit_valid(const governor_permit *permit, int64_t action_id, const char *verb,
                           target_kind kind, char *const *targets, size_t n, const char *idempotency_key) {
        if (!permit || permit->action_id != action_id || !verb || !idempotency_key || (n > 0 && !targets))
                return false;
        unsigned char want[32];
        permit_seal(action_id, verb, kind, targets, n, idempotency_key, want);
        return sodium_memcmp(want, permit->seal, sizeof(want)) == 0;
}

unsigned governor_ceiling_compiled(target_kind kind) {
        switch (kind) {
        case TARGET_IP:
                return BW_CEILING_IPS;
        case TARGET_ACCOUNT:
                return BW_CEILING_ACCOUNTS;
        case TARGET_HOST:
                return BW_CEILING_HOSTS;
        default:
                return 0;
        }
}

static void approval_policy_init(approval_policy *p);

void governor_policy_init(governor_policy *p) {
        *p = (governor_policy){0};
        approval_policy_init(&p->approvals);
        for (unsigned k = 0; k < _TARGET_KIND_MAX; k++)
                p->ceiling[k] = governor_ceiling_compiled((target_kind)k);
}

int governor_policy_lower(governor_policy *p, target_kind kind, unsigned max) {
        unsigned compiled = governor_ceiling_compiled(kind);
        if (compiled == 0)
                return -EINVAL;
        if (max == 0 || max > compiled)
                return -ERANGE;
        p->ceiling[kind] = max;
        return 0;
}

int governor_policy_lower_action(governor_policy *p, const char *action, target_kind kind, unsigned max) {
        unsigned compiled = governor_ceiling_compiled(kind);
        if (compiled == 0)
                return -EINVAL;
        if (max == 0 || max > compiled)
                return -ERANGE;
        governor_action_ceiling *ac = NULL;
        for (size_t i = 0; i < p->n_action_ceilings && !ac; i++)
                if (strcmp(p->action_ceilings[i].action, action) == 0)
                        ac = &p->action_ceilings[i];
        if (!ac) {
                if (p->n_action_ceilings >= BW_ACTION_CEILINGS_MAX)
                        return -ENOSPC;
                if (strlen(action) >= sizeof(ac->action))
                        return -EINVAL;
                governor_action_ceiling *grown =
                        realloc(p->action_ceilings, (p->n_action_ceilings + 1) * sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                p->action_ceilings = grown;
                ac = &grown[p->n_action_ceilings++];
                *ac = (governor_action_ceiling){0};
                snprintf(ac->action, sizeof(ac->action), "%s", action);
        }
        ac->ceiling[kind] = max;
        return 0;
}

int64_t rate_window_ms(rate_window w) {
        static const int64_t ms[_RATE_WINDOW_MAX] = {60000, 3600000, 86400000};
        return (unsigned)w < _RATE_WINDOW_MAX ? ms[w] : 0;
}

const char *rate_window_name(rate_window w) {
        static const char *const names[_RATE_WINDOW_MAX] = {"minute", "hour", "day"};
        return (unsigned)w < _RATE_WINDOW_MAX ? names[w] : "?";
}

int governor_policy_rate_limit(governor_policy *p, const char *key, rate_window w, unsigned limit) {
        if ((unsigned)w >= _RATE_WINDOW_MAX || strlen(key) >= sizeof(p->rate_limits[0].key))
                return -EINVAL;
        if (limit == 0 || limit > BW_RATE_LIMIT_MAX)
                return -ERANGE;
        governor_rate_limit *rl = NULL;
        for (size_t i = 0; i < p->n_rate_limits && !rl; i++)
                if (strcmp(p->rate_limits[i].key, key) == 0)
                        rl = &p->rate_limits[i];
        if (!rl) {
                if (p->n_rate_limits >= BW_RATE_LIMITS_MAX)
                        return -ENOSPC;
                governor_rate_limit *grown =
                        realloc(p->rate_limits, (p->n_rate_limits + 1) * sizeof(*grown));
                if (!grown)
                        return -ENOMEM;
                p->rate_limits = grown;
                rl = &grown[p->n_rate_limits++];
                *rl = (governor_rate_limit){0};
                snprintf(rl->key, sizeof(rl->key), "%s", key);
        }
        rl->per[w] = limit;
        return 0;
}

size_t governor_budgets_for(const governor_policy *p, const char *connector, const char *verb,
                            governor_budget out[GOVERNOR_BUDGETS_MAX]) {
        char kind[2 * BW_NAME_MAX + 2];
        snprintf(kind, sizeof(kind), "%s.%s", connector, verb);
        size_t n = 0;
        /* Keys are unique (governor_policy_rate_limit), so at most two match. */
        for (size_t i = 0; i < p->n_rate_limits; i++) {
                const governor_rate_limit *rl = &p->rate_limits[i];
                if (strcmp(rl->key, "global") != 0 && strcmp(rl->key, kind) != 0)
                        continue;
                for (unsigned w = 0; w < _RATE_WINDOW_MAX && n < GOVERNOR_BUDGETS_MAX; w++)
                        if (rl->per[w])
                                out[n++] = (governor_budget){
                                        .key = rl->key, .window = (rate_window)w, .limit = rl->per[w]};
        }
        return n;
}

/* The ceiling for kind of connector.verb: the policy's, or the action kind's if lower. */
static unsigned ceiling_for(const governor_policy *p, const char *connector, const char *verb,
                            target_kind kind) {
        unsigned c = p->ceiling[kind];
        char action[2 * BW_NAME_MAX + 2];
        snprintf(action, sizeof(action), "%s.%s", connector, verb);
        for (size_t i = 0; i < p->n_action_ceilings; i++) {
                unsigned own = p->action_ceilings[i].ceiling[kind];
                if (own && own < c && strcmp(p->action_ceilings[i].action, action) == 0)
                        c = own;
        }
        return c;
}

static int append_pattern(char ***list, size_t *n, const char *pattern) {
        if (*n >= BW_PROTECTED_MAX)
                return -ENOSPC;
        char **grown = realloc(*list, (*n + 1) * sizeof(**list));
        if (!grown)
                return -ENOMEM;
        *list = grown;
        grown[*n] = strdup(pattern);
        if (!grown[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

int governor_policy_protect_ip(governor_policy *p, const ip_prefix *ip) {
        if (p->n_protected_ips >= BW_PROTECTED_MAX)
                return -ENOSPC;
        ip_prefix *grown = realloc(p->protected_ips, (p->n_protected_ips + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        p->protected_ips = grown;
        grown[p->n_protected_ips++] = *ip;
        return 0;
}

int governor_policy_protect_account(governor_policy *p, const char *pattern) {
        return append_pattern(&p->protected_accounts, &p->n_protected_accounts, pattern);
}

int governor_policy_protect_host(governor_policy *p, const char *pattern) {
        return append_pattern(&p->protected_hosts, &p->n_protected_hosts, pattern);
}

static void free_patterns(char **list, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(list[i]);
        free(list);
}

void governor_policy_clear(governor_policy *p) {
        free(p->action_ceilings);
        p->action_ceilings = NULL;
        p->n_action_ceilings = 0;
        free(p->rate_limits);
        p->rate_limits = NULL;
        p->n_rate_limits = 0;
        free(p->protected_ips);
        free_patterns(p->protected_accounts, p->n_protected_accounts);
        free_patterns(p->protected_hosts, p->n_protected_hosts);
        p->protected_ips = NULL;
        p->protected_accounts = p->protected_hosts = NULL;
        p->n_protected_ips = p->n_protected_accounts = p->n_protected_hosts = 0;
}

bool ip_prefix_overlaps(const ip_prefix *a, const ip_prefix *b) {
        if (a->family != b->family)
                return false;
        unsigned bits = a->prefix < b->prefix ? a->prefix : b->prefix;
        unsigned bytes = bits / 8, rest = bits % 8;
        if (memcmp(a->addr, b->addr, bytes) != 0)
                return false;
        if (rest == 0)
                return true;
        unsigned char mask = (unsigned char)(0xFFu << (8 - rest));
        return (a->addr[bytes] & mask) == (b->addr[bytes] & mask);
}

static const char *matching_pattern(char *const *patterns, size_t n, const char *target) {
        for (size_t i = 0; i < n; i++)
                if (fnmatch(patterns[i], target, FNM_CASEFOLD) == 0)
                        return patterns[i];
        return NULL;
}

static governor_verdict decide(governor_decision *ret, governor_verdict v, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static governor_verdict decide(governor_decision *ret, governor_verdict v, const char *fmt, ...) {
        ret->verdict = v;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ret->reason, sizeof(ret->reason), fmt, ap);
        va_end(ap);
        return v;
}

/* The protected entry that target names, written into out; NULL if none. A
 * target that does not parse as its kind is treated as protected: the governor
 * never lets through what it cannot judge. */
static const char *protected_entry(const governor_policy *p, target_kind kind, const char *target, char *out,
                                   size_t len) {
        if (kind == TARGET_IP) {
                ip_prefix t;
                if (ip_prefix_parse(target, strlen(target), &t) < 0)
                        return "(unparseable address)";
                for (size_t i = 0; i < p->n_protected_ips; i++)
                        if (ip_prefix_overlaps(&t, &p->protected_ips[i])) {
                                snprintf(out, len, "%s", p->protected_ips[i].text);
                                return out;
                        }
                return NULL;
        }
        if (kind == TARGET_ACCOUNT)
                return matching_pattern(p->protected_accounts, p->n_protected_accounts, target);
        if (kind == TARGET_HOST)
                return matching_pattern(p->protected_hosts, p->n_protected_hosts, target);
        return NULL;
}

governor_verdict governor_check_targets(const governor_policy *p, const char *connector, const char *verb,
                                        target_kind kind, char *const *targets, size_t n,
                                        governor_decision *ret) {
        if ((unsigned)kind >= _TARGET_KIND_MAX)
                return decide(ret, GOVERNOR_DENY_PROTECTED, "unknown target kind; refused whole");
        unsigned ceiling = ceiling_for(p, connector, verb, kind);
        if (ceiling > 0 && n > ceiling)
                return decide(ret, GOVERNOR_DENY_CEILING,
                              "%zu %s targets exceed the ceiling of %u per %s.%s action; refused whole", n,
                              target_kind_name(kind), ceiling, connector, verb);
        for (size_t i = 0; i < n; i++) {
                char entry[64];
                const char *hit = protected_entry(p, kind, targets[i], entry, sizeof(entry));
                if (hit)
                        return decide(ret, GOVERNOR_DENY_PROTECTED,
                                      "target %s is a protected asset (%s); refused whole", targets[i], hit);
        }
        return decide(ret, GOVERNOR_ALLOW, "within the ceiling, no protected asset");
}

/* --- approvals ------------------------------------------------------------------ */

const char *const governor_builtin_categories[] = {"infrastructure_change", "bulk_account_action",
                                                   "data_deletion", "system_isolation", NULL};

static void approval_policy_init(approval_policy *p) {
        *p = (approval_policy){.timeout_s = BW_APPROVAL_TIMEOUT_S_DEFAULT, .approvers = 1};
        for (size_t i = 0; governor_builtin_categories[i]; i++)
                str_copy(p->categories[p->n_categories++], sizeof(p->categories[0]),
                         governor_builtin_categories[i]);
}

bool approval_policy_has_category(const approval_policy *p, const char *name) {
        for (size_t i = 0; i < p->n_categories; i++)
                if (strcmp(p->categories[i], name) == 0)
                        return true;
        return false;
}

int approval_policy_add_category(approval_policy *p, const char *name) {
        if (approval_policy_has_category(p, name))
                return -EEXIST;
        if (p->n_categories >= BW_APPROVAL_CATEGORIES_MAX)
                return -ENOSPC;
        if (str_copy(p->categories[p->n_categories], sizeof(p->categories[0]), name) < 0)
                return -EINVAL;
        p->n_categories++;
        return 0;
}

int approval_policy_classify(approval_policy *p, const char *action, const char *category) {
        if (!approval_policy_has_category(p, category))
                return -ENOENT;
        if (p->n_action_categories >= BW_ACTION_CEILINGS_MAX)
                return -ENOSPC;
        approval_category_of *c = &p->action_categories[p->n_action_categories];
        if (str_copy(c->action, sizeof(c->action), action) < 0 ||
            str_copy(c->category, sizeof(c->category), category) < 0)
                return -EINVAL;
        p->n_action_categories++;
        return 0;
}

size_t governor_approval_reasons(const governor_policy *p, const approval_subject *s,
                                 char reasons[GOVERNOR_APPROVAL_REASONS_MAX][GOVERNOR_APPROVAL_REASON_LEN]) {
        size_t n = 0;
        if (s->level >= 4)
                snprintf(reasons[n++], GOVERNOR_APPROVAL_REASON_LEN, "automation level 4");
        else if (s->level == 3 && !s->reversible)
                snprintf(reasons[n++], GOVERNOR_APPROVAL_REASON_LEN,
                         "level 3 runs only reversible actions: %s.%s cannot be rolled back", s->connector,
                         s->verb);
        if (s->category && s->category[0])
                snprintf(reasons[n++], GOVERNOR_APPROVAL_REASON_LEN, "category %s", s->category);
        char action[2 * BW_NAME_MAX + 2];
        snprintf(action, sizeof(action), "%s.%s", s->connector, s->verb);
        for (size_t i = 0; i < p->approvals.n_action_categories; i++)
                if (strcmp(p->approvals.action_categories[i].action, action) == 0 &&
                    (!s->category || strcmp(p->approvals.action_categories[i].category, s->category) != 0)) {
                        snprintf(reasons[n++], GOVERNOR_APPROVAL_REASON_LEN, "category %s (%s)",
                                 p->approvals.action_categories[i].category, action);
                        break;
                }
        if (s->kind == TARGET_ACCOUNT && s->n_targets >= BW_BULK_ACCOUNTS)
                snprintf(reasons[n++], GOVERNOR_APPROVAL_REASON_LEN,
                         "category bulk_account_action (%zu accounts)", s->n_targets);
        return n;
}
