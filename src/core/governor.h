/* SPDX-License-Identifier: Apache-2.0 */
/* The governor's decision functions: pure, no I/O, no clock. Today it decides
 * the blast-radius ceilings and the protected assets of one action; rate
 * budgets, the circuit breaker and approvals join it (issue 3). Runs in the
 * engine and in the CLI's dry run; the targets it judges come from alerts and
 * are untrusted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/alert.h"
#include "core/limits.h"
#include "core/template.h"

typedef enum {
        GOVERNOR_ALLOW,
        GOVERNOR_DENY_CEILING,   /* more targets than the ceiling: refused whole */
        GOVERNOR_DENY_PROTECTED, /* names a protected asset: refused whole */
        _GOVERNOR_VERDICT_MAX,
} governor_verdict;

/* Ceilings lowered for one action kind ("nft.block"); 0 = the policy's own. */
typedef struct governor_action_ceiling {
        char action[2 * BW_NAME_MAX + 2];
        unsigned ceiling[_TARGET_KIND_MAX];
} governor_action_ceiling;

/* The windows of rate budgets. */
typedef enum {
        RATE_PER_MINUTE,
        RATE_PER_HOUR,
        RATE_PER_DAY,
        _RATE_WINDOW_MAX,
} rate_window;

/* Actions allowed per window for "global" or one action kind ("nft.block");
 * 0 = no limit for that window. */
typedef struct governor_rate_limit {
        char key[2 * BW_NAME_MAX + 2];
        unsigned per[_RATE_WINDOW_MAX];
} governor_rate_limit;

/* Which actions need a human approval (seed practice, "Approval Workflows"). */
typedef struct approval_category_of {
        char action[2 * BW_NAME_MAX + 2]; /* "connector.verb" */
        char category[BW_NAME_MAX + 1];
} approval_category_of;

typedef struct approval_policy {
        unsigned timeout_s; /* auto-reject after; default BW_APPROVAL_TIMEOUT_S_DEFAULT */
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

typedef struct governor_policy {
        /* Per-action ceilings of TARGET_IP, TARGET_ACCOUNT and TARGET_HOST; never
         * above BW_CEILING_* (governor_policy_lower enforces it). */
        unsigned ceiling[_TARGET_KIND_MAX];
        governor_action_ceiling *action_ceilings; /* lower still, for one action kind */
        size_t n_action_ceilings;
        governor_rate_limit *rate_limits; /* budgets the store enforces */
        size_t n_rate_limits;
        ip_prefix *protected_ips; /* an action naming an overlapping prefix is refused */
        size_t n_protected_ips;
        char **protected_accounts; /* fnmatch(3) patterns, case-insensitive */
        size_t n_protected_accounts;
        char **protected_hosts; /* fnmatch(3) patterns, case-insensitive */
        size_t n_protected_hosts;
        approval_policy approvals;
} governor_policy;

typedef struct governor_decision {
        governor_verdict verdict;
        char reason[256]; /* names the ceiling or the protected entry and the target */
} governor_decision;

/* The built-in high-risk categories: infrastructure_change, bulk_account_action,
 * data_deletion, system_isolation. */
extern const char *const governor_builtin_categories[];

/* Adds a category (configuration). -EEXIST if known, -ENOSPC beyond the limit. */
int approval_policy_add_category(approval_policy *p, const char *name);
/* Classifies an action kind "connector.verb" (configuration). -ENOENT for an
 * unknown category, -ENOSPC beyond the limit. */
int approval_policy_classify(approval_policy *p, const char *action, const char *category);
bool approval_policy_has_category(const approval_policy *p, const char *name);

/* What the approval decision looks at for one action. */
typedef struct approval_subject {
        unsigned level;        /* the playbook's automation level, 1..4 */
        bool reversible;       /* its connector can snapshot and roll back */
        const char *connector; /* "nft" */
        const char *verb;      /* "block" */
        const char *category;  /* the step's declared category, "" if none */
        target_kind kind;
        size_t n_targets;
} approval_subject;

#define GOVERNOR_APPROVAL_REASONS_MAX 4
#define GOVERNOR_APPROVAL_REASON_LEN 256

/* Whether an action that is to run automatically (level 3 or 4) must wait for an
 * approval, and why: level 4 always; level 3 when its connector cannot roll it
 * back; any level when it falls in a high-risk category (declared, classified by
 * configuration, or a bulk account action of BW_BULK_ACCOUNTS accounts or more).
 * Writes the reasons and returns how many (0: no approval needed). Pure. */
size_t governor_approval_reasons(const governor_policy *p, const approval_subject *s,
                                 char reasons[GOVERNOR_APPROVAL_REASONS_MAX][GOVERNOR_APPROVAL_REASON_LEN]);

/* The compiled ceilings and no protected assets. */
void governor_policy_init(governor_policy *p);

/* The compiled ceiling of a target kind (0 for kinds without one). */
unsigned governor_ceiling_compiled(target_kind kind);

/* Lowers the ceiling of kind to max. Returns 0, or -ERANGE if max is 0 or above
 * the compiled ceiling (configuration may lower, never raise), -EINVAL for a kind
 * without a ceiling. */
int governor_policy_lower(governor_policy *p, target_kind kind, unsigned max);

/* Lowers the ceiling of kind for one action kind ("connector.verb") only; the
 * lower of this and the policy's ceiling applies. Same errors, and -ENOSPC beyond
 * BW_ACTION_CEILINGS_MAX action kinds. */
int governor_policy_lower_action(governor_policy *p, const char *action, target_kind kind, unsigned max);

/* Sets the limit of key ("global" or "connector.verb") for one window. -ERANGE
 * for 0 or above BW_RATE_LIMIT_MAX, -ENOSPC beyond BW_RATE_LIMITS_MAX keys. */
int governor_policy_rate_limit(governor_policy *p, const char *key, rate_window w, unsigned limit);

/* One rate budget an action is charged to. */
typedef struct governor_budget {
        const char *key; /* "global" or the action kind; points into the policy */
        rate_window window;
        unsigned limit;
} governor_budget;

/* "global" and one action kind, each with up to three windows. */
#define GOVERNOR_BUDGETS_MAX (2 * _RATE_WINDOW_MAX)

/* The budgets an action of kind connector.verb is charged to: "global" and its
 * own kind, each window that has a limit. Writes them to out; returns how many. */
size_t governor_budgets_for(const governor_policy *p, const char *connector, const char *verb,
                            governor_budget out[GOVERNOR_BUDGETS_MAX]);

/* The window's length in milliseconds and its name ("minute", "hour", "day"). */
int64_t rate_window_ms(rate_window w);
const char *rate_window_name(rate_window w);

/* Appends a protected entry (copied). -ENOSPC beyond BW_PROTECTED_MAX, -ENOMEM. */
int governor_policy_protect_ip(governor_policy *p, const ip_prefix *ip);
int governor_policy_protect_account(governor_policy *p, const char *pattern);
int governor_policy_protect_host(governor_policy *p, const char *pattern);

/* Frees the protected lists and action ceilings; the policy's own ceilings stay. */
void governor_policy_clear(governor_policy *p);

/* Decides whether the action connector.verb on targets[0..n) of kind may run,
 * checking its ceiling first, then every target against the protected lists.
 * Fills *ret and returns its verdict. */
governor_verdict governor_check_targets(const governor_policy *p, const char *connector, const char *verb,
                                        target_kind kind, char *const *targets, size_t n,
                                        governor_decision *ret);

const char *governor_verdict_name(governor_verdict v);

/* The one gate (DESIGN.md, invariant 1): a connector's apply and rollback run
 * only with a permit the governor minted for exactly that action. The seal is a
 * BLAKE2b MAC, keyed with a secret drawn once per process, over the action's id,
 * verb, target kind, targets and idempotency key: a permit cannot be built by
 * hand nor reused for another action. */
typedef struct governor_permit {
        int64_t action_id;
        unsigned char seal[32];
} governor_permit;

/* Mints the permit for this action. Call it only where every governor check has
 * passed (engine/engine.c: budget_gate, in_doubt_gate, and the governor's own
 * notifications); grep for it to audit the gate. */
void governor_permit_mint(int64_t action_id, const char *verb, target_kind kind, char *const *targets,
                          size_t n, const char *idempotency_key, governor_permit *ret);

/* True if permit was minted for exactly this action. */
bool governor_permit_valid(const governor_permit *permit, int64_t action_id, const char *verb,
                           target_kind kind, char *const *targets, size_t n, const char *idempotency_key);

/* True if prefixes a and b share an address (same family, and the shorter one
 * contains the other). */
bool ip_prefix_overlaps(const ip_prefix *a, const ip_prefix *b);
