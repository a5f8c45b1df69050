/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's gates (see gate.h): read the state, ask governor_decide, write its
 * verdict in the same transaction, mint the permits. Runs in the engine worker
 * threads; the targets come from alerts (untrusted, validated). */
#include "engine/gate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/governed_action.h"
#include "connectors/connector.h"
#include "util/clock.h"

/* --- the governor's view of an action ------------------------------------------- */

static void describe(const batch_action *act, governor_op op, bool released, governor_action *ret) {
        governed_action_describe(act->exec->playbook, &act->rendered, act->integration, op, released, ret);
}

/* --- permits ------------------------------------------------------------------------- */

static int mint(const char *integration, permit_op op, const connector_action *a, governor_permit *ret) {
        permit_subject s = connector_permit_subject(integration, op, a);
        return governor_permit_mint(&s, ret);
}

/* Every check passed: the permits for exactly this action — apply, and the
 * rollback its own failed verify may need (or only the rollback it was asked). */
static int mint_action(batch_action *act, bool rollback_only) {
        connector_action a = batch_action_call(act);
        int r = rollback_only ? 0
                              : mint(act->integration->name, PERMIT_APPLY, &a, &act->permits[PERMIT_APPLY]);
        return r < 0 ? r : mint(act->integration->name, PERMIT_ROLLBACK, &a, &act->permits[PERMIT_ROLLBACK]);
}

const governor_permit *gate_permit_for(const governor_permit permits[_PERMIT_OP_MAX], connector_op op) {
        if (op == CONNECTOR_OP_APPLY)
                return &permits[PERMIT_APPLY];
        return op == CONNECTOR_OP_ROLLBACK ? &permits[PERMIT_ROLLBACK] : NULL;
}

int gate_permit_notification(const char *integration, const connector_action *note, governor_permit *ret) {
        return mint(integration, PERMIT_APPLY, note, ret);
}

int gate_permit_drill(const char *integration, const connector_action *a,
                      governor_permit ret[_PERMIT_OP_MAX]) {
        int r = mint(integration, PERMIT_APPLY, a, &ret[PERMIT_APPLY]);
        return r < 0 ? r : mint(integration, PERMIT_ROLLBACK, a, &ret[PERMIT_ROLLBACK]);
}

/* --- the transaction's view ------------------------------------------------------------ */

void gate_txn_init(gate_txn *g, const bw_config *config, int64_t now_ms) {
        *g = (gate_txn){.config = config, .now_ms = now_ms};
}

void gate_txn_clear(gate_txn *g) {
        json_decref(g->taken);
        free(g->leads);
        g->taken = NULL;
        g->leads = NULL;
        g->n_leads = 0;
}

static store_budget store_budget_of(const gate_budget *b) {
        return (store_budget){.key = b->key, .window_ms = rate_window_ms(b->window)};
}

/* The transaction's entry for budget b, read from the store on first use. */
static int budget_entry(store_tx *tx, gate_txn *g, const governor_budget *b, gate_budget **ret) {
        for (size_t i = 0; i < g->n_budgets; i++)
                if (g->budgets[i].window == b->window && strcmp(g->budgets[i].key, b->key) == 0) {
                        *ret = &g->budgets[i];
                        return 0;
                }
        if (g->n_budgets >= sizeof(g->budgets) / sizeof(g->budgets[0]))
                return -ENOSPC;
        gate_budget *e = &g->budgets[g->n_budgets];
        *e = (gate_budget){.key = b->key, .window = b->window};
        store_budget sb = store_budget_of(e);
        int r = store_tx_budget_used(tx, &sb, g->now_ms, &e->used);
        if (r < 0)
                return r;
        g->n_budgets++;
        *ret = e;
        return 0;
}

int gate_txn_flush(store_tx *tx, gate_txn *g) {
        for (size_t i = 0; i < g->n_budgets; i++) {
                if (g->budgets[i].charged == 0)
                        continue;
                store_budget sb = store_budget_of(&g->budgets[i]);
                int r = store_tx_budget_charge(tx, &sb, g->now_ms, g->budgets[i].charged);
                if (r < 0)
                        return r;
                g->budgets[i].charged = 0;
        }
        return 0;
}

static int breaker_read(store_tx *tx, gate_txn *g) {
        if (g->breaker_known)
                return 0;
        int r = store_tx_breaker_is_open(tx, &g->breaker_open);
        g->breaker_known = r == 0;
        return r;
}

/* When the effect this action would have ends: its duration_s (the engine
 * reverts it), else the connector's own expiry, else never (INT64_MAX). A
 * live effect folds it only if it lasts as long. */
static int64_t wanted_until(const gate_txn *g, const batch_action *act) {
        int64_t s = act->rendered.step->duration_s;
        if (s <= 0)
                s = connector_native_expiry_s(act->kind, act->integration->settings, act->rendered.params);
        return s > 0 ? g->now_ms + s * 1000 : INT64_MAX;
}

/* The key of one target of act in the transaction's folding map: the
 * integration and the target, whatever the verb, so that a later verb on the
 * same target (an unblock after a block) supersedes the earlier one. */
static int taken_key(const batch_action *act, size_t t, char *out, size_t len) {
        int n = snprintf(out, len, "%s\x1f%s", act->integration->name, act->rendered.targets.items[t]);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* G5 within one batch: the one action of this transaction that last put every
 * target of act in the state act wants (the same verb), for at least as long,
 * or NULL. */
static const batch_action *taken_by(const gate_txn *g, const batch_action *act) {
        const batch_action *lead = NULL;
        int64_t until = wanted_until(g, act);
        for (size_t t = 0; t < act->rendered.targets.n; t++) {
                char key[2 * BW_TARGET_MAX + 8];
                json_t *v = taken_key(act, t, key, sizeof(key)) == 0 ? json_object_get(g->taken, key) : NULL;
                const char *verb = json_string_value(json_array_get(v, 0));
                if (!verb || strcmp(verb, act->rendered.step->verb) != 0)
                        return NULL;
                const batch_action *by = g->leads[json_integer_value(json_array_get(v, 1))];
                /* One action must hold them all: the follower shares its
                 * outcome (engine.c: fold_outcome). */
                if (wanted_until(g, by) < until || (lead && by != lead))
                        return NULL;
                lead = by;
        }
        return lead;
}

/* act will apply its targets in this transaction: later ones with the same verb
 * fold into it; one with another verb supersedes it. */
static int take(gate_txn *g, batch_action *act) {
        if (act->rendered.targets.n == 0)
                return 0;
        if (!g->taken && !(g->taken = json_object()))
                return -ENOMEM;
        batch_action **grown = realloc(g->leads, (g->n_leads + 1) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        g->leads = grown;
        size_t id = g->n_leads++;
        grown[id] = act;
        for (size_t t = 0; t < act->rendered.targets.n; t++) {
                char key[2 * BW_TARGET_MAX + 8];
                int r = taken_key(act, t, key, sizeof(key));
                if (r < 0)
                        return r;
                /* The latest action on a target decides its state. */
                if (json_object_set_new(g->taken, key,
                                        json_pack("[sI]", act->rendered.step->verb, (json_int_t)id)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Whether a live action already holds every target (G5), in the store or
 * earlier in this transaction. */
static int covered(store_tx *tx, gate_txn *g, batch_action *act, bool *ret) {
        *ret = false;
        if (act->rendered.targets.n == 0)
                return 0;
        int64_t by = 0;
        int r = store_tx_effects_cover(tx, act->integration->name, act->rendered.step->verb,
                                       act->rendered.targets.items, act->rendered.targets.n,
                                       wanted_until(g, act), &by);
        if (r < 0)
                return r;
        if (r == 1) {
                snprintf(act->detail, sizeof(act->detail), "already in effect through action %" PRId64, by);
                *ret = true;
                return 0;
        }
        act->folded_into = taken_by(g, act);
        if (act->folded_into) {
                snprintf(act->detail, sizeof(act->detail),
                         "already applied in this batch by action %" PRId64, act->folded_into->stored.id);
                *ret = true;
        }
        return 0;
}

/* The state view of act: the breaker and budgets of the transaction, its
 * execution's approval, and whether it is already in effect. used has room for
 * GOVERNOR_BUDGETS_MAX. */
static int read_state(store_tx *tx, gate_txn *g, batch_action *act, governor_op op,
                      approval_record *approval, uint64_t *used, governor_state *ret) {
        *ret = (governor_state){.now_ms = g->now_ms};
        int r = breaker_read(tx, g);
        if (r < 0)
                return r;
        ret->breaker_open = g->breaker_open;
        if (act->needs_approval) {
                r = store_tx_approval_get(tx, act->exec->exec_id, approval, NULL);
                if (r < 0 && r != -ENOENT)
                        return r;
                ret->approval = r == 0 ? approval : NULL;
        }
        if (op == GOVERNOR_RUN) {
                r = covered(tx, g, act, &ret->covered);
                if (r < 0)
                        return r;
                governor_budget b[GOVERNOR_BUDGETS_MAX];
                size_t n = governor_budgets_for(&g->config->governor, act->rendered.step->connector,
                                                act->rendered.step->verb, b);
                for (size_t i = 0; i < n; i++) {
                        gate_budget *e;
                        r = budget_entry(tx, g, &b[i], &e);
                        if (r < 0)
                                return r;
                        used[i] = e->used;
                }
                ret->budget_used = used;
        }
        return 0;
}

/* Charges an allowed action to every budget the governor named. */
static int charge(store_tx *tx, gate_txn *g, const governor_ruling *ru) {
        for (size_t i = 0; i < ru->n_charge; i++) {
                gate_budget *e;
                int r = budget_entry(tx, g, &ru->charge[i], &e);
                if (r < 0)
                        return r;
                e->used++;
                e->charged++;
        }
        return 0;
}

/* A spent budget opens the breaker (once), in this transaction. */
static int open_breaker(store_tx *tx, gate_txn *g, const char *why) {
        int r = store_tx_breaker_open(tx, why);
        if (r < 0)
                return r;
        g->breaker_open = true;
        if (r == 1)
                snprintf(g->breaker_opened, sizeof(g->breaker_opened), "%s", why);
        return 0;
}

/* The journal state a verdict other than ALLOW records. */
static action_state state_of(governor_verdict v) {
        switch (v) {
        case GOVERNOR_DENY:
                return ACTION_DENIED;
        case GOVERNOR_NEEDS_APPROVAL:
                return ACTION_AWAITING_APPROVAL;
        case GOVERNOR_SATISFIED:
                return ACTION_SATISFIED;
        case GOVERNOR_SKIP:
                return ACTION_SKIPPED;
        case GOVERNOR_RECOMMEND:
        default:
                return ACTION_RECOMMENDED;
        }
}

static void note(batch_action *act, const governor_ruling *ru) {
        if (ru->verdict == GOVERNOR_SATISFIED)
                return; /* covered() named the action that holds it */
        if (ru->verdict == GOVERNOR_DENY)
                snprintf(act->detail, sizeof(act->detail), "%s: %s", ru->rule, ru->reason);
        else if (ru->open_breaker)
                snprintf(act->detail, sizeof(act->detail),
                         "%s; circuit breaker open: degraded to a recommendation", ru->reason);
        else
                snprintf(act->detail, sizeof(act->detail), "%s", ru->reason);
}

/* --- the gates ------------------------------------------------------------------------- */

int gate_plan(const bw_config *config, batch_exec *ex, batch_action *a) {
        governor_action ga;
        describe(a, GOVERNOR_RUN, false, &ga);
        governor_state none = {0};
        governor_ruling ru;
        governor_decide(&config->governor, &ga, &none, &ru);
        a->needs_approval = ru.n_approval_reasons > 0;
        a->initial_state = ru.verdict == GOVERNOR_ALLOW ? ACTION_PLANNED : state_of(ru.verdict);
        a->final_state = a->initial_state;
        if (ru.verdict == GOVERNOR_DENY)
                note(a, &ru);
        /* A recommendation that would need an approval once run says so. */
        if (ru.n_approval_reasons == 0 || a->initial_state == ACTION_DENIED)
                return 0;
        if (!ex->approval_reasons && !(ex->approval_reasons = json_array()))
                return -ENOMEM;
        for (size_t i = 0; i < ru.n_approval_reasons; i++) {
                json_t *why = json_string(ru.approval_reasons[i]);
                bool known = false;
                size_t k;
                json_t *have;
                json_array_foreach(ex->approval_reasons, k, have) known = known || json_equal(have, why);
                if (!why || (!known && json_array_append(ex->approval_reasons, why) < 0)) {
                        json_decref(why);
                        return -ENOMEM;
                }
                json_decref(why);
        }
        return 0;
}

/* PLANNED: a new action, or one an analyst or approver released. Level 2
 * reaches PLANNED only through an analyst's run. */
static int planned_gate(store_tx *tx, gate_txn *g, batch_action *act) {
        governor_action ga;
        describe(act, GOVERNOR_RUN, act->exec->playbook->level == LEVEL_RECOMMEND, &ga);
        approval_record approval;
        uint64_t used[GOVERNOR_BUDGETS_MAX];
        governor_state st;
        int r = read_state(tx, g, act, GOVERNOR_RUN, &approval, used, &st);
        if (r < 0)
                return r;
        governor_ruling ru;
        governor_verdict v = governor_decide(&g->config->governor, &ga, &st, &ru);
        if (v != GOVERNOR_SATISFIED)
                act->folded_into = NULL;
        if (v == GOVERNOR_ALLOW) {
                r = charge(tx, g, &ru);
                if (r == 0)
                        r = mint_action(act, false);
                if (r == 0)
                        r = take(g, act);
                if (r == 0)
                        r = store_tx_action_set(tx, act->stored.id, ACTION_INTENT, NULL, NULL);
                act->run = r == 0;
                act->final_state = ACTION_INTENT;
                return r;
        }
        if (ru.open_breaker) {
                r = open_breaker(tx, g, ru.reason);
                if (r < 0)
                        return r;
        }
        note(act, &ru);
        act->final_state = state_of(v);
        act->run = false;
        return store_tx_action_set(tx, act->stored.id, act->final_state, act->detail, NULL);
}

/* INTENT: a previous process may have applied it. It passes the governor
 * again: if the current rules would not run it (denied, level lowered, no
 * valid approval, breaker open) it is only verified — recorded as applied if it
 * took effect, else as what the governor decides now — and never applied. */
static int in_doubt_gate(store_tx *tx, gate_txn *g, batch_action *act) {
        governor_action ga;
        describe(act, GOVERNOR_IN_DOUBT, false, &ga);
        approval_record approval;
        governor_state st;
        int r = read_state(tx, g, act, GOVERNOR_IN_DOUBT, &approval, NULL, &st);
        if (r < 0)
                return r;
        /* What the previous attempt journaled (its snapshot, before it applied):
         * kept, so that the action can still be rolled back and expire. */
        r = store_tx_action_result(tx, act->stored.id, &act->result_json);
        if (r < 0)
                return r;
        governor_ruling ru;
        act->run = true;
        if (governor_decide(&g->config->governor, &ga, &st, &ru) == GOVERNOR_ALLOW)
                return mint_action(act, false);
        act->verify_only = true;
        act->if_absent = state_of(ru.verdict);
        note(act, &ru);
        return 0;
}

/* Targets another live action holds (a later block of the same address that
 * found it present) stay as they are: rolling back this action must not undo
 * that one. The rollback then covers the other targets only. */
static int hold_gate(store_tx *tx, batch_action *act) {
        template_value *t = &act->rendered.targets;
        if (t->n == 0)
                return 0;
        bool *held = calloc(t->n, sizeof(*held));
        if (!held)
                return -ENOMEM;
        int64_t by = 0;
        int r = store_tx_effects_held(tx, act->integration->name, act->rendered.step->verb, t->items, t->n,
                                      act->stored.id, held, &by);
        if (r < 0 || by == 0) {
                free(held);
                return r;
        }
        size_t kept = 0;
        for (size_t i = 0; i < t->n; i++) {
                if (held[i])
                        free(t->items[i]);
                else
                        t->items[kept++] = t->items[i];
        }
        snprintf(act->detail, sizeof(act->detail),
                 "%zu of %zu target(s) left in place: still held by action %" PRId64, t->n - kept, t->n, by);
        t->n = kept;
        act->rollback_partial = true;
        free(held);
        return 0;
}

/* ROLLBACK_REQUESTED (an admin, or the expiry): restore the snapshot the action
 * kept. Undoing a change is a change: the governor judges its targets again (a
 * target that became protected is left alone); it is charged to no budget and
 * not stopped by the breaker, since it only narrows what Bulwark did. */
static int rollback_gate(store_tx *tx, gate_txn *g, batch_action *act) {
        char *result = NULL;
        int r = store_tx_action_result(tx, act->stored.id, &result);
        if (r < 0)
                return r;
        json_t *res = result ? json_loads(result, 0, NULL) : NULL;
        json_t *snapshot = json_object_get(res, "snapshot");
        act->run = true;
        act->rollback = true;
        act->result_json = result; /* kept as it is: the snapshot stays with the action */
        act->rollback_snapshot = snapshot && act->reversible ? json_incref(snapshot) : NULL;
        json_decref(res);
        if (!act->rollback_snapshot)
                return 0; /* execute says why it cannot */
        governor_action ga;
        describe(act, GOVERNOR_ROLLBACK, false, &ga);
        governor_state st = {.now_ms = g->now_ms};
        governor_ruling ru;
        if (governor_decide(&g->config->governor, &ga, &st, &ru) != GOVERNOR_ALLOW) {
                note(act, &ru);
                act->rollback_refused = true;
                return 0;
        }
        r = hold_gate(tx, act);
        if (r == 0 && act->rendered.targets.n > 0)
                r = mint_action(act, true);
        return r;
}

int gate_action(store_tx *tx, gate_txn *g, batch_action *act, const store_action *stored) {
        act->stored = *stored;
        act->final_state = stored->state;
        act->in_doubt = stored->state == ACTION_INTENT;
        act->run = false;
        switch (stored->state) {
        case ACTION_INTENT:
                return in_doubt_gate(tx, g, act);
        case ACTION_ROLLBACK_REQUESTED:
                return rollback_gate(tx, g, act);
        case ACTION_PLANNED:
                return planned_gate(tx, g, act);
        default:
                return 0; /* decided before: nothing to run */
        }
}

int gate_approval_request(store_tx *tx, gate_txn *g, const batch_alert *ba, batch_exec *ex) {
        bool awaiting = false;
        for (size_t a = 0; a < ex->n_actions; a++)
                awaiting = awaiting || ex->actions[a].final_state == ACTION_AWAITING_APPROVAL;
        if (!awaiting)
                return 0;
        const approval_policy *ap = &g->config->governor.approvals;
        /* Whoever caused the action to run may not approve it: the alert's
         * sender and everyone who ran or re-ran this execution. */
        approval_actors requesters = {0};
        int r = approval_actors_add(&requesters, ba->claimed.submitted_by);
        if (r == 0)
                r = store_tx_exec_requesters(tx, ex->exec_id, &requesters);
        if (r < 0)
                return r;
        char *reasons = ex->approval_reasons ? json_dumps(ex->approval_reasons, JSON_COMPACT)
                                             : strdup("[\"awaiting approval\"]");
        if (!reasons)
                return -ENOMEM;
        store_approval_request q = {
                .exec_id = ex->exec_id,
                .requesters = &requesters,
                .author = ex->playbook->author,
                .reasons_json = reasons,
                .required = ap->approvers,
                .requested_at_ms = g->now_ms,
                .expires_at_ms = g->now_ms + (int64_t)ap->timeout_s * 1000,
        };
        int64_t id;
        r = store_tx_approval_request(tx, &q, &id);
        free(reasons);
        if (r == 1)
                ex->approval_id = id;
        return r < 0 ? r : 0;
}
