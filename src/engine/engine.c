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

#include <sodium.h>

#include "core/limits.h"
#include "util/clock.h"
#include "engine/batch.h"
#include "util/log.h"

/* How long a worker blocks in store_claim before it re-checks for shutdown. */
#define ENGINE_CLAIM_WAIT_MS 200u

struct engine {
        engine_deps deps;
        pthread_t *threads;
        size_t n_threads;
        atomic_bool stopping;
};

typedef struct batch_job {
        const engine *e;
        batch_alert *alerts;
        size_t n;
        char breaker_opened[256]; /* why, if this batch opened the circuit breaker */
        int64_t renewed_ms;       /* monotonic time the batch's claims were last renewed */
} batch_job;

/* Keeps the batch's claims alive while its actions run (BW_CLAIM_LEASE_S): a
 * batch of slow connector calls must not be handed to a second worker. */
static void renew_claims(const engine *e, batch_job *job) {
        int64_t now = clock_mono_ms();
        if (now - job->renewed_ms < (int64_t)BW_CLAIM_RENEW_S * 1000)
                return;
        int64_t ids[BW_CLAIM_BATCH];
        for (size_t i = 0; i < job->n; i++)
                ids[i] = job->alerts[i].claimed.id;
        int r = store_claims_renew(e->deps.store, ids, job->n);
        if (r < 0)
                log_errno(r, "engine", "claims.renew_failed", "could not renew the claims of %zu alerts",
                          job->n);
        else
                job->renewed_ms = now;
}

/* Every check passed: the governor's permit for exactly this action. */
static void mint_permit(batch_action *act) {
        governor_permit_mint(act->stored.id, act->rendered.step->verb, act->rendered.targets.kind,
                             act->rendered.targets.items, act->rendered.targets.n,
                             act->rendered.idempotency_key, &act->permit);
}

/* An action found in INTENT after a restart passes the governor again: if the
 * current plan would not run it (denied, or a lower level) or the breaker is
 * open, it is only verified — recorded as applied if it took effect, else as
 * what the governor decides now — and never applied. */
static int in_doubt_gate(store_tx *tx, batch_action *act) {
        bool open;
        int r = store_tx_breaker_is_open(tx, &open);
        if (r < 0)
                return r;
        if (act->initial_state != ACTION_PLANNED) {
                act->verify_only = true;
                act->if_absent = act->initial_state;
        } else if (open) {
                act->verify_only = true;
                act->if_absent = ACTION_RECOMMENDED;
                snprintf(act->detail, sizeof(act->detail),
                         "circuit breaker open: degraded to a recommendation (an admin resets it)");
        } else {
                mint_permit(act); /* its budget was charged when it first entered INTENT */
        }
        return 0;
}

/* The last gate before INTENT, inside the journal's transaction: an open circuit
 * breaker, or a spent rate budget (which opens it), turns the action into a
 * recommendation. Budgets are charged here, in the store, so that concurrent
 * workers never overspend (DESIGN.md, invariant 3). Returns the state to record. */
static int budget_gate(store_tx *tx, batch_job *job, batch_action *act, action_state *ret) {
        bool open;
        int r = store_tx_breaker_is_open(tx, &open);
        if (r < 0)
                return r;
        if (open) {
                snprintf(act->detail, sizeof(act->detail),
                         "circuit breaker open: degraded to a recommendation (an admin resets it)");
                *ret = ACTION_RECOMMENDED;
                return 0;
        }
        governor_budget gb[GOVERNOR_BUDGETS_MAX];
        size_t n = governor_budgets_for(&job->e->deps.config->governor, act->rendered.step->connector,
                                        act->rendered.step->verb, gb),
               full = 0;
        store_budget b[GOVERNOR_BUDGETS_MAX];
        for (size_t i = 0; i < n; i++)
                b[i] = (store_budget){
                        .key = gb[i].key, .window_ms = rate_window_ms(gb[i].window), .limit = gb[i].limit};
        r = store_tx_budget_reserve(tx, b, n, &full);
        if (r < 0)
                return r;
        if (r == 1) {
                mint_permit(act);
                *ret = ACTION_INTENT;
                return 0;
        }
        char why[192];
        snprintf(why, sizeof(why), "rate limit %s: %" PRIu64 " actions per %s spent", b[full].key,
                 b[full].limit, rate_window_name(gb[full].window));
        r = store_tx_breaker_open(tx, why);
        if (r < 0)
                return r;
        if (r == 1)
                snprintf(job->breaker_opened, sizeof(job->breaker_opened), "%s", why);
        snprintf(act->detail, sizeof(act->detail), "%s; circuit breaker open: degraded to a recommendation",
                 why);
        *ret = ACTION_RECOMMENDED;
        return 0;
}

/* First transaction: create (or find again) every execution and move the actions
 * this worker will run to INTENT. */
static int job_begin(store_tx *tx, void *userdata) {
        batch_job *job = userdata;
        for (size_t i = 0; i < job->n; i++) {
                batch_alert *ba = &job->alerts[i];
                if (ba->n_execs == 0) {
                        int r = store_tx_alert_done(tx, ba->claimed.id, 0);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (size_t e = 0; e < ba->n_execs; e++) {
                        batch_exec *ex = &ba->execs[e];
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
                        int r = store_tx_exec_begin(tx, ba->claimed.id, ex->playbook->name,
                                                    ex->playbook->version, (unsigned)ex->playbook->level,
                                                    plans, ex->n_actions, &ex->exec_id, stored);
                        if (r < 0)
                                return r;
                        for (size_t a = 0; a < ex->n_actions; a++) {
                                batch_action *act = &ex->actions[a];
                                act->stored = stored[a];
                                act->final_state = stored[a].state;
                                act->in_doubt = stored[a].state == ACTION_INTENT;
                                act->run = stored[a].state == ACTION_PLANNED || act->in_doubt;
                                if (act->in_doubt) {
                                        r = in_doubt_gate(tx, act);
                                        if (r < 0)
                                                return r;
                                }
                                if (stored[a].state == ACTION_PLANNED) {
                                        /* A stored PLANNED action is new, or a recommendation an
                                         * analyst asked to run: either way the governor's verdict
                                         * of now (ceilings, protected assets) comes first. */
                                        action_state next = ACTION_DENIED;
                                        if (act->initial_state != ACTION_DENIED)
                                                r = budget_gate(tx, job, act, &next);
                                        if (r == 0)
                                                r = store_tx_action_set(
                                                        tx, stored[a].id, next,
                                                        next == ACTION_INTENT ? NULL : act->detail, NULL);
                                        if (r < 0)
                                                return r;
                                        act->run = next == ACTION_INTENT;
                                        act->final_state = next;
                                }
                        }
                }
        }
        return 0;
}

static exec_status exec_status_of(const batch_exec *ex, char *summary, size_t len) {
        size_t applied = 0, failed = 0, denied = 0, other = 0;
        for (size_t a = 0; a < ex->n_actions; a++) {
                action_state st = ex->actions[a].final_state;
                if (st == ACTION_APPLIED)
                        applied++;
                else if (st == ACTION_FAILED)
                        failed++;
                else if (st == ACTION_DENIED)
                        denied++;
                else
                        other++;
        }
        snprintf(summary, len, "%zu applied, %zu failed, %zu denied by the governor, %zu not run (level %d)",
                 applied, failed, denied, other, (int)ex->playbook->level);
        if (applied == 0 && failed == 0)
                return denied ? EXEC_DENIED : EXEC_RECORDED;
        if (failed == 0)
                return EXEC_SUCCEEDED;
        return applied ? EXEC_PARTIAL : EXEC_FAILED;
}

/* Second transaction: every result, every execution's status, the alerts done. */
static int job_finish(store_tx *tx, void *userdata) {
        batch_job *job = userdata;
        for (size_t i = 0; i < job->n; i++) {
                batch_alert *ba = &job->alerts[i];
                if (ba->n_execs == 0)
                        continue; /* finished in job_begin */
                for (size_t e = 0; e < ba->n_execs; e++) {
                        batch_exec *ex = &ba->execs[e];
                        for (size_t a = 0; a < ex->n_actions; a++) {
                                batch_action *act = &ex->actions[a];
                                if (!act->run)
                                        continue;
                                int r = store_tx_action_set(tx, act->stored.id, act->final_state,
                                                            act->detail, act->result_json);
                                if (r < 0)
                                        return r;
                        }
                        char summary[128];
                        exec_status st = exec_status_of(ex, summary, sizeof(summary));
                        int r = store_tx_exec_finish(tx, ex->exec_id, st, summary);
                        if (r < 0)
                                return r;
                }
                int r = store_tx_alert_done(tx, ba->claimed.id, (unsigned)ba->n_execs);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Tells analysts through the configured notify integration (if any): params
 * carry the event and its ids, targets the addresses or accounts concerned. */
static void notify_analysts(engine *e, json_t *params, target_kind kind, char *const *targets, size_t n,
                            const char *key, int64_t action_id) {
        const bw_config *cfg = e->deps.config;
        const integration_config *ic =
                cfg->governor_notify[0] ? config_integration_find(cfg, cfg->governor_notify) : NULL;
        if (!ic || !params)
                return;
        connector_action note = {
                .action_id = action_id,
                .verb = "send",
                .kind = kind,
                .targets = targets,
                .n_targets = n,
                .params = params,
                .idempotency_key = key,
        };
        /* The governor's own message to analysts: it acts on no system. */
        governor_permit permit;
        governor_permit_mint(action_id, note.verb, kind, targets, n, key, &permit);
        connector_result res = {0};
        int r = connector_pool_call(e->deps.pool, ic->name, CONNECTOR_OP_APPLY, &note, &permit,
                                    ic->timeout_ms, &res);
        if (r < 0 || !res.ok)
                log_json(LOG_LEVEL_ERROR, "governor", "notify.failed",
                         json_pack("{sI ss ss}", "action_id", (json_int_t)action_id, "integration", ic->name,
                                   "detail", r < 0 ? strerror(-r) : res.detail));
        connector_result_clear(&res);
}

/* The circuit breaker opened in this batch: automatic execution has stopped
 * until an admin resets it. */
static void breaker_opened(engine *e, const char *why) {
        log_json(LOG_LEVEL_ERROR, "governor", "breaker.opened", json_pack("{ss}", "reason", why));
        unsigned char hash[32];
        char key[65];
        crypto_generichash(hash, sizeof(hash), (const unsigned char *)why, strlen(why), NULL, 0);
        sodium_bin2hex(key, sizeof(key), hash, sizeof(hash));
        json_t *params = json_pack("{ss ss}", "event", "governor.breaker_opened", "reason", why);
        notify_analysts(e, params, TARGET_NONE, NULL, 0, key, 0);
        json_decref(params);
}

/* An action recorded without running: counted; a governor refusal is logged and
 * analysts are told. */
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
        json_t *params =
                json_pack("{ss ss sI sI ss ss}", "event", "governor.denied", "playbook", ex->playbook->name,
                          "exec_id", (json_int_t)ex->exec_id, "action_id", (json_int_t)act->stored.id,
                          "integration", act->integration->name, "reason", act->detail);
        notify_analysts(e, params, act->rendered.targets.kind, act->rendered.targets.items,
                        act->rendered.targets.n, act->rendered.idempotency_key, act->stored.id);
        json_decref(params);
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

/* Journals, runs and records one planned batch. */
static void run_job(engine *e, batch_job *job) {
        size_t n = job->n;
        int r = store_write(e->deps.store, job_begin, job);
        if (r < 0) {
                begin_failed(e, job, r);
                return;
        }
        if (job->breaker_opened[0])
                breaker_opened(e, job->breaker_opened);
        for (size_t i = 0; i < n; i++) {
                batch_alert *ba = &job->alerts[i];
                for (size_t x = 0; x < ba->n_execs; x++) {
                        batch_exec *ex = &ba->execs[x];
                        atomic_fetch_add_explicit(&e->deps.metrics->executions, 1, memory_order_relaxed);
                        log_json(LOG_LEVEL_INFO, "engine", "execution.started",
                                 json_pack("{sI sI ss sI si}", "alert_id", (json_int_t)ba->claimed.id,
                                           "exec_id", (json_int_t)ex->exec_id, "playbook",
                                           ex->playbook->name, "playbook_version",
                                           (json_int_t)ex->playbook->version, "automation_level",
                                           (int)ex->playbook->level));
                        for (size_t a = 0; a < ex->n_actions; a++) {
                                batch_action *act = &ex->actions[a];
                                if (act->run) {
                                        renew_claims(e, job);
                                        execute_action(e->deps.pool, act, ba->claimed.received_at_ms,
                                                       e->deps.metrics);
                                } else if (act->initial_state != ACTION_PLANNED ||
                                           act->final_state == ACTION_RECOMMENDED)
                                        record_not_run(e, ex, act);
                        }
                }
        }
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
        store_wake_claimers(e->deps.store);
        for (size_t i = 0; i < e->n_threads; i++)
                pthread_join(e->threads[i], NULL);
        free(e->threads);
        free(e);
}
