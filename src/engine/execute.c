/* SPDX-License-Identifier: Apache-2.0 */
/* Running one action through the connector protocol: validate, snapshot, apply,
 * verify, and rollback when verification fails; and the recovery of actions left
 * in doubt by a crash (verify before any retry, so nothing is applied twice).
 * Runs in the engine worker threads. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "connectors/connector.h"
#include "engine/batch.h"
#include "util/clock.h"
#include "util/log.h"

typedef struct action_call {
        connector_pool *pool;
        const governor_permit *permit;
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
        return connector_pool_call(c->pool, c->integration->name, op, &c->action, c->permit,
                                   c->integration->timeout_ms, res);
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
static const char *restore(action_call *c, const json_t *snapshot, bool *ret_ok) {
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
        return restore(c, snapshot, &ok);
}

/* A rollback an admin or the expiry requested (the engine's rollback gate gave
 * the snapshot and, when the action can be restored, the permit). */
static void run_rollback(action_call *c, batch_action *a) {
        if (!a->rollback_snapshot || !a->reversible) {
                finish(a, ACTION_ROLLBACK_FAILED, OUTCOME_FAILED, "cannot roll back: %s",
                       a->reversible ? "no snapshot was kept" : "not reversible");
                return;
        }
        bool ok;
        const char *note = restore(c, a->rollback_snapshot, &ok);
        finish(a, ok ? ACTION_ROLLED_BACK : ACTION_ROLLBACK_FAILED,
               ok ? OUTCOME_ROLLED_BACK : OUTCOME_FAILED, "%s", note);
}

static void record_result(batch_action *a, json_t *snapshot, const char *apply_detail) {
        json_t *result = json_pack("{s:O? s:s?}", "snapshot", snapshot, "apply", apply_detail);
        if (result)
                a->result_json = json_dumps(result, JSON_COMPACT);
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

static void run_fresh(action_call *c, batch_action *a, int64_t received_at_ms, bw_metrics *metrics) {
        connector_result res;
        int r;
        if (kind_has(c, CONNECTOR_OP_VALIDATE)) {
                r = call_op(c, CONNECTOR_OP_VALIDATE, &res);
                if (r < 0 || !res.ok) {
                        finish(a, ACTION_FAILED, OUTCOME_FAILED, "validate rejected: %s",
                               why_failed(r, &res));
                        connector_result_clear(&res);
                        return;
                }
                connector_result_clear(&res);
        }
        json_t *snapshot = NULL;
        if (kind_has(c, CONNECTOR_OP_SNAPSHOT)) {
                r = call_op(c, CONNECTOR_OP_SNAPSHOT, &res);
                if (r < 0 || !res.ok) {
                        /* No snapshot, no change: a reversible action must stay reversible. */
                        finish(a, ACTION_FAILED, OUTCOME_FAILED, "snapshot failed: %s", why_failed(r, &res));
                        connector_result_clear(&res);
                        return;
                }
                snapshot = json_incref(res.data);
                connector_result_clear(&res);
        }

        int64_t t0 = clock_mono_us();
        r = call_op(c, CONNECTOR_OP_APPLY, &res);
        histogram_observe(&metrics->action_latency, (uint64_t)(clock_mono_us() - t0));
        if (r < 0 || !res.ok) {
                const char *rolled = roll_back(c, snapshot);
                finish(a, ACTION_FAILED, r == -ETIMEDOUT ? OUTCOME_TIMEOUT : OUTCOME_FAILED,
                       "apply failed: %s; %s", why_failed(r, &res), rolled);
                record_result(a, snapshot, NULL);
                connector_result_clear(&res);
                json_decref(snapshot);
                return;
        }
        char apply_detail[sizeof(res.detail)];
        memcpy(apply_detail, res.detail, sizeof(apply_detail));
        connector_result_clear(&res);

        if (kind_has(c, CONNECTOR_OP_VERIFY)) {
                r = call_op(c, CONNECTOR_OP_VERIFY, &res);
                if (r < 0 || !res.ok) {
                        const char *rolled = roll_back(c, snapshot);
                        finish(a, ACTION_FAILED, OUTCOME_FAILED, "verify failed: %s; %s",
                               r < 0 ? strerror(-r) : "change not in effect", rolled);
                        record_result(a, snapshot, apply_detail);
                        connector_result_clear(&res);
                        json_decref(snapshot);
                        return;
                }
                connector_result_clear(&res);
        }
        finish(a, ACTION_APPLIED, OUTCOME_APPLIED, "%s", apply_detail[0] ? apply_detail : "applied");
        record_result(a, snapshot, apply_detail);
        json_decref(snapshot);
        int64_t e2e_ms = clock_wall_ms() - received_at_ms;
        histogram_observe(&metrics->e2e_latency, e2e_ms > 0 ? (uint64_t)e2e_ms * 1000 : 0);
}

void execute_action(connector_pool *pool, batch_action *a, int64_t received_at_ms, bw_metrics *metrics) {
        const playbook_step *step = a->rendered.step;
        action_call c = {
                .pool = pool,
                .permit = &a->permit,
                .integration = a->integration,
                .kind = connector_kind_find(a->integration->kind),
                .action =
                        {
                                .action_id = a->stored.id,
                                .verb = step->verb,
                                .kind = a->rendered.targets.kind,
                                .targets = a->rendered.targets.items,
                                .n_targets = a->rendered.targets.n,
                                .params = a->rendered.params,
                                .idempotency_key = a->rendered.idempotency_key,
                        },
        };
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
                run_fresh(&c, a, received_at_ms, metrics);
        }

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
