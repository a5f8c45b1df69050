/* SPDX-License-Identifier: Apache-2.0 */
/* Approval rules (see approval.h): categories, separation of duties, expiry and
 * validity. Pure. */
#include "core/approval.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/strutil.h"

const char *const approval_builtin_categories[] = {"infrastructure_change", "bulk_account_action",
                                                   "data_deletion", "system_isolation", NULL};

static const char *const state_names[_APPROVAL_STATE_MAX] = {
        [APPROVAL_NONE] = "none",
        [APPROVAL_PENDING] = "pending",
        [APPROVAL_APPROVED] = "approved",
        [APPROVAL_REJECTED] = "rejected",
};

const char *approval_state_name(approval_state s) {
        return (unsigned)s < _APPROVAL_STATE_MAX ? state_names[s] : "?";
}

int approval_state_parse(const char *s, approval_state *ret) {
        for (unsigned i = APPROVAL_PENDING; s && i < _APPROVAL_STATE_MAX; i++)
                if (strcmp(s, state_names[i]) == 0) {
                        *ret = (approval_state)i;
                        return 0;
                }
        return -EINVAL;
}

void approval_policy_init(approval_policy *p) {
        *p = (approval_policy){.timeout_s = BW_APPROVAL_TIMEOUT_S_DEFAULT,
                               .valid_s = BW_APPROVAL_TIMEOUT_S_DEFAULT,
                               .approvers = 1};
        for (size_t i = 0; approval_builtin_categories[i]; i++)
                str_copy(p->categories[p->n_categories++], sizeof(p->categories[0]),
                         approval_builtin_categories[i]);
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

const char *approval_policy_category_of(const approval_policy *p, const char *connector, const char *verb) {
        for (size_t i = 0; i < p->n_action_categories; i++)
                if (str_is_joined(p->action_categories[i].action, connector, '.', verb))
                        return p->action_categories[i].category;
        return NULL;
}

bool approval_actors_has(const approval_actors *a, const char *name) {
        for (size_t i = 0; i < a->n; i++)
                if (strcmp(a->names[i], name) == 0)
                        return true;
        return false;
}

int approval_actors_add(approval_actors *a, const char *name) {
        if (!name || !name[0] || approval_actors_has(a, name))
                return 0;
        if (a->n >= BW_APPROVAL_REQUESTERS_MAX)
                return -ENOSPC;
        if (str_copy(a->names[a->n], sizeof(a->names[0]), name) < 0)
                return -EINVAL;
        a->n++;
        return 0;
}

int approval_may_decide(const approval_record *r, const char *actor, approval_decision d, int64_t now_ms) {
        /* Decided by the clock first, not by whether the sweeper has run. */
        if (now_ms >= r->expires_at_ms)
                return -ETIMEDOUT;
        if (r->state != APPROVAL_PENDING)
                return -EALREADY;
        if (d == APPROVAL_REJECT)
                return 0;
        if (!actor || !actor[0] || approval_actors_has(&r->requesters, actor) ||
            strcmp(actor, r->author) == 0 || approval_actors_has(&r->approved_by, actor))
                return -EPERM;
        return 0;
}

bool approval_valid(const approval_policy *p, const approval_record *r, int64_t now_ms) {
        if (!r || r->state != APPROVAL_APPROVED || now_ms < r->decided_at_ms ||
            now_ms - r->decided_at_ms >= (int64_t)p->valid_s * 1000 || r->approved_by.n < r->required)
                return false;
        /* Separation of duties again, on what the store holds: an approval given
         * by someone who (now) caused the run, or by the author, counts for
         * nothing. */
        for (size_t i = 0; i < r->approved_by.n; i++)
                if (approval_actors_has(&r->requesters, r->approved_by.names[i]) ||
                    strcmp(r->approved_by.names[i], r->author) == 0)
                        return false;
        return true;
}
