/* SPDX-License-Identifier: Apache-2.0 */
/* Engine worker threads: claim a batch, journal it, run its actions, record the
 * outcome. The journal makes restarts safe: an execution and its actions are
 * created (and actions to run put in INTENT) in one durable transaction before any
 * connector is called; results, execution status and the alert's completion are
 * written in a second one. A crash in between leaves the alert claimed and its
 * actions in INTENT: the next claim verifies them before any retry. Runs in the
 * daemon (core). */
#include "engine/engine.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "util/clock.h"
#include "engine/batch.h"
#include "engine/gate.h"
#include "engine/notify.h"
#include "engine/outbox.h"
#include "engine/sweeper.h"
#include "util/log.h"

/* How long a worker blocks in store_claim before it re-checks for shutdown. */
#define ENGINE_CLAIM_WAIT_MS 200u

struct engine {
        engine_deps deps;
        pthread_t *threads;
        size_t n_threads;
        atomic_bool stopping;
        sweeper *sweeper;
        outbox *outbox;
};

typedef struct batch_job {
        const engine *e;
        batch_alert *alerts;
        size_t n;
        gate_txn gate;          /* the governor's view of the journal's first transaction */
        unsigned notes_dropped; /* older notifications the outbox's bound dropped for this batch's */
        int64_t renewed_ms;     /* monotonic time the batch's claims were last renewed */
} batch_job;

/* Keeps the batch's claims alive while its actions run (BW_CLAIM_LEASE_S): a
 * batch of slow connector calls must not be handed to a second worker. */
static void renew_claims(const engine *e, batch_job *job) {
        int64_t now = clock_mono_ms();
        if (now - job->renewed_ms < (int64_t)BW_CLAIM_RENEW_S * 1000)
                return;
        store_claimed held[BW_CLAIM_BATCH];
        bool lost[BW_CLAIM_BATCH];
        for (size_t i = 0; i < job->n; i++)
                held[i] = (store_claimed){.id = job->alerts[i].claimed.id,
                                          .lease_stamp = job->alerts[i].claimed.lease_stamp};
        int r = store_claims_renew(e->deps.store, held, job->n, lost);
        if (r < 0) {
                log_errno(r, "engine", "claims.renew_failed", "could not renew the claims of %zu alerts",
                          job->n);
                return;
        }
        job->renewed_ms = now;
        for (size_t i = 0; i < job->n; i++) {
                batch_alert *ba = &job->alerts[i];
                ba->claimed.lease_stamp = held[i].lease_stamp;
                if (lost[i] && !ba->lost) {
                        /* Fenced: the alert is another worker's now, which will
                         * verify what this one did before acting. */
                        ba->lost = true;
                        log_json(LOG_LEVEL_ERROR, "engine", "claim.lost",
                                 json_pack("{sI}", "alert_id", (json_int_t)ba->claimed.id));
                }
        }
}

typedef struct renew_ctx {
        const engine *e;
        batch_job *job;
} renew_ctx;

static void renew_tick(void *ctx) {
        renew_ctx *c = ctx;
        renew_claims(c->e, c->job);
}

typedef struct journal_job {
        batch_action *const *acts;
        size_t n;
} journal_job;

static int job_journal(store_tx *tx, void *userdata) {
        const journal_job *j = userdata;
        for (size_t i = 0; i < j->n; i++) {
                int r = store_tx_action_snapshot(tx, j->acts[i]->stored.id, j->acts[i]->result_json);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The snapshots taken before apply, durable before the connector applies
 * anything (batch_hooks.journal). */
static int journal_snapshots(void *ctx, batch_action *const *acts, size_t n) {
        renew_ctx *c = ctx;
        journal_job j = {.acts = acts, .n = n};
        return store_write(c->e->deps.store, job_journal, &j);
}

/* A threshold playbook runs for the alert that brings its key's count to the
 * threshold (threshold_count). An alert counted already (it came back after a
 * crash, an approval or a rollback request) counts no more: its threshold
 * execution goes on if it exists, else it never fired. */
static int threshold_gate(store_tx *tx, const batch_alert *ba, batch_exec *ex) {
        const playbook_trigger *t = &ex->playbook->trigger;
        if (t->count == 0 || ex->not_fired || ex->counted)
                return 0;
        bool exists = false;
        int r = store_tx_exec_exists(tx, ba->claimed.id, ex->playbook->name, &exists);
        if (r < 0)
                return r;
        ex->not_fired = !exists;
        return 0;
}

/* Counts, key by key, the batch's alerts not counted yet — one store call per
 * key, not per alert: a storm sends bursts of the same key — and marks them
 * counted in the same transaction. An alert not counted has no execution of a
 * threshold playbook (both are written by the same transaction). The alert that
 * reaches the threshold fires; the others create nothing. */
static int threshold_count(store_tx *tx, batch_job *job) {
        batch_exec *same[BW_CLAIM_BATCH];
        int64_t ids[BW_CLAIM_BATCH];
        size_t n_ids = 0;
        for (size_t i = 0; i < job->n; i++) {
                batch_alert *ba = &job->alerts[i];
                bool counts = false;
                for (size_t e = 0; e < ba->n_execs; e++) {
                        batch_exec *ex = &ba->execs[e];
                        const playbook_trigger *t = &ex->playbook->trigger;
                        counts = counts || (t->count > 0 && !ex->not_fired && !ba->claimed.counted);
                        if (t->count == 0 || ex->not_fired || ex->counted || ba->claimed.counted)
                                continue;
                        size_t n = 0;
                        for (size_t j = i; j < job->n; j++)
                                for (size_t f = 0; f < job->alerts[j].n_execs; f++) {
                                        batch_exec *ey = &job->alerts[j].execs[f];
                                        if (ey->playbook == ex->playbook && !ey->not_fired && !ey->counted &&
                                            !job->alerts[j].claimed.counted &&
                                            strcmp(ey->threshold_key, ex->threshold_key) == 0) {
                                                ey->counted = true;
                                                same[n++] = ey;
                                        }
                                }
                        unsigned at = 0;
                        int r = store_tx_threshold_add(tx, ex->playbook->name, ex->threshold_key, t->count,
                                                       t->window_s * 1000, ba->claimed.received_at_ms,
                                                       (unsigned)n, &at);
                        if (r < 0)
                                return r;
                        for (size_t k = 0; k < n; k++)
                                same[k]->not_fired = r == 0 || k != at;
                }
                if (counts)
                        ids[n_ids++] = ba->claimed.id;
        }
        return store_tx_alerts_counted(tx, ids, n_ids);
}

static int exec_begin(store_tx *tx, batch_job *job, batch_alert *ba, batch_exec *ex) {
        int r = threshold_gate(tx, ba, ex);
        if (r == 0 && !ex->not_fired)
                r = plan_exec_actions(job->e->deps.config, ba, ex);
        if (r < 0 || ex->not_fired)
                return r;
        store_action_plan plans[BW_PLAYBOOK_STEPS_MAX];
        store_action stored[BW_PLAYBOOK_STEPS_MAX];
        for (size_t a = 0; a < ex->n_actions; a++) {
                const batch_action *act = &ex->actions[a];
                plans[a] = (store_action_plan){
                        .step_id = act->rendered.step->id,
                        .integration = act->integration->name,
                        .connector = act->integration->kind,
                        .verb = act->rendered.step->verb,
                        .target_kind = target_kind_name(act->rendered.targets.kind),
                        .targets_json = act->targets_json,
                        .params_json = act->params_json,
                        .idempotency_key = act->rendered.idempotency_key,
                        .initial_state = act->initial_state,
                        .detail = act->initial_state == ACTION_DENIED ? act->detail : NULL,
                };
        }
        r = store_tx_exec_begin(tx, ba->claimed.id, ex->playbook->name, ex->playbook->version,
                                (unsigned)ex->playbook->level, plans, ex->n_actions, &ex->exec_id, stored);
        for (size_t a = 0; r == 0 && a < ex->n_actions; a++)
                r = gate_action(tx, &job->gate, &ex->actions[a], &stored[a]);
        return r < 0 ? r : gate_approval_request(tx, &job->gate, ba, ex);
}

/* True if some execution of the alert runs (threshold playbooks may not fire). */
static bool alert_has_executions(const batch_alert *ba) {
        for (size_t e = 0; e < ba->n_execs; e++)
                if (!ba->execs[e].not_fired)
                        return true;
        return false;
}

static int notify_batch(store_tx *tx, batch_job *job);

/* First transaction: create (or find again) every execution and move the actions
 * this worker will run to INTENT, and queue the governor's notifications. An
 * alert with nothing to run is done here. */
static int job_begin(store_tx *tx, void *userdata) {
        batch_job *job = userdata;
        int64_t done[BW_CLAIM_BATCH];
        unsigned matched[BW_CLAIM_BATCH] = {0};
        size_t n_done = 0;
        gate_txn_clear(&job->gate);
        gate_txn_init(&job->gate, job->e->deps.config, clock_wall_ms());
        int r = threshold_count(tx, job);
        if (r < 0)
                return r;
        for (size_t i = 0; i < job->n; i++) {
                batch_alert *ba = &job->alerts[i];
                for (size_t e = 0; r == 0 && e < ba->n_execs; e++)
                        r = exec_begin(tx, job, ba, &ba->execs[e]);
                if (r < 0)
                        return r;
                if (!alert_has_executions(ba))
                        done[n_done++] = ba->claimed.id;
        }
        r = gate_txn_flush(tx, &job->gate);
        if (r == 0)
                r = store_tx_alerts_done(tx, done, matched, n_done);
        return r < 0 ? r : notify_batch(tx, job);
}

static exec_status exec_status_of(const batch_exec *ex, char *summary, size_t len) {
        action_state states[BW_PLAYBOOK_STEPS_MAX];
        for (size_t a = 0; a < ex->n_actions; a++)
                states[a] = ex->actions[a].final_state;
        return exec_status_of_actions(states, ex->n_actions, (int)ex->playbook->level, summary, len);
}

/* An applied action's effect ends when its duration_s is over (the engine then
 * reverts it) or when the connector's own expiry removes it (nft timeouts):
 * folding stops counting on it then. */
static int record_expiry(store_tx *tx, const batch_action *act) {
        if (act->final_state != ACTION_APPLIED || act->rollback)
                return 0;
        int64_t now = clock_wall_ms();
        if (act->rendered.step->duration_s > 0 && act->reversible)
                return store_tx_action_expiry(tx, act->stored.id,
                                              now + act->rendered.step->duration_s * 1000, true);
        int64_t native =
                connector_native_expiry_s(act->kind, act->integration->settings, act->rendered.params);
        return native > 0 ? store_tx_action_expiry(tx, act->stored.id, now + native * 1000, false) : 0;
}

/* G5: an action folded into another of its batch shares that one's outcome: if
 * the other did not apply, neither did this one. True when its state changed. */
static bool fold_outcome(batch_action *act) {
        const batch_action *lead = act->folded_into;
        if (!lead || act->final_state != ACTION_SATISFIED || lead->final_state == ACTION_APPLIED)
                return false;
        act->final_state = ACTION_FAILED;
        snprintf(act->detail, sizeof(act->detail),
                 "folded into action %" PRId64 " of the same batch, which did not apply (%s)",
                 lead->stored.id, action_state_name(lead->final_state));
        return true;
}

/* Second transaction: every result, every execution's status, the alerts done. */
static int job_finish(store_tx *tx, void *userdata) {
        batch_job *job = userdata;
        for (size_t i = 0; i < job->n; i++) {
                batch_alert *ba = &job->alerts[i];
                if (!alert_has_executions(ba) || ba->lost)
                        continue; /* finished in job_begin, or another worker's now */
                for (size_t e = 0; e < ba->n_execs; e++) {
                        batch_exec *ex = &ba->execs[e];
                        if (ex->not_fired)
                                continue;
                        size_t applied = 0;
                        for (size_t a = 0; a < ex->n_actions; a++) {
                                batch_action *act = &ex->actions[a];
                                bool refolded = fold_outcome(act);
                                applied += act->final_state == ACTION_APPLIED;
                                if (!act->run && !refolded)
                                        continue;
                                int r = store_tx_action_set(tx, act->stored.id, act->final_state,
                                                            act->detail, act->result_json);
                                if (r == 0)
                                        r = record_expiry(tx, act);
                                if (r < 0)
                                        return r;
                        }
                        char summary[256];
                        exec_status st = exec_status_of(ex, summary, sizeof(summary));
                        int r = store_tx_exec_finish(tx, ex->exec_id, st, summary);
                        /* Level 4: someone must look at what the approved change did. */
                        if (r == 0 && applied > 0 && ex->playbook->level == LEVEL_AUTO_IRREVERSIBLE)
                                r = store_tx_review_open(tx, ex->exec_id);
                        if (r < 0)
                                return r;
                }
                int r = store_tx_alert_done(tx, ba->claimed.id, (unsigned)ba->n_execs);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The circuit breaker opened in this batch: automatic execution has stopped
 * until an admin resets it (analysts are told by notify_batch). */
static void breaker_opened(engine *e, const char *why) {
        log_json(LOG_LEVEL_ERROR, "governor", "breaker.opened", json_pack("{ss}", "reason", why));
}

static int breaker_note(store_tx *tx, const batch_job *job) {
        const engine_deps *deps = &job->e->deps;
        json_t *params =
                json_pack("{ss ss}", "event", "governor.breaker_opened", "reason", job->gate.breaker_opened);
        int r = engine_notify_text(tx, deps, deps->config->governor_notify, params,
                                   job->gate.breaker_opened);
        json_decref(params);
        return r;
}

/* An action recorded without running: counted; a governor refusal is logged
 * (and analysts are told by notify_batch). */
static void record_not_run(engine *e, const batch_exec *ex, const batch_action *act) {
        bool denied = act->initial_state == ACTION_DENIED;
        metric_connector mc = metric_connector_from_kind(act->integration->kind);
        atomic_fetch_add_explicit(&e->deps.metrics->actions[mc][denied ? OUTCOME_DENIED : OUTCOME_NOT_RUN],
                                  1, memory_order_relaxed);
        if (!denied)
                return;
        log_json(LOG_LEVEL_WARN, "governor", "action.denied",
                 json_pack("{sI sI ss ss ss}", "exec_id", (json_int_t)ex->exec_id, "action_id",
                           (json_int_t)act->stored.id, "playbook", ex->playbook->name, "integration",
                           act->integration->name, "reason", act->detail));
}

static int denied_note(store_tx *tx, const batch_job *job, const batch_exec *ex, const batch_action *act) {
        const engine_deps *deps = &job->e->deps;
        json_t *params =
                json_pack("{ss ss sI sI ss ss}", "event", "governor.denied", "playbook", ex->playbook->name,
                          "exec_id", (json_int_t)ex->exec_id, "action_id", (json_int_t)act->stored.id,
                          "integration", act->integration->name, "reason", act->detail);
        int r = engine_notify(tx, deps, deps->config->governor_notify, params, act->rendered.targets.kind,
                              act->rendered.targets.items, act->rendered.targets.n,
                              act->rendered.idempotency_key, act->stored.id);
        json_decref(params);
        return r;
}

/* The approval request is stored: the webhook tells the approvers (notify_batch). */
static void approval_requested(engine *e, const batch_exec *ex) {
        log_json(LOG_LEVEL_WARN, "governor", "approval.requested",
                 json_pack("{sI sI ss sO}", "approval_id", (json_int_t)ex->approval_id, "exec_id",
                           (json_int_t)ex->exec_id, "playbook", ex->playbook->name, "reasons",
                           ex->approval_reasons ? ex->approval_reasons : json_null()));
}

static int approval_note(store_tx *tx, const batch_job *job, const batch_exec *ex) {
        const engine_deps *deps = &job->e->deps;
        /* Notification params are flat: the reasons go as one text. */
        char reasons[1024] = "";
        size_t i, used = 0;
        json_t *why;
        json_array_foreach(ex->approval_reasons, i, why) {
                int n = snprintf(reasons + used, sizeof(reasons) - used, "%s%s", i ? "; " : "",
                                 json_string_value(why));
                if (n < 0 || (size_t)n >= sizeof(reasons) - used)
                        break;
                used += (size_t)n;
        }
        json_t *params = json_pack("{ss sI sI ss ss}", "event", "approval.requested", "approval_id",
                                   (json_int_t)ex->approval_id, "exec_id", (json_int_t)ex->exec_id,
                                   "playbook", ex->playbook->name, "reasons", reasons);
        char text[64];
        snprintf(text, sizeof(text), "approval.requested %" PRId64, ex->approval_id);
        int r = engine_notify_text(tx, deps, engine_approvals_notify(deps->config), params, text);
        json_decref(params);
        return r;
}

/* r from engine_notify: the older notifications it dropped count for the job. */
static int noted(batch_job *job, int r) {
        if (r > 0)
                job->notes_dropped += (unsigned)r;
        return r;
}

/* The governor's messages about this batch — the breaker it opened, the
 * approvals it requested, the refusals — queued in the outbox inside the
 * journal's first transaction: durable exactly when the events they report are,
 * and sent by the outbox thread, so that a hung webhook never holds an action. */
static int notify_batch(store_tx *tx, batch_job *job) {
        job->notes_dropped = 0;
        int r = job->gate.breaker_opened[0] ? noted(job, breaker_note(tx, job)) : 0;
        for (size_t i = 0; r >= 0 && i < job->n; i++)
                for (size_t x = 0; r >= 0 && x < job->alerts[i].n_execs; x++) {
                        const batch_exec *ex = &job->alerts[i].execs[x];
                        if (ex->not_fired)
                                continue;
                        if (ex->approval_id)
                                r = noted(job, approval_note(tx, job, ex));
                        for (size_t a = 0; r >= 0 && a < ex->n_actions; a++) {
                                const batch_action *act = &ex->actions[a];
                                if (!act->run && act->initial_state == ACTION_DENIED)
                                        r = noted(job, denied_note(tx, job, ex, act));
                        }
                }
        return r < 0 ? r : 0;
}

/* Level 4 (irreversible, approved) changes are logged in full: targets, params
 * and outcome, beside the journal. */
static void log_level4(const batch_exec *ex, const batch_action *act) {
        log_json(LOG_LEVEL_WARN, "governor", "action.level4",
                 json_pack("{sI sI ss ss ss ss ss ss}", "exec_id", (json_int_t)ex->exec_id, "action_id",
                           (json_int_t)act->stored.id, "playbook", ex->playbook->name, "integration",
                           act->integration->name, "verb", act->rendered.step->verb, "targets",
                           act->targets_json, "params", act->params_json, "outcome",
                           action_state_name(act->final_state)));
}

static int job_dead_letter(store_tx *tx, void *userdata) {
        const batch_job *job = userdata;
        return store_tx_alert_done(tx, job->alerts[0].claimed.id, 0);
}

static void run_job(engine *e, batch_job *job);

/* The first transaction failed. One alert must not hold its batch hostage:
 * retry alone each; an alert whose journal is refused for good (its execution
 * no longer matches the playbooks, -ESTALE; or invalid, -EINVAL) leaves the
 * queue with an error logged. Other errors (I/O, a full disk) leave the alerts
 * claimed: they come back at restart or when the lease expires. */
static void begin_failed(engine *e, batch_job *job, int r) {
        if (job->n > 1) {
                log_errno(r, "engine", "batch.begin_failed",
                          "journal write failed for %zu alerts; retrying each", job->n);
                for (size_t i = 0; i < job->n; i++) {
                        /* The failed transaction changed nothing: neither may its
                         * decisions carry over to the retry. */
                        batch_alert_reset(&job->alerts[i]);
                        batch_job one = {
                                .e = e, .alerts = &job->alerts[i], .n = 1, .renewed_ms = job->renewed_ms};
                        run_job(e, &one);
                }
                return;
        }
        int64_t id = job->alerts[0].claimed.id;
        if (r != -ESTALE && r != -EINVAL) {
                log_json(LOG_LEVEL_ERROR, "engine", "alert.begin_failed",
                         json_pack("{sI ss}", "alert_id", (json_int_t)id, "error", strerror(-r)));
                return;
        }
        int d = store_write(e->deps.store, job_dead_letter, job);
        log_json(LOG_LEVEL_ERROR, "engine", "alert.dead_letter",
                 json_pack("{sI ss sb}", "alert_id", (json_int_t)id, "error", strerror(-r), "removed",
                           d == 0));
}

static void engine_process(engine *e, store_claimed *claimed, size_t n) {
        batch_job job = {.e = e, .n = n, .renewed_ms = clock_mono_ms()};
        int r = plan_batch(e->deps.playbooks, e->deps.config, claimed, n, &job.alerts);
        if (r < 0) {
                store_claimed_clear(claimed, n);
                log_errno(r, "engine", "batch.plan_failed", "could not plan %zu alerts; they stay claimed",
                          n);
                return;
        }
        run_job(e, &job);
        batch_free(job.alerts, n);
}

/* An action that may join a group: a fresh apply on a kind that applies in
 * batches (in-doubt recovery, rollbacks and verify-only stay one by one). */
static bool groupable(const batch_action *act) {
        return act->run && !act->in_doubt && !act->rollback && !act->verify_only && act->kind &&
               act->kind->apply_batch;
}

/* Whether b may join the group led by lead: same integration and verb, and no
 * target already in the group (taken holds them). Two actions on one target
 * must not share a transaction: each one's snapshot must see what the other
 * did, or rolling back one would undo the other; b then runs in a later group. */
static bool joins(const batch_action *lead, const batch_action *b, json_t *taken) {
        /* Bounded in targets too, so that a batch's snapshots fit one message. */
        if (b->integration != lead->integration ||
            strcmp(b->rendered.step->verb, lead->rendered.step->verb) != 0 ||
            json_object_size(taken) + b->rendered.targets.n > BW_CONNECTOR_BATCH_TARGETS_MAX)
                return false;
        for (size_t t = 0; t < b->rendered.targets.n; t++)
                if (json_object_get(taken, b->rendered.targets.items[t]))
                        return false;
        for (size_t t = 0; t < b->rendered.targets.n; t++)
                if (json_object_set_new(taken, b->rendered.targets.items[t], json_true()) < 0)
                        return false;
        return true;
}

static void ran(const batch_action *act) {
        if (act->exec->playbook->level == LEVEL_AUTO_IRREVERSIBLE)
                log_level4(act->exec, act);
}

/* Runs step s of every execution of the batch: the actions that can, grouped
 * by integration into batched connector calls (one nft transaction for a whole
 * storm's blocks), the others one by one. */
static void run_step(engine *e, batch_job *job, size_t s) {
        batch_action *group[BW_CONNECTOR_BATCH_MAX];
        renew_ctx ctx = {e, job};
        const batch_hooks hooks = {.tick = renew_tick, .journal = journal_snapshots, .ctx = &ctx};
        for (size_t i = 0; i < job->n; i++)
                for (size_t x = 0; x < job->alerts[i].n_execs; x++) {
                        batch_exec *ex = &job->alerts[i].execs[x];
                        batch_action *act = s < ex->n_actions && !ex->not_fired ? &ex->actions[s] : NULL;
                        if (!act || !act->run || act->grouped)
                                continue;
                        renew_claims(e, job);
                        if (job->alerts[i].lost)
                                continue;
                        if (!groupable(act)) {
                                execute_action(e->deps.pool, act, e->deps.metrics, &hooks);
                                ran(act);
                                continue;
                        }
                        /* This action and every later one that joins it at this step. */
                        json_t *taken = json_object();
                        size_t n = 0;
                        for (size_t j = i; taken && j < job->n && n < BW_CONNECTOR_BATCH_MAX; j++)
                                for (size_t y = j == i ? x : 0;
                                     y < job->alerts[j].n_execs && n < BW_CONNECTOR_BATCH_MAX; y++) {
                                        batch_exec *ey = &job->alerts[j].execs[y];
                                        batch_action *b =
                                                s < ey->n_actions && !ey->not_fired ? &ey->actions[s] : NULL;
                                        if (b && !job->alerts[j].lost && groupable(b) && !b->grouped &&
                                            joins(act, b, taken)) {
                                                b->grouped = true;
                                                group[n++] = b;
                                        }
                                }
                        json_decref(taken);
                        if (n == 0) { /* out of memory: alone */
                                execute_action(e->deps.pool, act, e->deps.metrics, &hooks);
                                ran(act);
                                continue;
                        }
                        execute_group(e->deps.pool, group, n, e->deps.metrics, &hooks);
                        for (size_t k = 0; k < n; k++)
                                ran(group[k]);
                }
}

/* Journals, runs and records one planned batch. */
static void run_job(engine *e, batch_job *job) {
        size_t n = job->n;
        int r = store_write(e->deps.store, job_begin, job);
        bool opened = r == 0 && job->gate.breaker_opened[0];
        char why[sizeof(job->gate.breaker_opened)];
        memcpy(why, job->gate.breaker_opened, sizeof(why));
        gate_txn_clear(&job->gate);
        if (r < 0) {
                begin_failed(e, job, r);
                return;
        }
        if (opened)
                breaker_opened(e, why);
        engine_notify_dropped(&e->deps, job->notes_dropped);
        size_t steps = 0;
        for (size_t i = 0; i < n; i++) {
                batch_alert *ba = &job->alerts[i];
                for (size_t x = 0; x < ba->n_execs; x++) {
                        batch_exec *ex = &ba->execs[x];
                        if (ex->not_fired)
                                continue;
                        if (ex->approval_id)
                                approval_requested(e, ex);
                        atomic_fetch_add_explicit(&e->deps.metrics->executions, 1, memory_order_relaxed);
                        log_json(LOG_LEVEL_INFO, "engine", "execution.started",
                                 json_pack("{sI sI ss sI si}", "alert_id", (json_int_t)ba->claimed.id,
                                           "exec_id", (json_int_t)ex->exec_id, "playbook",
                                           ex->playbook->name, "playbook_version",
                                           (json_int_t)ex->playbook->version, "automation_level",
                                           (int)ex->playbook->level));
                        for (size_t a = 0; a < ex->n_actions; a++) {
                                batch_action *act = &ex->actions[a];
                                if (!act->run && (act->initial_state != ACTION_PLANNED ||
                                                  act->final_state == ACTION_RECOMMENDED))
                                        record_not_run(e, ex, act);
                        }
                        if (ex->n_actions > steps)
                                steps = ex->n_actions;
                }
        }
        /* Step by step, so each execution's steps keep their order. */
        for (size_t s = 0; s < steps; s++)
                run_step(e, job, s);
        r = store_write(e->deps.store, job_finish, job);
        if (r < 0)
                log_errno(r, "engine", "batch.finish_failed",
                          "results of %zu alerts not recorded; they will be verified after the lease", n);
        else
                atomic_fetch_add_explicit(&e->deps.metrics->alerts_processed, n, memory_order_relaxed);
}

static void *engine_worker(void *userdata) {
        engine *e = userdata;
        store_claimed claimed[BW_CLAIM_BATCH];
        while (!atomic_load(&e->stopping)) {
                int n = store_claim(e->deps.store, BW_CLAIM_BATCH, ENGINE_CLAIM_WAIT_MS, claimed);
                if (n < 0) {
                        log_errno(n, "engine", "claim.failed", "claiming alerts failed");
                        /* Do not spin on a store that keeps failing. */
                        nanosleep(&(struct timespec){.tv_nsec = ENGINE_CLAIM_WAIT_MS * 1000000L}, NULL);
                        continue;
                }
                if (n > 0)
                        engine_process(e, claimed, (size_t)n);
        }
        return NULL;
}

int engine_start(const engine_deps *deps, engine **ret) {
        engine *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->deps = *deps;
        unsigned n = deps->config->workers ? deps->config->workers : 1;
        e->threads = calloc(n, sizeof(*e->threads));
        if (!e->threads) {
                free(e);
                return -ENOMEM;
        }
        int sr = outbox_start(deps, &e->outbox);
        if (sr == 0) {
                sr = sweeper_start(deps, &e->sweeper);
                if (sr < 0)
                        outbox_stop(e->outbox);
        }
        if (sr < 0) {
                free(e->threads);
                free(e);
                return sr;
        }
        for (unsigned i = 0; i < n; i++) {
                int r = pthread_create(&e->threads[i], NULL, engine_worker, e);
                if (r != 0) {
                        engine_stop(e);
                        return -r;
                }
                e->n_threads = i + 1;
        }
        *ret = e;
        return 0;
}

void engine_stop(engine *e) {
        if (!e)
                return;
        atomic_store(&e->stopping, true);
        /* First: it abandons a notification in flight, whatever its webhook does. */
        outbox_stop(e->outbox);
        sweeper_stop(e->sweeper);
        store_wake_claimers(e->deps.store);
        for (size_t i = 0; i < e->n_threads; i++)
                pthread_join(e->threads[i], NULL);
        free(e->threads);
        free(e);
}
