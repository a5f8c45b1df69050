/* SPDX-License-Identifier: Apache-2.0 */
/* Running one action through the connector protocol: validate, snapshot, apply,
 * verify, and rollback when verification fails; and the recovery of actions left
 * in doubt by a crash (verify before any retry, so nothing is applied twice).
 * Runs in the engine worker threads. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector.h"
#include "engine/batch.h"
#include "engine/gate.h"
#include "util/clock.h"
#include "util/log.h"

typedef struct action_call {
        connector_pool *pool;
        const batch_hooks *hooks;
        const governor_permit *permits; /* by permit_op; minted by engine/gate.c */
        const integration_config *integration;
        const connector_kind *kind;
        connector_action action;
} action_call;

static bool kind_has(const action_call *c, connector_op op) {
        return c->kind && connector_kind_has_op(c->kind, c->integration->settings, op);
}

/* Runs op; returns 0 and *res when the op ran, else a negative errno. */
static int call_op(action_call *c, connector_op op, connector_result *res) {
        *res = (connector_result){0};
        return connector_pool_call(c->pool, c->integration->name, op, &c->action,
                                   gate_permit_for(c->permits, op), c->integration->timeout_ms, res);
}

static void finish(batch_action *a, action_state state, action_outcome outcome, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void finish(batch_action *a, action_state state, action_outcome outcome, const char *fmt, ...) {
        a->final_state = state;
        a->outcome = outcome;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->detail, sizeof(a->detail), fmt, ap);
        va_end(ap);
}

static const char *why_failed(int r, const connector_result *res) {
        if (r < 0)
                return strerror(-r);
        return res->detail[0] ? res->detail : "connector reported failure";
}

/* Restores snapshot, then checks the rollback's own result: a fresh snapshot of
 * the targets must equal the one taken before apply. Returns a note for the
 * detail, and *ret_ok. */
static const char *restore(action_call *c, const json_t *snapshot, bool check, bool *ret_ok) {
        *ret_ok = false;
        if (!snapshot || !kind_has(c, CONNECTOR_OP_ROLLBACK))
                return "no rollback available";
        c->action.snapshot = snapshot;
        connector_result res;
        int r = call_op(c, CONNECTOR_OP_ROLLBACK, &res);
        bool ok = r == 0 && res.ok;
        connector_result_clear(&res);
        c->action.snapshot = NULL;
        if (!ok)
                return "ROLLBACK FAILED";
        if (!check) {
                *ret_ok = true;
                return "rolled back the released targets (not compared: the snapshot covers held ones too)";
        }
        r = call_op(c, CONNECTOR_OP_SNAPSHOT, &res);
        bool same = r == 0 && res.ok && json_equal(res.data, snapshot);
        connector_result_clear(&res);
        if (!same)
                return "ROLLBACK FAILED: the targets' state differs from the snapshot";
        *ret_ok = true;
        return "rolled back to the snapshot (verified)";
}

static const char *roll_back(action_call *c, json_t *snapshot) {
        bool ok;
        return restore(c, snapshot, true, &ok);
}

/* A rollback an admin or the expiry requested (the engine's rollback gate gave
 * the snapshot and, when the action can be restored, the permit). */
static void run_rollback(action_call *c, batch_action *a) {
        if (!a->rollback_snapshot || !a->reversible) {
                finish(a, ACTION_ROLLBACK_FAILED, OUTCOME_FAILED, "cannot roll back: %s",
                       a->reversible ? "no snapshot was kept" : "not reversible");
                return;
        }
        if (a->rollback_refused) {
                char why[sizeof(a->detail)];
                memcpy(why, a->detail, sizeof(why));
                finish(a, ACTION_ROLLBACK_FAILED, OUTCOME_DENIED,
                       "not rolled back, refused by the governor: %s", why);
                return;
        }
        char held[sizeof(a->detail)] = "";
        if (a->rollback_partial)
                memcpy(held, a->detail, sizeof(held));
        if (a->rendered.targets.n == 0) {
                finish(a, ACTION_ROLLED_BACK, OUTCOME_ROLLED_BACK, "%s", held);
                return;
        }
        bool ok;
        /* The snapshot covers every original target; after a partial rollback
         * only the released ones changed, so it cannot be compared whole. */
        const char *note = restore(c, a->rollback_snapshot, !a->rollback_partial, &ok);
        finish(a, ok ? ACTION_ROLLED_BACK : ACTION_ROLLBACK_FAILED,
               ok ? OUTCOME_ROLLED_BACK : OUTCOME_FAILED, "%s%s%s", note, held[0] ? "; " : "", held);
}

static void record_result(batch_action *a, json_t *snapshot, const char *apply_detail) {
        json_t *result = json_pack("{s:O? s:s?}", "snapshot", snapshot, "apply", apply_detail);
        free(a->result_json);
        a->result_json = result ? json_dumps(result, JSON_COMPACT) : NULL;
        json_decref(result);
}

/* An action found in INTENT after a restart: verify before any retry. Returns
 * true if the outcome is decided, false if it must be applied now. */
static bool recover_in_doubt(action_call *c, batch_action *a) {
        if (!kind_has(c, CONNECTOR_OP_VERIFY)) {
                finish(a, ACTION_FAILED, OUTCOME_FAILED,
                       "in doubt after a restart and the connector cannot verify: not retried");
                return true;
        }
        connector_result res;
        int r = call_op(c, CONNECTOR_OP_VERIFY, &res);
        bool decided = true;
        if (r < 0)
                finish(a, ACTION_FAILED, OUTCOME_FAILED, "in doubt after a restart; verify failed: %s",
                       strerror(-r));
        else if (res.ok)
                finish(a, ACTION_APPLIED, OUTCOME_RECOVERED, "applied before a restart (verified)");
        else
                decided = false; /* verified absent: the previous attempt never took effect */
        connector_result_clear(&res);
        return decided;
}

/* Validate, then snapshot: true with *ret_snapshot (NULL if the kind keeps
 * none) when the action may be applied; else its outcome is decided. */
static bool prepared(batch_action *a, int r, connector_result *res, const char *what) {
        if (r == 0 && res->ok)
                return true;
        finish(a, ACTION_FAILED, OUTCOME_FAILED, "%s: %s", what, why_failed(r, res));
        return false;
}

/* A snapshot that succeeded must carry the state: without it the action could
 * not be rolled back, so it does not run. */
static bool snapshot_kept(batch_action *a, const connector_result *res) {
        if (res->data)
                return true;
        finish(a, ACTION_FAILED, OUTCOME_FAILED, "snapshot failed: the connector returned no state");
        return false;
}

/* An apply that did not succeed: roll back to the snapshot. Returns true if it
 * failed (outcome decided). */
static bool apply_failed(action_call *c, batch_action *a, json_t *snapshot, int r,
                         const connector_result *res) {
        if (r == 0 && res->ok)
                return false;
        const char *rolled = roll_back(c, snapshot);
        finish(a, ACTION_FAILED, r == -ETIMEDOUT ? OUTCOME_TIMEOUT : OUTCOME_FAILED, "apply failed: %s; %s",
               why_failed(r, res), rolled);
        record_result(a, snapshot, NULL);
        return true;
}

/* After a successful apply and its verify (verified: the kind has none, or it
 * passed): applied, or rolled back when verify found the change not in effect. */
static void verify_done(action_call *c, batch_action *a, json_t *snapshot, const char *apply_detail, int r,
                        const connector_result *res, bw_metrics *metrics) {
        if (r < 0 || !res->ok) {
                const char *rolled = roll_back(c, snapshot);
                finish(a, ACTION_FAILED, OUTCOME_FAILED, "verify failed: %s; %s",
                       r < 0 ? strerror(-r) : "change not in effect", rolled);
                record_result(a, snapshot, apply_detail);
                return;
        }
        finish(a, ACTION_APPLIED, OUTCOME_APPLIED, "%s", apply_detail[0] ? apply_detail : "applied");
        record_result(a, snapshot, apply_detail);
        int64_t e2e_ms = clock_wall_ms() - a->received_at_ms;
        histogram_observe(&metrics->e2e_latency, e2e_ms > 0 ? (uint64_t)e2e_ms * 1000 : 0);
}

/* The snapshots of acts[0..n), recorded durably before any of them is
 * applied. Returns true if they may go on; else each is decided failed. */
static bool journaled(const batch_hooks *hooks, batch_action *const *acts, size_t n) {
        int r = n > 0 ? hooks->journal(hooks->ctx, acts, n) : 0;
        for (size_t i = 0; r < 0 && i < n; i++)
                finish(acts[i], ACTION_FAILED, OUTCOME_FAILED,
                       "not applied: its snapshot could not be journaled: %s", strerror(-r));
        return r == 0;
}

static void run_fresh(action_call *c, batch_action *a, bw_metrics *metrics) {
        connector_result res = {0};
        int r;
        if (kind_has(c, CONNECTOR_OP_VALIDATE)) {
                r = call_op(c, CONNECTOR_OP_VALIDATE, &res);
                bool ok = prepared(a, r, &res, "validate rejected");
                connector_result_clear(&res);
                if (!ok)
                        return;
        }
        json_t *snapshot = NULL;
        if (kind_has(c, CONNECTOR_OP_SNAPSHOT)) {
                /* No snapshot, no change: a reversible action must stay reversible. */
                r = call_op(c, CONNECTOR_OP_SNAPSHOT, &res);
                bool ok = prepared(a, r, &res, "snapshot failed") && snapshot_kept(a, &res);
                snapshot = ok ? json_incref(res.data) : NULL;
                connector_result_clear(&res);
                if (ok) {
                        record_result(a, snapshot, NULL);
                        ok = journaled(c->hooks, &a, 1);
                }
                if (!ok) {
                        json_decref(snapshot);
                        return;
                }
        }
        int64_t t0 = clock_mono_us();
        r = call_op(c, CONNECTOR_OP_APPLY, &res);
        histogram_observe(&metrics->action_latency, (uint64_t)(clock_mono_us() - t0));
        if (!apply_failed(c, a, snapshot, r, &res)) {
                char apply_detail[sizeof(res.detail)];
                memcpy(apply_detail, res.detail, sizeof(apply_detail));
                connector_result_clear(&res);
                r = 0;
                res.ok = true;
                if (kind_has(c, CONNECTOR_OP_VERIFY))
                        r = call_op(c, CONNECTOR_OP_VERIFY, &res);
                verify_done(c, a, snapshot, apply_detail, r, &res, metrics);
        }
        connector_result_clear(&res);
        json_decref(snapshot);
}

static action_call call_of(connector_pool *pool, const batch_hooks *hooks, batch_action *a) {
        return (action_call){
                .pool = pool,
                .hooks = hooks,
                .permits = a->permits,
                .integration = a->integration,
                .kind = a->kind,
                .action = batch_action_call(a),
        };
}

/* Counts and logs an action's outcome. */
static void report(const batch_action *a, bw_metrics *metrics) {
        const playbook_step *step = a->rendered.step;
        metric_connector mc = metric_connector_from_kind(a->integration->kind);
        atomic_fetch_add_explicit(&metrics->actions[mc][a->outcome], 1, memory_order_relaxed);
        const char *event = a->final_state == ACTION_APPLIED           ? "action.applied"
                            : a->final_state == ACTION_FAILED          ? "action.failed"
                            : a->final_state == ACTION_ROLLED_BACK     ? "action.rolled_back"
                            : a->final_state == ACTION_ROLLBACK_FAILED ? "action.rollback_failed"
                                                                       : "action.not_run";
        log_json(a->final_state == ACTION_APPLIED ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "engine", event,
                 json_pack("{sI ss ss ss ss ss}", "action_id", (json_int_t)a->stored.id, "integration",
                           a->integration->name, "action", step->connector, "verb", step->verb, "targets",
                           a->targets_json, "detail", a->detail));
}

void execute_action(connector_pool *pool, batch_action *a, bw_metrics *metrics, const batch_hooks *hooks) {
        action_call c = call_of(pool, hooks, a);
        /* In doubt: verify first; only what verify did not settle goes on. */
        bool settled = a->in_doubt && recover_in_doubt(&c, a);
        if (a->rollback) {
                run_rollback(&c, a);
        } else if (!settled && a->verify_only) {
                char why[sizeof(a->detail)];
                memcpy(why, a->detail, sizeof(why));
                finish(a, a->if_absent, a->if_absent == ACTION_DENIED ? OUTCOME_DENIED : OUTCOME_NOT_RUN,
                       "not in effect after a restart and not run again: %s",
                       why[0] ? why : action_state_name(a->if_absent));
        } else if (!settled) {
                run_fresh(&c, a, metrics);
        }
        report(a, metrics);
}

/* --- groups: one connector call per step of the protocol ------------------------ */

/* The actions of a group still going, and the arrays a batched call needs. */
typedef struct group {
        connector_pool *pool;
        batch_action **acts;
        size_t n;
        action_call *calls;
        json_t **snapshots;
        char (*apply_detail)[512];
        bool *alive;
        /* one call's buffers, over the alive actions */
        connector_action *actions;
        governor_permit *permits;
        size_t *index;
        int *rcs;
        connector_result *res;
        size_t n_call;
} group;

/* Runs op for every alive action in one exchange. 0 with g->rcs/g->res per
 * g->index entry (cleared by group_clear_results), or the batch's -errno. */
static int group_call(group *g, connector_op op) {
        g->n_call = 0;
        for (size_t i = 0; i < g->n; i++)
                if (g->alive[i]) {
                        g->index[g->n_call] = i;
                        g->actions[g->n_call] = g->calls[i].action;
                        const governor_permit *pm = gate_permit_for(g->acts[i]->permits, op);
                        g->permits[g->n_call] = pm ? *pm : (governor_permit){0};
                        g->n_call++;
                }
        if (g->n_call == 0)
                return 0;
        memset(g->res, 0, g->n_call * sizeof(*g->res));
        return connector_pool_call_batch(g->pool, g->acts[0]->integration->name, op, g->actions, g->permits,
                                         g->n_call, g->acts[0]->integration->timeout_ms, g->rcs, g->res);
}

static void group_clear_results(group *g) {
        for (size_t k = 0; k < g->n_call; k++)
                connector_result_clear(&g->res[k]);
        g->n_call = 0;
}

static bool group_alloc(group *g) {
        size_t n = g->n;
        g->calls = calloc(n, sizeof(*g->calls));
        g->snapshots = calloc(n, sizeof(*g->snapshots));
        g->apply_detail = calloc(n, sizeof(*g->apply_detail));
        g->alive = calloc(n, sizeof(*g->alive));
        g->actions = calloc(n, sizeof(*g->actions));
        g->permits = calloc(n, sizeof(*g->permits));
        g->index = calloc(n, sizeof(*g->index));
        g->rcs = calloc(n, sizeof(*g->rcs));
        g->res = calloc(n, sizeof(*g->res));
        return g->calls && g->snapshots && g->apply_detail && g->alive && g->actions && g->permits &&
               g->index && g->rcs && g->res;
}

static void group_free(group *g) {
        for (size_t i = 0; g->snapshots && i < g->n; i++)
                json_decref(g->snapshots[i]);
        free(g->calls);
        free(g->snapshots);
        free(g->apply_detail);
        free(g->alive);
        free(g->actions);
        free(g->permits);
        free(g->index);
        free(g->rcs);
        free(g->res);
}

/* Validate and snapshot as one call each; an action refused is decided alone. */
static int group_prepare(group *g, connector_op op, const char *what) {
        const action_call *c0 = &g->calls[0];
        if (!kind_has(c0, op))
                return 0;
        int r = group_call(g, op);
        for (size_t k = 0; r == 0 && k < g->n_call; k++) {
                size_t i = g->index[k];
                g->alive[i] = prepared(g->acts[i], g->rcs[k], &g->res[k], what) &&
                              (op != CONNECTOR_OP_SNAPSHOT || snapshot_kept(g->acts[i], &g->res[k]));
                if (g->alive[i] && op == CONNECTOR_OP_SNAPSHOT)
                        g->snapshots[i] = json_incref(g->res[k].data);
        }
        group_clear_results(g);
        return r;
}

/* A batch call that failed after its request was sent, without a reply: the
 * worker timed out, died or answered nonsense, so the change may have happened. */
static bool applied_maybe(int r) {
        return r == -ETIMEDOUT || r == -ECONNRESET || r == -EBADMSG;
}

/* The snapshots of the group's alive actions, journaled in one write. */
static void group_journal(group *g, const batch_hooks *hooks) {
        batch_action **kept = calloc(g->n, sizeof(*kept));
        size_t n = 0;
        for (size_t i = 0; i < g->n; i++)
                if (g->alive[i] && g->snapshots[i]) {
                        record_result(g->acts[i], g->snapshots[i], NULL);
                        if (kept)
                                kept[n++] = g->acts[i];
                }
        if (!kept) {
                for (size_t i = 0; i < g->n; i++)
                        if (g->alive[i] && g->snapshots[i])
                                g->alive[i] = journaled(hooks, &g->acts[i], 1);
                return;
        }
        if (!journaled(hooks, kept, n))
                for (size_t i = 0; i < g->n; i++)
                        g->alive[i] = g->alive[i] && !g->snapshots[i];
        free(kept);
}

void execute_group(connector_pool *pool, batch_action **acts, size_t n, bw_metrics *metrics,
                   const batch_hooks *hooks) {
        group g = {.pool = pool, .acts = acts, .n = n};
        if (!group_alloc(&g)) {
                group_free(&g);
                for (size_t i = 0; i < n; i++) {
                        hooks->tick(hooks->ctx);
                        execute_action(pool, acts[i], metrics, hooks);
                }
                return;
        }
        for (size_t i = 0; i < n; i++) {
                g.calls[i] = call_of(pool, hooks, acts[i]);
                g.alive[i] = true;
        }
        int r = group_prepare(&g, CONNECTOR_OP_VALIDATE, "validate rejected");
        if (r == 0)
                r = group_prepare(&g, CONNECTOR_OP_SNAPSHOT, "snapshot failed");
        if (r < 0) {
                /* The batch could not run: nothing changed; one by one instead. */
                for (size_t i = 0; i < n; i++)
                        if (g.alive[i]) {
                                hooks->tick(hooks->ctx);
                                run_fresh(&g.calls[i], acts[i], metrics);
                        }
        } else {
                group_journal(&g, hooks);
                int64_t t0 = clock_mono_us();
                r = group_call(&g, CONNECTOR_OP_APPLY);
                uint64_t took = (uint64_t)(clock_mono_us() - t0);
                for (size_t k = 0; r == 0 && k < g.n_call; k++) {
                        size_t i = g.index[k];
                        histogram_observe(&metrics->action_latency, took);
                        g.alive[i] =
                                !apply_failed(&g.calls[i], acts[i], g.snapshots[i], g.rcs[k], &g.res[k]);
                        memcpy(g.apply_detail[i], g.res[k].detail, sizeof(g.apply_detail[i]));
                }
                group_clear_results(&g);
                if (r < 0 && applied_maybe(r)) {
                        /* The request reached the worker and no answer came back: the
                         * change may be in effect. As for one action, roll back. */
                        connector_result none = {0};
                        for (size_t i = 0; i < n; i++)
                                if (g.alive[i])
                                        apply_failed(&g.calls[i], acts[i], g.snapshots[i], r, &none);
                } else if (r < 0) {
                        /* Refused as a whole (apply_batch is all or nothing), or never
                         * sent: nothing changed; one by one instead. */
                        for (size_t i = 0; i < n; i++)
                                if (g.alive[i]) {
                                        hooks->tick(hooks->ctx);
                                        run_fresh(&g.calls[i], acts[i], metrics);
                                }
                } else {
                        bool verify = kind_has(&g.calls[0], CONNECTOR_OP_VERIFY);
                        r = verify ? group_call(&g, CONNECTOR_OP_VERIFY) : 0;
                        for (size_t i = 0, k = 0; i < n; i++) {
                                if (!g.alive[i])
                                        continue;
                                connector_result ok = {.ok = true};
                                /* A verify batch that failed as a whole: each is verified alone. */
                                if (verify && r < 0) {
                                        int vr = call_op(&g.calls[i], CONNECTOR_OP_VERIFY, &ok);
                                        verify_done(&g.calls[i], acts[i], g.snapshots[i], g.apply_detail[i],
                                                    vr, &ok, metrics);
                                        connector_result_clear(&ok);
                                } else if (verify) {
                                        verify_done(&g.calls[i], acts[i], g.snapshots[i], g.apply_detail[i],
                                                    g.rcs[k], &g.res[k], metrics);
                                        k++;
                                } else {
                                        verify_done(&g.calls[i], acts[i], g.snapshots[i], g.apply_detail[i],
                                                    0, &ok, metrics);
                                }
                        }
                        group_clear_results(&g);
                }
        }
        for (size_t i = 0; i < n; i++)
                report(acts[i], metrics);
        group_free(&g);
}

/* --- the rollback drill ----------------------------------------------------------- */

static void drill_vadd(drill_outcome *o, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void drill_vadd(drill_outcome *o, const char *fmt, va_list ap) {
        size_t used = strnlen(o->detail, sizeof(o->detail));
        if (used > 0 && used + 2 < sizeof(o->detail)) {
                memcpy(o->detail + used, "; ", 3);
                used += 2;
        }
        if (used + 1 < sizeof(o->detail))
                vsnprintf(o->detail + used, sizeof(o->detail) - used, fmt, ap);
}

void drill_clause(drill_outcome *o, bool failed, const char *fmt, ...) {
        o->ok = o->ok && !failed;
        va_list ap;
        va_start(ap, fmt);
        drill_vadd(o, fmt, ap);
        va_end(ap);
}

/* Runs op for the drill: NULL when it ran and succeeded (*res filled, caller
 * clears), else why not. */
static const char *drill_op(action_call *c, connector_op op, connector_result *res) {
        int r = call_op(c, op, res);
        if (r == 0 && !res->ok && op == CONNECTOR_OP_VERIFY && !res->detail[0])
                return "change not in effect";
        return r == 0 && res->ok ? NULL : why_failed(r, res);
}

/* Compact JSON of a snapshot for the detail, cut to fit; "?" if it cannot be dumped. */
static void snapshot_text(const json_t *s, char *out, size_t len) {
        char *text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(out, len, "%s", text ? text : "?");
        free(text);
}

void execute_drill(connector_pool *pool, const integration_config *ic, const connector_action *a,
                   const governor_permit permits[_PERMIT_OP_MAX], drill_outcome *ret) {
        action_call c = {.pool = pool,
                         .permits = permits,
                         .integration = ic,
                         .kind = connector_kind_find(ic->kind),
                         .action = *a};
        connector_result res;
        const char *why = drill_op(&c, CONNECTOR_OP_SNAPSHOT, &res);
        if (why) {
                /* Nothing applied yet: without a snapshot there is nothing to restore. */
                drill_clause(ret, true, "snapshot (before) failed: %s", why);
                connector_result_clear(&res);
                return;
        }
        json_t *before = json_incref(res.data);
        connector_result_clear(&res);
        ret->ok = true;
        why = drill_op(&c, CONNECTOR_OP_APPLY, &res);
        if (why)
                drill_clause(ret, true, "apply failed: %s", why);
        connector_result_clear(&res);
        if (ret->ok && kind_has(&c, CONNECTOR_OP_VERIFY)) {
                why = drill_op(&c, CONNECTOR_OP_VERIFY, &res);
                if (why)
                        drill_clause(ret, true, "verify failed: %s", why);
                connector_result_clear(&res);
        }
        c.action.snapshot = before;
        why = drill_op(&c, CONNECTOR_OP_ROLLBACK, &res);
        c.action.snapshot = NULL;
        if (why)
                drill_clause(ret, true, "rollback failed: %s", why);
        connector_result_clear(&res);
        why = drill_op(&c, CONNECTOR_OP_SNAPSHOT, &res);
        if (why) {
                drill_clause(ret, true, "snapshot (after) failed: %s", why);
        } else if (!json_equal(before, res.data)) {
                char b[256], after[256];
                snapshot_text(before, b, sizeof(b));
                snapshot_text(res.data, after, sizeof(after));
                drill_clause(ret, true, "snapshots differ after rollback: before %s, after %s", b, after);
        } else {
                drill_clause(ret, false, "snapshots identical");
        }
        connector_result_clear(&res);
        json_decref(before);
}
