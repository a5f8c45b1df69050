/* SPDX-License-Identifier: Apache-2.0 */
/* Every rule of the governor (see governor.h): governor_decide and the parts it
 * is made of — typed targets, ceilings counted in addresses, protected assets in
 * canonical form, approval reasons, folding, the breaker and rate budgets. Pure:
 * the state and the time are passed in. Targets are untrusted. */
#include "core/governor.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "core/target.h"
#include "util/strutil.h"

static const char *const verdict_names[_GOVERNOR_VERDICT_MAX] = {
        [GOVERNOR_ALLOW] = "allowed",
        [GOVERNOR_DENY] = "denied",
        [GOVERNOR_NEEDS_APPROVAL] = "needs_approval",
        [GOVERNOR_RECOMMEND] = "recommended",
        [GOVERNOR_SATISFIED] = "satisfied",
        [GOVERNOR_SKIP] = "skipped",
};

const char *governor_verdict_name(governor_verdict v) {
        return (unsigned)v < _GOVERNOR_VERDICT_MAX ? verdict_names[v] : "?";
}

static governor_verdict rule(governor_ruling *ret, governor_verdict v, const char *id, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Records the verdict, the id of the rule that gave it (stable: docs/controls.md
 * and the tests name it) and the reason. */
static governor_verdict rule(governor_ruling *ret, governor_verdict v, const char *id, const char *fmt,
                             ...) {
        ret->verdict = v;
        ret->rule = id;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ret->reason, sizeof(ret->reason), fmt, ap);
        va_end(ap);
        return v;
}

/* --- G1: typed targets, ceilings, protected assets ------------------------------ */

/* G1.2 The ceiling for kind of connector.verb: the policy's, or the action
 * kind's if lower. */
static unsigned ceiling_for(const governor_policy *p, const char *connector, const char *verb,
                            target_kind kind) {
        unsigned c = p->ceiling[kind];
        for (size_t i = 0; i < p->n_action_ceilings; i++) {
                unsigned own = p->action_ceilings[i].ceiling[kind];
                if (own && own < c && str_is_joined(p->action_ceilings[i].action, connector, '.', verb))
                        c = own;
        }
        return c;
}

/* One target as the governor judges it, parsed once. */
typedef struct judged_target {
        uint64_t weight; /* G1.2: an address prefix counts what it covers; anything else one */
        bool is_ip;      /* an address, or a host named by an IP literal */
        ip_prefix ip;
} judged_target;

/* G1.1 Whether target is valid and in normal form for kind (as the alert parser
 * leaves observables), with *ret filled. */
static bool judge_one(target_kind kind, const char *target, judged_target *ret) {
        size_t len = strlen(target);
        *ret = (judged_target){.weight = 1};
        if (kind == TARGET_IP) {
                if (ip_prefix_parse(target, len, &ret->ip) < 0 || strcmp(ret->ip.text, target) != 0)
                        return false;
                ret->is_ip = true;
                ret->weight = ip_prefix_size(&ret->ip);
                return true;
        }
        char canon[TARGET_TEXT_MAX + 1];
        if (target_normalise(kind, target, len, canon, sizeof(canon)) < 0 || strcmp(canon, target) != 0)
                return false;
        ret->is_ip = kind == TARGET_HOST && ip_prefix_parse(target, len, &ret->ip) == 0;
        return true;
}

/* G1.3 The protected entry the target names, or NULL. A host name that is an IP
 * literal is an address too. */
static const char *protected_entry(const governor_policy *p, target_kind kind, const char *target,
                                   const judged_target *j) {
        if (j->is_ip) {
                const ip_prefix *hit = ip_prefix_overlaps_any(&j->ip, p->protected_ips, p->n_protected_ips);
                return hit ? hit->text : NULL;
        }
        if (kind == TARGET_ACCOUNT) {
                account_subject a;
                if (p->n_protected_accounts > 0)
                        account_subject_init(target, &a);
                for (size_t i = 0; i < p->n_protected_accounts; i++)
                        if (account_pattern_matches(p->protected_accounts[i], &a))
                                return p->protected_accounts[i];
        } else if (kind == TARGET_HOST) {
                for (size_t i = 0; i < p->n_protected_hosts; i++)
                        if (host_pattern_matches(p->protected_hosts[i], target))
                                return p->protected_hosts[i];
        }
        return NULL;
}

bool governor_targets_typed(target_kind kind, bool inert) {
        /* An opaque string the governor cannot judge reaches only a connector
         * that changes no system. */
        return kind != TARGET_STRING || inert;
}

/* G1: every target is of a kind the governor can judge, valid as that kind,
 * the action stays within its ceiling, and no target is protected. */
static governor_verdict judge_targets(const governor_policy *p, const governor_action *a,
                                      governor_ruling *ret) {
        if ((unsigned)a->kind >= _TARGET_KIND_MAX)
                return rule(ret, GOVERNOR_DENY, "untyped_target", "unknown target kind; refused whole");
        if (a->n_targets > 0 && !governor_targets_typed(a->kind, a->inert))
                return rule(ret, GOVERNOR_DENY, "untyped_target",
                            "untyped targets: %s.%s changes a system, so its targets must be declared ip, "
                            "account or host; refused whole",
                            a->connector, a->verb);
        if (a->kind == TARGET_STRING || a->kind == TARGET_NONE)
                return rule(ret, GOVERNOR_ALLOW, "allowed", "no target the governor judges");
        /* One pass, each target parsed once; an invalid target decides at once,
         * then the ceiling, then the first protected target. */
        unsigned ceiling = ceiling_for(p, a->connector, a->verb, a->kind);
        uint64_t weight = 0;
        size_t hit_at = 0;
        const char *hit = NULL;
        for (size_t i = 0; i < a->n_targets; i++) {
                judged_target j;
                if (!judge_one(a->kind, a->targets[i], &j))
                        return rule(ret, GOVERNOR_DENY, "invalid_target",
                                    "target %.64s is not a valid %s; refused whole", a->targets[i],
                                    target_kind_name(a->kind));
                weight = j.weight > UINT64_MAX - weight ? UINT64_MAX : weight + j.weight;
                if (!hit && (hit = protected_entry(p, a->kind, a->targets[i], &j)))
                        hit_at = i;
        }
        if (ceiling > 0 && weight > ceiling) {
                if (a->kind == TARGET_IP)
                        return rule(ret, GOVERNOR_DENY, "over_ceiling",
                                    "%s%" PRIu64
                                    " addresses exceed the ceiling of %u per %s.%s action; refused "
                                    "whole",
                                    weight == UINT64_MAX ? "more than " : "",
                                    weight == UINT64_MAX ? UINT64_MAX - 1 : weight, ceiling, a->connector,
                                    a->verb);
                return rule(ret, GOVERNOR_DENY, "over_ceiling",
                            "%zu %s targets exceed the ceiling of %u per %s.%s action; refused whole",
                            a->n_targets, target_kind_name(a->kind), ceiling, a->connector, a->verb);
        }
        if (hit)
                return rule(ret, GOVERNOR_DENY, "protected_asset",
                            "target %.64s is a protected asset (%.64s); refused whole", a->targets[hit_at],
                            hit);
        return rule(ret, GOVERNOR_ALLOW, "allowed", "within the ceiling, no protected asset");
}

/* --- G2: approvals ------------------------------------------------------------------ */

static void approval_reason(governor_ruling *ret, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void approval_reason(governor_ruling *ret, const char *fmt, ...) {
        if (ret->n_approval_reasons >= GOVERNOR_APPROVAL_REASONS_MAX)
                return;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ret->approval_reasons[ret->n_approval_reasons++], GOVERNOR_APPROVAL_REASON_LEN, fmt, ap);
        va_end(ap);
}

/* G2.1 Why a would need an approval to run: level 4 always; level 3 when its
 * connector cannot roll it back; any level when it is in a high-risk category
 * (declared by the step, classified by configuration, or a bulk account action
 * of BW_BULK_ACCOUNTS accounts or more). */
static void approval_reasons(const governor_policy *p, const governor_action *a, governor_ruling *ret) {
        bool reversible = a->reversible || a->inert;
        if (a->level >= 4)
                approval_reason(ret, "automation level 4");
        else if (a->level == 3 && !reversible)
                approval_reason(ret, "level 3 runs only reversible actions: %s.%s cannot be rolled back",
                                a->connector, a->verb);
        if (a->category && a->category[0])
                approval_reason(ret, "category %s", a->category);
        const char *classified = approval_policy_category_of(&p->approvals, a->connector, a->verb);
        if (classified && (!a->category || strcmp(classified, a->category) != 0))
                approval_reason(ret, "category %s (%s.%s)", classified, a->connector, a->verb);
        if (a->kind == TARGET_ACCOUNT && a->n_targets >= BW_BULK_ACCOUNTS)
                approval_reason(ret, "category bulk_account_action (%zu accounts)", a->n_targets);
}

/* --- G3: rate budgets ---------------------------------------------------------------- */

size_t governor_budgets_for(const governor_policy *p, const char *connector, const char *verb,
                            governor_budget out[GOVERNOR_BUDGETS_MAX]) {
        size_t n = 0;
        /* Keys are unique (governor_policy_rate_limit), so at most two match. */
        for (size_t i = 0; i < p->n_rate_limits; i++) {
                const governor_rate_limit *rl = &p->rate_limits[i];
                if (strcmp(rl->key, "global") != 0 && !str_is_joined(rl->key, connector, '.', verb))
                        continue;
                for (unsigned w = 0; w < _RATE_WINDOW_MAX && n < GOVERNOR_BUDGETS_MAX; w++)
                        if (rl->per[w])
                                out[n++] = (governor_budget){
                                        .key = rl->key, .window = (rate_window)w, .limit = rl->per[w]};
        }
        return n;
}

/* --- the decision -------------------------------------------------------------------- */

governor_verdict governor_decide(const governor_policy *p, const governor_action *a, const governor_state *s,
                                 governor_ruling *ret) {
        /* Only what every verdict reads is reset: the reasons' texts are
         * written before they are counted. */
        ret->n_approval_reasons = ret->n_charge = 0;
        ret->open_breaker = false;
        /* G0 Alert only, or nothing to act on. */
        if (a->level <= 1)
                return rule(ret, GOVERNOR_SKIP, "alert_only", "automation level 1: alert only");
        if (a->has_targets && a->n_targets == 0)
                return rule(ret, GOVERNOR_SKIP, "no_target", "the alert names nothing to act on");
        /* G1 At every level and for every operation: an over-ceiling
         * recommendation is as refused as an automatic action, and undoing a
         * change is a change. */
        if (judge_targets(p, a, ret) == GOVERNOR_DENY)
                return GOVERNOR_DENY;
        /* G4 A rollback only narrows what Bulwark did: no approval, no budget,
         * not stopped by the breaker. */
        if (a->op == GOVERNOR_ROLLBACK)
                return rule(ret, GOVERNOR_ALLOW, "rollback", "rollback of an applied action");
        approval_reasons(p, a, ret);
        /* G2.2 Level 2 records; an analyst's run of it is judged like level 3. */
        if (a->level == 2 && !a->released)
                return rule(ret, GOVERNOR_RECOMMEND, "recommend_only",
                            "automation level 2: recorded as a recommendation");
        /* G2.3 A needed approval must be granted and still valid. */
        if (ret->n_approval_reasons > 0 && !approval_valid(&p->approvals, s->approval, s->now_ms)) {
                const approval_record *r = s->approval;
                if (r && r->state == APPROVAL_APPROVED)
                        return rule(
                                ret, GOVERNOR_NEEDS_APPROVAL, "approval_lapsed",
                                "its approval lapsed (valid %u s after it was given): it needs a new one",
                                p->approvals.valid_s);
                return rule(ret, GOVERNOR_NEEDS_APPROVAL, "approval_needed",
                            "needs an approval before it runs");
        }
        /* G5 Folding: already in effect through a live action. Not for an action
         * in doubt, which may itself be what holds the effect. */
        if (a->op == GOVERNOR_RUN && s->covered)
                return rule(ret, GOVERNOR_SATISFIED, "folded", "already in effect through a live action");
        /* G3 The breaker, then the budgets. */
        if (s->breaker_open)
                return rule(ret, GOVERNOR_RECOMMEND, "breaker_open",
                            "circuit breaker open: degraded to a recommendation (an admin resets it)");
        if (a->op == GOVERNOR_IN_DOUBT)
                return rule(ret, GOVERNOR_ALLOW, "allowed",
                            "in doubt: charged when it first entered INTENT");
        governor_budget b[GOVERNOR_BUDGETS_MAX];
        size_t n = governor_budgets_for(p, a->connector, a->verb, b);
        for (size_t i = 0; i < n && s->budget_used; i++)
                if (s->budget_used[i] >= b[i].limit) {
                        ret->open_breaker = true;
                        return rule(ret, GOVERNOR_RECOMMEND, "rate_limit",
                                    "rate limit %s: %u actions per %s spent", b[i].key, b[i].limit,
                                    rate_window_name(b[i].window));
                }
        memcpy(ret->charge, b, n * sizeof(b[0]));
        ret->n_charge = n;
        return rule(ret, GOVERNOR_ALLOW, "allowed", "every check passed");
}
