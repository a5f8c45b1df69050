/* SPDX-License-Identifier: Apache-2.0 */
/* The `approvals:` section of bulwark.yaml (see approvals_config.h). The file is
 * untrusted: every value is checked, with file:line:col on error. Runs in the
 * parent at start-up and in the CLI. */
#include "config/approvals_config.h"

#include <errno.h>
#include <string.h>

#include "connectors/connector.h"
#include "core/limits.h"

static const char *const approvals_keys[] = {"timeout_s", "approvers", "notify", "categories",
                                             "actions",   "valid_s",   NULL};
enum { PK_TIMEOUT_S, PK_APPROVERS, PK_NOTIFY, PK_CATEGORIES, PK_ACTIONS, PK_VALID_S, _PK_MAX };

static int category_one(yamldoc *d, size_t index, yaml_node_t *item, const char *path, void *userdata,
                        bw_error *err) {
        approval_policy *p = userdata;
        char name[BW_NAME_MAX + 1];
        int r = yamldoc_get_name(d, item, path, BW_NAME_MAX, "_", name, sizeof(name), err);
        if (r < 0)
                return r;
        r = approval_policy_add_category(p, name);
        if (r == -EEXIST)
                return yamldoc_error(d, item, err, "duplicate", path, "category %s is already known", name);
        if (r == -ENOSPC)
                return yamldoc_error(d, item, err, "too_many", path, "at most %u categories",
                                     BW_APPROVAL_CATEGORIES_MAX);
        return r;
}

/* actions: {"connector.verb": category}: the action kind always needs approval. */
static int action_one(yamldoc *d, const char *key, yaml_node_t *key_node, yaml_node_t *value,
                      const char *path, void *userdata, bw_error *err) {
        approval_policy *p = userdata;
        char connector[BW_NAME_MAX + 1];
        const char *dot = strchr(key, '.');
        const connector_kind *k = NULL;
        if (dot && (size_t)(dot - key) < sizeof(connector)) {
                memcpy(connector, key, (size_t)(dot - key));
                connector[dot - key] = '\0';
                k = connector_kind_find(connector);
        }
        if (!k || !connector_verb_find(k, dot + 1))
                return yamldoc_error(d, key_node, err, "invalid", path,
                                     "not an action kind: expected <connector>.<verb>, e.g. exec.run");
        char category[BW_NAME_MAX + 1];
        int r = yamldoc_get_name(d, value, path, BW_NAME_MAX, "_", category, sizeof(category), err);
        if (r < 0)
                return r;
        r = approval_policy_classify(p, key, category);
        if (r == -ENOENT)
                return yamldoc_error(d, value, err, "unknown_category", path,
                                     "not a built-in category nor one listed in approvals.categories");
        return r;
}

int approvals_config_parse(yamldoc *d, yaml_node_t *node, bw_config *cfg, bw_error *err) {
        if (!node)
                return 0;
        approval_policy *p = &cfg->governor.approvals;
        yaml_node_t *v[_PK_MAX];
        int r = yamldoc_fields(d, node, "approvals", approvals_keys, v, err);
        int64_t n;
        if (r == 0 && v[PK_TIMEOUT_S]) {
                r = yamldoc_get_int(d, v[PK_TIMEOUT_S], "approvals.timeout_s", 1, BW_APPROVAL_TIMEOUT_S_MAX,
                                    &n, err);
                if (r == 0)
                        p->timeout_s = p->valid_s = (unsigned)n;
        }
        /* How long a granted approval lets its actions run; default the timeout. */
        if (r == 0 && v[PK_VALID_S]) {
                r = yamldoc_get_int(d, v[PK_VALID_S], "approvals.valid_s", 1, BW_APPROVAL_VALID_S_MAX, &n,
                                    err);
                if (r == 0)
                        p->valid_s = (unsigned)n;
        }
        if (r == 0 && v[PK_APPROVERS]) {
                r = yamldoc_get_int(d, v[PK_APPROVERS], "approvals.approvers", 1, 2, &n, err);
                if (r == 0)
                        p->approvers = (unsigned)n;
        }
        if (r == 0 && v[PK_CATEGORIES])
                r = yamldoc_seq_foreach(d, v[PK_CATEGORIES], "approvals.categories", 0,
                                        BW_APPROVAL_CATEGORIES_MAX, category_one, p, err);
        if (r == 0 && v[PK_ACTIONS])
                r = yamldoc_map_foreach(d, v[PK_ACTIONS], "approvals.actions", BW_ACTION_CEILINGS_MAX,
                                        action_one, p, err);
        if (r == 0 && v[PK_NOTIFY]) {
                r = yamldoc_get_name(d, v[PK_NOTIFY], "approvals.notify", BW_NAME_MAX, "._-",
                                     cfg->approvals_notify, sizeof(cfg->approvals_notify), err);
                const integration_config *ic =
                        r == 0 ? config_integration_find(cfg, cfg->approvals_notify) : NULL;
                if (r == 0 && (!ic || strcmp(ic->kind, "notify") != 0))
                        r = yamldoc_error(d, v[PK_NOTIFY], err, "invalid", "approvals.notify",
                                          "must name an integration of kind notify");
        }
        return r;
}
