/* SPDX-License-Identifier: Apache-2.0 */
/* Approvals as pure rules (seed practice, "Approval Workflows"): which
 * categories are high-risk, who may decide a request (separation of duties),
 * when a request expires and how long a granted approval stays valid. The
 * storage backends only load and store approval rows; every rule about them is
 * here. Runs in the engine, the API's decision path (through the store) and the
 * CLI's dry run. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"

/* An action kind "connector.verb" an administrator put in a category. */
typedef struct approval_category_of {
        char action[2 * BW_NAME_MAX + 2];
        char category[BW_NAME_MAX + 1];
} approval_category_of;

typedef struct approval_policy {
        unsigned timeout_s; /* a request is rejected this long after it is made */
        /* A granted approval is valid this long after it was given (default
         * timeout_s): an action that runs later needs a new one. */
        unsigned valid_s;
        unsigned approvers; /* distinct approvers needed: 1 (default) or 2 */
        /* High-risk categories: the built-in ones first (approval_policy_init), then
         * those configuration adds. None can be removed. */
        char categories[BW_APPROVAL_CATEGORIES_MAX][BW_NAME_MAX + 1];
        size_t n_categories;
        /* Action kinds an administrator classified, so that a playbook cannot
         * escape approval by leaving its step's category out. */
        approval_category_of action_categories[BW_ACTION_CEILINGS_MAX];
        size_t n_action_categories;
} approval_policy;

/* The built-in high-risk categories: infrastructure_change, bulk_account_action,
 * data_deletion, system_isolation. NULL-terminated. */
extern const char *const approval_builtin_categories[];

/* The defaults (BW_APPROVAL_TIMEOUT_S_DEFAULT, one approver) and the built-in
 * categories. */
void approval_policy_init(approval_policy *p);

/* Adds a category (configuration). -EEXIST if known, -ENOSPC beyond the limit. */
int approval_policy_add_category(approval_policy *p, const char *name);
/* Classifies an action kind "connector.verb" (configuration). -ENOENT for an
 * unknown category, -ENOSPC beyond the limit. */
int approval_policy_classify(approval_policy *p, const char *action, const char *category);
bool approval_policy_has_category(const approval_policy *p, const char *name);
/* The category an administrator gave action kind "connector.verb", or NULL. */
const char *approval_policy_category_of(const approval_policy *p, const char *connector, const char *verb);

typedef enum {
        APPROVAL_NONE, /* no request (yet) */
        APPROVAL_PENDING,
        APPROVAL_APPROVED,
        APPROVAL_REJECTED, /* by an approver, or timed out */
        _APPROVAL_STATE_MAX,
} approval_state;

const char *approval_state_name(approval_state s);
/* "pending" | "approved" | "rejected" -> 0, else -EINVAL. */
int approval_state_parse(const char *s, approval_state *ret);

typedef enum {
        APPROVAL_APPROVE,
        APPROVAL_REJECT,
        _APPROVAL_DECISION_MAX,
} approval_decision;

/* Names of people: those who caused the action (the alert's sender, the analyst
 * who ran a recommendation, the admin who asked a rollback), in order. */
typedef struct approval_actors {
        char names[BW_APPROVAL_REQUESTERS_MAX][BW_NAME_MAX + 1];
        size_t n;
} approval_actors;

/* Adds name unless it is empty or already there. -ENOSPC beyond the limit. */
int approval_actors_add(approval_actors *a, const char *name);
bool approval_actors_has(const approval_actors *a, const char *name);

/* One approval request as the store holds it. */
typedef struct approval_record {
        approval_state state;
        approval_actors requesters;
        char author[BW_NAME_MAX + 1]; /* the playbook's author, "" if unknown */
        approval_actors approved_by;  /* votes so far (two-approver policies) */
        unsigned required;            /* distinct approvers needed */
        int64_t expires_at_ms;        /* pending: rejected from then on */
        int64_t decided_at_ms;        /* approved or rejected: when */
} approval_record;

/* Whether actor may take decision d on r at now_ms. Returns 0, or -ETIMEDOUT
 * (now_ms is at or past expires_at: a request nobody decided in time is a
 * rejection, whatever the sweeper has done), -EALREADY (not pending), -EPERM
 * (separation of duties: a requester, the author, or an approver voting twice
 * may not approve; anyone with the role may reject). */
int approval_may_decide(const approval_record *r, const char *actor, approval_decision d, int64_t now_ms);

/* True if r is approved and still valid at now_ms: within p->valid_s of its
 * decision, by as many approvers as it required, none of them a requester or
 * the author (checked again here, on the stored record, whatever the decision
 * path did). */
bool approval_valid(const approval_policy *p, const approval_record *r, int64_t now_ms);
