/* SPDX-License-Identifier: Apache-2.0 */
/* Building the governor's policy (see governor.h): the compiled ceilings and the
 * never-touch set, then what configuration lowers or adds. Pure; runs where the
 * configuration is loaded (the parent at start-up, the CLI). */
#include "core/governor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "util/strutil.h"

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

/* Never a target, whatever the configuration says: blocking one of these cuts
 * the host off from itself (loopback, the unspecified address) or from its own
 * network (link-local), or acts on everyone at once (multicast, broadcast). */
const char *const governor_never_touch[] = {
        "0.0.0.0/8",       /* "this network", the unspecified address */
        "127.0.0.0/8",     /* loopback: the API and the CLI */
        "169.254.0.0/16",  /* link-local */
        "224.0.0.0/4",     /* multicast */
        "255.255.255.255", /* limited broadcast */
        "::/128",          /* unspecified */
        "::1",             /* loopback */
        "fe80::/10",       /* link-local */
        "ff00::/8",        /* multicast */
        NULL,
};

int governor_policy_init(governor_policy *p) {
        *p = (governor_policy){0};
        approval_policy_init(&p->approvals);
        for (unsigned k = 0; k < _TARGET_KIND_MAX; k++)
                p->ceiling[k] = governor_ceiling_compiled((target_kind)k);
        for (size_t i = 0; governor_never_touch[i]; i++) {
                ip_prefix ip;
                /* The table is ours: a failure here is a programming error. */
                if (ip_prefix_parse(governor_never_touch[i], strlen(governor_never_touch[i]), &ip) < 0)
                        abort();
                int r = governor_policy_protect_ip(p, &ip);
                if (r < 0) {
                        governor_policy_clear(p);
                        return r;
                }
        }
        return 0;
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
