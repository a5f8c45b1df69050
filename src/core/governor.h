/* SPDX-License-Identifier: Apache-2.0 */
/* The governor: its policy and governor_decide, the one function that rules on
 * every action — automation level, typed targets, blast-radius ceilings,
 * protected assets (with a built-in never-touch set), approvals, folding, the
 * circuit breaker and rate budgets. Pure: no I/O, no clock; the state it needs
 * and the time are passed in. Every path that may change a system asks it: the
 * engine's gates (engine/gate.c), the dry run, the rollback drill, recommendation
 * runs, manual rollback and expiry. Targets come from alerts and are untrusted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alert.h"
#include "core/approval.h"
#include "core/limits.h"
#include "core/template.h"

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

typedef struct governor_policy {
        /* Per-action ceilings of TARGET_IP, TARGET_ACCOUNT and TARGET_HOST; never
         * above BW_CEILING_* (governor_policy_lower enforces it). */
        unsigned ceiling[_TARGET_KIND_MAX];
        governor_action_ceiling *action_ceilings; /* lower still, for one action kind */
        size_t n_action_ceilings;
        governor_rate_limit *rate_limits; /* budgets the store enforces */
        size_t n_rate_limits;
        /* An action naming an overlapping prefix is refused. The built-in
         * never-touch set comes first (governor_policy_init); configuration
         * and the daemon's own addresses only add to it. */
        ip_prefix *protected_ips;
        size_t n_protected_ips;
        char **protected_accounts; /* fnmatch(3) patterns, case-insensitive */
        size_t n_protected_accounts;
        char **protected_hosts; /* fnmatch(3) patterns, case-insensitive */
        size_t n_protected_hosts;
        approval_policy approvals;
} governor_policy;

/* The compiled ceilings, the built-in never-touch set (loopback, unspecified,
 * link-local, multicast, broadcast: governor_never_touch) and the default
 * approval policy. -ENOMEM. */
int governor_policy_init(governor_policy *p);

/* The built-in never-touch prefixes, NULL-terminated. */
extern const char *const governor_never_touch[];

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

/* --- the decision ------------------------------------------------------------ */

typedef enum {
        GOVERNOR_ALLOW,          /* run now: charge ruling.charge[], then mint the permit */
        GOVERNOR_DENY,           /* refused whole: ceiling, protected asset, untyped or invalid target */
        GOVERNOR_NEEDS_APPROVAL, /* waits for a granted, still valid approval */
        GOVERNOR_RECOMMEND,      /* recorded for an analyst: level 2, breaker open, or a budget spent */
        GOVERNOR_SATISFIED,      /* already in effect through a live action: not applied, not charged */
        GOVERNOR_SKIP,           /* level 1 (alert only), or the alert names nothing to act on */
        _GOVERNOR_VERDICT_MAX,
} governor_verdict;

const char *governor_verdict_name(governor_verdict v);

typedef enum {
        GOVERNOR_RUN,      /* a new action, or one an analyst or an approver released */
        GOVERNOR_IN_DOUBT, /* found in INTENT after a restart: already charged, verify first */
        GOVERNOR_ROLLBACK, /* undo an applied action (an admin or its expiry asked) */
        _GOVERNOR_OP_MAX,
} governor_op;

#define GOVERNOR_APPROVAL_REASONS_MAX 4
#define GOVERNOR_APPROVAL_REASON_LEN 256

/* The action ruled on. */
typedef struct governor_action {
        governor_op op;
        unsigned level;        /* the playbook's automation level, 1..4 */
        bool released;         /* a level-2 recommendation an analyst ran */
        const char *connector; /* "nft" */
        const char *verb;      /* "block" */
        bool reversible;       /* the integration can snapshot and roll it back */
        bool inert;            /* it informs people, acts on nothing (notify) */
        const char *category;  /* the step's declared category, "" if none */
        bool has_targets;      /* the step names targets */
        target_kind kind;
        char *const *targets;
        size_t n_targets;
} governor_action;

/* What the governor reads of the world, read once by the caller (inside the
 * writer transaction for the engine; zeroes for an offline dry run). */
typedef struct governor_state {
        int64_t now_ms;
        bool breaker_open;
        /* Used so far in the current window of each budget governor_budgets_for
         * gives this action, in that order; NULL: unknown (not judged). */
        const uint64_t *budget_used;
        /* Every target is held by a live action that lasts as long as this one
         * would: it is already in effect. */
        bool covered;
        /* The execution's approval request, if any (NULL: none). */
        const approval_record *approval;
} governor_state;

typedef struct governor_ruling {
        governor_verdict verdict;
        /* The id of the rule that decided (static): "allowed", "over_ceiling",
         * "protected_asset", "untyped_target", "invalid_target", "alert_only",
         * "no_target", "recommend_only", "approval_needed", "approval_lapsed",
         * "folded", "breaker_open", "rate_limit", "rollback". */
        const char *rule;
        char reason[256]; /* deny, recommend, satisfied: why; names the rule and the target */
        /* Why an approval is needed (also for a recommendation that would need
         * one once run). */
        char approval_reasons[GOVERNOR_APPROVAL_REASONS_MAX][GOVERNOR_APPROVAL_REASON_LEN];
        size_t n_approval_reasons;
        /* ALLOW: the budgets to charge, all of them, in the same transaction. */
        governor_budget charge[GOVERNOR_BUDGETS_MAX];
        size_t n_charge;
        /* RECOMMEND because a budget is spent: the circuit breaker opens with
         * reason. */
        bool open_breaker;
} governor_ruling;

/* G1.1 Whether targets of kind may reach a connector: ip, account and host are
 * judged; an opaque string only reaches one that changes no system (inert).
 * Playbook checks at load call it too. */
bool governor_targets_typed(target_kind kind, bool inert);

/* Rules on action a given state s. In order: level 1 or no target -> SKIP;
 * targets (typed, valid, within the ceiling counted in addresses for
 * prefixes, none protected) -> DENY; a rollback -> ALLOW (it only narrows what
 * Bulwark did: no approval, budget or breaker); level 2 not run by an analyst
 * -> RECOMMEND; an approval needed (level 4, irreversible at level 3, a
 * high-risk category) and no valid one -> NEEDS_APPROVAL; covered -> SATISFIED;
 * breaker open -> RECOMMEND; a budget spent -> RECOMMEND and open the breaker;
 * else ALLOW with the budgets to charge (none for an action in doubt: it was
 * charged when it entered INTENT). Fills *ret and returns its verdict. */
governor_verdict governor_decide(const governor_policy *p, const governor_action *a, const governor_state *s,
                                 governor_ruling *ret);
