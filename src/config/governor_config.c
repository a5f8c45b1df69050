/* SPDX-License-Identifier: Apache-2.0 */
/* The `governor:` section of bulwark.yaml (see governor_config.h). The file is
 * untrusted: every value is checked, with file:line:col on error. Runs in the
 * parent at start-up and in the CLI. */
#include "config/governor_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "connectors/connector.h"
#include "core/limits.h"

static const char *const governor_keys[] = {"ceilings", "action_ceilings", "protected",
                                            "notify",   "rate_limits",     NULL};
enum { GK_CEILINGS, GK_ACTION_CEILINGS, GK_PROTECTED, GK_NOTIFY, GK_RATE_LIMITS, _GK_MAX };
static const char *const rate_keys[] = {"per_minute", "per_hour", "per_day", NULL};

/* One key per target kind that has a ceiling. */
static const char *const ceiling_keys[] = {"ips", "accounts", "hosts", NULL};
static const char *const protected_keys[] = {"ips", "accounts", "hosts", NULL};
static const target_kind key_kinds[] = {TARGET_IP, TARGET_ACCOUNT, TARGET_HOST};

/* Patterns: the names' own characters plus fnmatch's * ? [ ] ! (no '/' or
 * spaces: nothing a name could contain). */
#define PATTERN_EXTRA "._@$-*?[]!"

/* A mapping {ips, accounts, hosts} of lowered ceilings, for every action
 * (action == NULL) or for one action kind. */
static int parse_ceilings(yamldoc *d, yaml_node_t *node, const char *base, const char *action,
                          governor_policy *p, bw_error *err) {
        yaml_node_t *v[3];
        int r = yamldoc_fields(d, node, base, ceiling_keys, v, err);
        for (size_t k = 0; r == 0 && k < 3; k++) {
                if (!v[k])
                        continue;
                char path[YAMLDOC_PATH_MAX];
                yamldoc_path_key(path, sizeof(path), base, ceiling_keys[k]);
                unsigned compiled = governor_ceiling_compiled(key_kinds[k]);
                int64_t max;
                r = yamldoc_get_int(d, v[k], path, 0, INT64_MAX, &max, err);
                if (r == 0 && (max < 1 || max > compiled))
                        r = yamldoc_error(d, v[k], err, "out_of_range", path,
                                          "may only lower the compiled ceiling: 1..%u", compiled);
                if (r == 0)
                        r = action ? governor_policy_lower_action(p, action, key_kinds[k], (unsigned)max)
                                   : governor_policy_lower(p, key_kinds[k], (unsigned)max);
        }
        return r;
}

/* True if key is "connector.verb" of a real verb. */
static bool action_kind_known(const char *key) {
        char connector[BW_NAME_MAX + 1];
        const char *dot = strchr(key, '.');
        if (!dot || (size_t)(dot - key) >= sizeof(connector))
                return false;
        memcpy(connector, key, (size_t)(dot - key));
        connector[dot - key] = '\0';
        const connector_kind *k = connector_kind_find(connector);
        return k && connector_verb_find(k, dot + 1);
}

/* One entry of action_ceilings: "connector.verb" must name a real verb. */
static int action_ceiling_one(yamldoc *d, const char *key, yaml_node_t *key_node, yaml_node_t *value,
                              const char *path, void *userdata, bw_error *err) {
        if (!action_kind_known(key))
                return yamldoc_error(d, key_node, err, "invalid", path,
                                     "not an action kind: expected <connector>.<verb>, e.g. nft.block");
        return parse_ceilings(d, value, path, key, userdata, err);
}

/* One entry of rate_limits: "global" or an action kind -> per_minute/hour/day. */
static int rate_limit_one(yamldoc *d, const char *key, yaml_node_t *key_node, yaml_node_t *value,
                          const char *path, void *userdata, bw_error *err) {
        governor_policy *p = userdata;
        if (strcmp(key, "global") != 0 && !action_kind_known(key))
                return yamldoc_error(d, key_node, err, "invalid", path,
                                     "expected global or an action kind such as nft.block");
        yaml_node_t *v[_RATE_WINDOW_MAX];
        int r = yamldoc_fields(d, value, path, rate_keys, v, err);
        for (unsigned w = 0; r == 0 && w < _RATE_WINDOW_MAX; w++) {
                if (!v[w])
                        continue;
                char wpath[YAMLDOC_PATH_MAX];
                yamldoc_path_key(wpath, sizeof(wpath), path, rate_keys[w]);
                int64_t limit;
                r = yamldoc_get_int(d, v[w], wpath, 1, BW_RATE_LIMIT_MAX, &limit, err);
                if (r == 0)
                        r = governor_policy_rate_limit(p, key, (rate_window)w, (unsigned)limit);
        }
        return r;
}

static int parse_notify(yamldoc *d, yaml_node_t *node, bw_config *cfg, bw_error *err) {
        int r = yamldoc_get_name(d, node, "governor.notify", BW_NAME_MAX, "._-", cfg->governor_notify,
                                 sizeof(cfg->governor_notify), err);
        if (r < 0)
                return r;
        const integration_config *ic = config_integration_find(cfg, cfg->governor_notify);
        if (!ic || strcmp(ic->kind, "notify") != 0)
                return yamldoc_error(d, node, err, "invalid", "governor.notify",
                                     "must name an integration of kind notify");
        return 0;
}

typedef struct protect_ctx {
        governor_policy *policy;
        target_kind kind;
} protect_ctx;

static int protect_one(yamldoc *d, size_t index, yaml_node_t *item, const char *path, void *userdata,
                       bw_error *err) {
        protect_ctx *c = userdata;
        char value[BW_ACCOUNT_NAME_MAX + 1];
        int r;
        if (c->kind == TARGET_IP) {
                r = yamldoc_get_name(d, item, path, 64, ".:/", value, sizeof(value), err);
                ip_prefix ip;
                if (r == 0 && ip_prefix_parse(value, strlen(value), &ip) < 0)
                        return yamldoc_error(d, item, err, "invalid", path,
                                             "not an IPv4/IPv6 address or prefix");
                return r < 0 ? r : governor_policy_protect_ip(c->policy, &ip);
        }
        r = yamldoc_get_name(d, item, path, BW_ACCOUNT_NAME_MAX, PATTERN_EXTRA, value, sizeof(value), err);
        if (r < 0)
                return r;
        return c->kind == TARGET_ACCOUNT ? governor_policy_protect_account(c->policy, value)
                                         : governor_policy_protect_host(c->policy, value);
}

static int parse_protected(yamldoc *d, yaml_node_t *node, governor_policy *p, bw_error *err) {
        yaml_node_t *v[3];
        int r = yamldoc_fields(d, node, "governor.protected", protected_keys, v, err);
        for (size_t k = 0; r == 0 && k < 3; k++) {
                if (!v[k])
                        continue;
                char path[64];
                snprintf(path, sizeof(path), "governor.protected.%s", protected_keys[k]);
                protect_ctx c = {.policy = p, .kind = key_kinds[k]};
                r = yamldoc_seq_foreach(d, v[k], path, 0, BW_PROTECTED_MAX, protect_one, &c, err);
        }
        return r;
}

int governor_config_parse(yamldoc *d, yaml_node_t *node, bw_config *cfg, bw_error *err) {
        if (!node)
                return 0;
        yaml_node_t *v[_GK_MAX];
        int r = yamldoc_fields(d, node, "governor", governor_keys, v, err);
        if (r == 0 && v[GK_CEILINGS])
                r = parse_ceilings(d, v[GK_CEILINGS], "governor.ceilings", NULL, &cfg->governor, err);
        if (r == 0 && v[GK_ACTION_CEILINGS])
                r = yamldoc_map_foreach(d, v[GK_ACTION_CEILINGS], "governor.action_ceilings",
                                        BW_ACTION_CEILINGS_MAX, action_ceiling_one, &cfg->governor, err);
        if (r == 0 && v[GK_PROTECTED])
                r = parse_protected(d, v[GK_PROTECTED], &cfg->governor, err);
        if (r == 0 && v[GK_RATE_LIMITS])
                r = yamldoc_map_foreach(d, v[GK_RATE_LIMITS], "governor.rate_limits", BW_RATE_LIMITS_MAX,
                                        rate_limit_one, &cfg->governor, err);
        if (r == 0 && v[GK_NOTIFY])
                r = parse_notify(d, v[GK_NOTIFY], cfg, err);
        return r;
}
