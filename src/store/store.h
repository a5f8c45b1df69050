/* SPDX-License-Identifier: Apache-2.0 */
/* The storage interface. No SQL leaves src/store/: callers see queue, execution,
 * action and read operations only, so a PostgreSQL backend can follow without
 * touching them. Runs in the daemon (core).
 *
 * Writes go through ONE writer (per store) with group commit: concurrent write
 * jobs are collected into one transaction, committed with synchronous=FULL, and
 * each job's submitter is released only after the commit reached the disk. A job
 * is a function that runs inside that transaction and composes store_tx_*
 * operations, so several state changes (and, later, their audit entries) commit
 * atomically together (DESIGN.md, invariant 7). Each job runs under its own
 * savepoint: a failing job is rolled back alone and reports its error.
 *
 * Reads use separate read-only connections (WAL) and never wait for the writer.
 *
 * Two errors mean "no room", and they are kept apart: -ENOSPC is the queue at its
 * configured capacity (nothing was written; the engine will drain it), -EDQUOT is
 * the store's file system out of space (SQLite's SQLITE_FULL: the disk must be
 * freed). The API answers both 503 with Retry-After, as queue_full and
 * store_unavailable. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/approval.h"
#include "core/journal.h"
#include "core/limits.h"

typedef struct store store;
typedef struct store_tx store_tx; /* valid only inside a write job */

typedef struct store_options {
        const char *path;        /* database file; created if missing */
        unsigned queue_capacity; /* alerts queued or in flight, at most */
} store_options;

/* Opens (creating and migrating as needed), takes the store's lock (one process
 * per store: -EBUSY when another holds it), returns in-flight claims to the
 * queue (their workers died with the previous process), and starts the writer.
 * Returns 0 and *ret, or a negative errno. */
int store_open(const store_options *o, store **ret);

/* Stops the writer after the pending jobs and closes. Accepts NULL. */
void store_close(store *s);

/* Schema version after migrations (for tests and /readyz). */
int store_schema_version(store *s);

/* --- write jobs ------------------------------------------------------------- */

typedef int (*store_job_fn)(store_tx *tx, void *userdata);

/* Runs fn inside the next group-commit transaction and waits until that
 * transaction is durable. Returns fn's result if it failed (its changes rolled
 * back), a negative errno if the commit failed, else 0. Must not be called from
 * inside a job (-EDEADLK). */
int store_write(store *s, store_job_fn fn, void *userdata);

/* --- durable queue ---------------------------------------------------------- */

typedef struct store_alert_in {
        const char *json; /* canonical alert JSON (core/alert.h alert_dump); copied */
        size_t len;
        const char *type; /* the alert's type, 1..BW_ALERT_NAME_MAX bytes; copied. Lets
                           * the engine skip alerts no playbook can match. */
        int64_t received_at_ms;
        const char *submitted_by; /* the API actor that sent it (name); may be NULL; copied */
} store_alert_in;

/* Called on the writer thread once the alerts' commit is durable (r == 0, ids[i]
 * for alerts[i]) or failed (r < 0, ids NULL). Must not block or call store_write. */
typedef void (*store_enqueue_cb)(void *userdata, int r, const int64_t *ids, size_t n);

/* Queues n alerts atomically. Capacity is reserved before anything is written:
 * if fewer than n slots are free, returns -ENOSPC and changes nothing. Otherwise
 * returns 0 and cb runs later (exactly once). */
int store_enqueue_async(store *s, const store_alert_in *alerts, size_t n, store_enqueue_cb cb,
                        void *userdata);

/* Synchronous form: returns 0 with ret_ids[0..n) after the commit is durable.
 * Not from inside a job or an enqueue callback (-EDEADLK). */
int store_enqueue(store *s, const store_alert_in *alerts, size_t n, int64_t *ret_ids);

/* Free queue slots right now (capacity minus queued and in-flight alerts). */
size_t store_queue_free(store *s);

typedef struct store_claimed {
        int64_t id;
        char type[BW_ALERT_NAME_MAX + 1];
        char *json; /* as enqueued; owned */
        size_t len;
        int64_t received_at_ms;
        unsigned attempts;                  /* 1 on first claim; >1 after a crash or lease expiry */
        char submitted_by[BW_NAME_MAX + 1]; /* "" if unknown */
        bool counted;                       /* already counted toward threshold windows */
        /* This claim's stamp (monotonic ms of its claim or last renewal): the
         * fence store_claims_renew checks. */
        int64_t lease_stamp;
} store_claimed;

/* Claims up to max queued alerts, oldest first, waiting up to wait_ms for the
 * first one to arrive. The claim is durable, with a lease of BW_CLAIM_LEASE_S on
 * the monotonic clock (a wall-clock jump never expires it; claims do not
 * outlive the process, and one process holds a store: store_open fails with
 * -EBUSY for a second one). Returns the number claimed (0 on timeout) with
 * ret[0..n) filled, or a negative errno. */
int store_claim(store *s, size_t max, unsigned wait_ms, store_claimed *ret);

void store_claimed_clear(store_claimed *c, size_t n);

/* Renews the leases of claims[0..n) (durable on return): a worker busy with a
 * long batch keeps its claims, so no other worker takes them. Fenced by each
 * claim's lease_stamp (updated on return): ret_lost[i] is true when the claim
 * expired and another worker took the alert — its holder must then stop acting
 * on it. */
int store_claims_renew(store *s, store_claimed *claims, size_t n, bool *ret_lost);

/* Wakes every store_claim waiter (used at shutdown). */
void store_wake_claimers(store *s);

typedef struct store_queue_stats {
        uint64_t queued;          /* waiting to be claimed */
        uint64_t in_flight;       /* claimed, not finished */
        int64_t oldest_queued_ms; /* received_at of the oldest queued alert, 0 if none */
} store_queue_stats;

int store_queue_stats_get(store *s, store_queue_stats *ret);

/* --- executions and the action journal (inside write jobs) ------------------ */

typedef struct store_action_plan {
        const char *step_id;
        const char *integration;
        const char *connector; /* kind */
        const char *verb;
        const char *target_kind;     /* "ip", "account", ... */
        const char *targets_json;    /* JSON array of strings */
        const char *params_json;     /* JSON object */
        const char *idempotency_key; /* unique across all actions */
        action_state initial_state;  /* PLANNED, SKIPPED, RECOMMENDED, AWAITING_APPROVAL or DENIED */
        const char *detail;          /* why, for a state other than PLANNED; may be NULL; <= 1 KiB UTF-8 */
} store_action_plan;

typedef struct store_action {
        int64_t id;
        char idempotency_key[65];
        action_state state;
        unsigned attempts; /* how many times it entered INTENT */
} store_action;

/* Creates the execution of (alert_id, playbook) with its actions, or, if it
 * already exists (the alert was re-claimed after a crash), returns the existing
 * one: *ret_exec_id and ret_actions[0..n) reflect what is in the store, in plan
 * order. ret_actions has room for n. -ESTALE if the existing actions are not
 * these plans (same idempotency keys, same order), -ENOENT for an unknown alert,
 * -EEXIST if a key is already used elsewhere, -EINVAL for a malformed plan. */
int store_tx_exec_begin(store_tx *tx, int64_t alert_id, const char *playbook, int64_t playbook_version,
                        unsigned level, const store_action_plan *plans, size_t n, int64_t *ret_exec_id,
                        store_action *ret_actions);

/* Moves an action to state (INTENT increments attempts). detail (may be NULL) is a
 * short text kept with the action; result_json (may be NULL) a JSON object. Both
 * replace the previous ones (NULL clears); detail must be UTF-8 and is cut at
 * 1 KiB. -EALREADY for APPLIED -> INTENT (never applied twice), -EINVAL for
 * PLANNED (initial only), -ENOENT for an unknown action. */
int store_tx_action_set(store_tx *tx, int64_t action_id, action_state state, const char *detail,
                        const char *result_json);

/* For an action in INTENT: keeps result_json (a JSON object with the snapshot
 * its connector took) before the action is applied, without changing its
 * state, so that a crash after the apply leaves an action that can still be
 * rolled back. -ENOENT for an unknown action, -EALREADY if it is not in INTENT,
 * -EINVAL. */
int store_tx_action_snapshot(store_tx *tx, int64_t action_id, const char *result_json);

/* Marks the execution finished with status and a short summary. */
int store_tx_exec_finish(store_tx *tx, int64_t exec_id, exec_status status, const char *summary);

/* Marks a claimed alert done (it leaves the queue and frees its slot once the
 * transaction commits). matched = number of playbooks that matched. Done twice is
 * a no-op (a worker whose lease expired finishing late); -ENOENT if unknown. */
int store_tx_alert_done(store_tx *tx, int64_t alert_id, unsigned matched);

/* store_tx_alert_done for n alerts in one statement (a claimed batch's alerts
 * that matched nothing to run); unknown ids are ignored. */
int store_tx_alerts_done(store_tx *tx, const int64_t *alert_ids, const unsigned *matched, size_t n);

/* --- recommendations ---------------------------------------------------------- */

/* An analyst runs a recommended action: it goes back to PLANNED (its detail
 * names who asked) and its alert returns to the queue, so the engine journals
 * and runs it through the governor like any other action (ceilings, protected
 * assets, budgets, breaker). Durable on return. Returns 0 with *ret_alert_id,
 * -ENOENT (no such action), -EALREADY (not a recommendation), -EBUSY (its alert
 * is being processed: try again), -ENOSPC (queue full), -EINVAL. */
int store_recommendation_execute(store *s, int64_t action_id, const char *actor, int64_t *ret_alert_id);

/* --- rate budgets and the circuit breaker ----------------------------------- */

/* One rate budget: at most limit actions in any window of window_ms, wherever
 * it starts (sliding, in BW_RATE_SLICES slices: core/limits.h). */
typedef struct store_budget {
        const char *key;   /* "global" or an action kind such as "nft.block" */
        int64_t window_ms; /* 60000, 3600000 or 86400000 */
        uint64_t limit;    /* >= 1 */
} store_budget;

/* Inside a write job: how much of budget b is used in the window that ends at
 * now_ms (every slice that overlaps it, the oldest counted whole). The writer's transaction holds the budget
 * from this read to the charge, so that concurrent workers (or instances) never overspend: the governor
 * decides between the two (engine/gate.c). A backend with several writers must lock the row here (SELECT ...
 * FOR UPDATE). */
int store_tx_budget_used(store_tx *tx, const store_budget *b, int64_t now_ms, uint64_t *ret);

/* Inside a write job: adds n actions to budget b's slice of now_ms. */
int store_tx_budget_charge(store_tx *tx, const store_budget *b, int64_t now_ms, uint64_t n);

/* Inside a write job: the breaker's state. */
int store_tx_breaker_is_open(store_tx *tx, bool *ret_open);

/* Inside a write job: opens the breaker with reason (<= 1 KiB UTF-8) unless it is
 * open. Returns 1 if it opened now, 0 if it was already open, or -errno. */
int store_tx_breaker_open(store_tx *tx, const char *reason);

/* Closes an open breaker, recording who and why (durable on return). Returns 0,
 * -EALREADY if it was not open, -EINVAL for an empty actor or reason. */
int store_breaker_reset(store *s, const char *actor, const char *reason);

/* How much of budget b is used in the window that ends now (a read: it may be
 * stale by the time it is returned). */
int store_budget_used(store *s, const store_budget *b, uint64_t *ret);

/* {"open","reason","opened_at","reset_by","reset_reason","reset_at"}; unset fields
 * are null. */
int store_breaker_get(store *s, json_t **ret);

/* --- approvals and post-action reviews -------------------------------------- */

typedef struct store_approval_request {
        int64_t exec_id;
        const approval_actors *requesters; /* who caused the execution's runs; none may approve */
        const char *author;                /* the playbook's author ("" or NULL: unknown) */
        const char *reasons_json;          /* JSON array of strings: why approval is needed */
        unsigned required;                 /* distinct approvers needed: 1 or 2 */
        int64_t requested_at_ms;           /* when (the gate's instant) */
        int64_t expires_at_ms;             /* rejected from then on */
} store_approval_request;

/* Inside a write job: stores the approval request of an execution whose actions
 * await approval. A pending request gets these requesters (they only grow); a
 * decided one is made pending again with these fields (an approval that lapsed
 * must be given again: engine/gate.c asks only then). Returns 1 when created
 * or renewed now, 0 if one was pending (*ret_id either way), or -errno. */
int store_tx_approval_request(store_tx *tx, const store_approval_request *r, int64_t *ret_id);

/* Inside a write job: the approval request of an execution: 0 with *ret (and
 * *ret_id when not NULL), -ENOENT if it has none. */
int store_tx_approval_get(store_tx *tx, int64_t exec_id, approval_record *ret, int64_t *ret_id);

/* Inside a write job: who caused runs of the execution besides its alert's
 * sender (the analyst who ran a recommendation, the admin who asked a
 * rollback), added to *ret. */
int store_tx_exec_requesters(store_tx *tx, int64_t exec_id, approval_actors *ret);

/* An approver decides, with a reason, under core/approval.h's rules
 * (approval_may_decide: separation of duties, expiry). The last approval needed
 * moves the execution's actions back to PLANNED and its alert to the queue, so
 * the engine runs them through the governor; a rejection marks them REJECTED.
 * Returns 0 and *ret (the approval as JSON, as store_approval_get), -ENOENT,
 * -EALREADY (not pending), -ETIMEDOUT (past its expiry), -EPERM (separation of
 * duties), -EBUSY (its alert is being processed: try again), -ENOSPC (queue
 * full), -EINVAL. */
int store_approval_decide(store *s, int64_t id, const char *actor, approval_decision d, const char *reason,
                          json_t **ret);

/* Rejects every pending approval due at now_ms ("timed out"). Returns how many
 * (>= 0) and, when ret_ids is not NULL, their ids (at most max). */
int store_approvals_expire(store *s, int64_t now_ms, int64_t *ret_ids, size_t max);

/* Inside a write job: an approved execution that applied something now needs a
 * post-action review (no-op otherwise). */
int store_tx_review_open(store_tx *tx, int64_t exec_id);

/* Acknowledges the pending review of approval id with a note. 0 and *ret,
 * -ENOENT, -EALREADY (no review pending), -EINVAL. */
int store_approval_review(store *s, int64_t id, const char *actor, const char *note, json_t **ret);

/* [{"id","exec_id","alert_id","playbook","state","requested_by","author","reasons",
 * "approvals_required","approved_by","decided_by","decision_reason","created_at",
 * "expires_at","decided_at","review"}] newest first, at most limit (1..1000);
 * state NULL for all. */
int store_approval_list(store *s, const char *state, unsigned limit, json_t **ret);

/* One approval with its execution's "actions". -ENOENT if absent. */
int store_approval_get(store *s, int64_t id, json_t **ret);

/* --- rollback, expiry and folding ---------------------------------------------- */

/* An admin rolls back an execution: its applied actions that kept a snapshot move
 * to ROLLBACK_REQUESTED and its alert returns to the queue, so the engine rolls
 * them back through the governor. Returns 0 with *ret_alert_id and *ret_n,
 * -ENOENT, -EALREADY (nothing to roll back), -EBUSY, -ENOSPC, -EINVAL. */
int store_exec_rollback(store *s, int64_t exec_id, const char *actor, const char *reason,
                        int64_t *ret_alert_id, unsigned *ret_n);

/* Requests the rollback of every applied action whose expiry (store_tx_action_expiry
 * with revert) is due at now_ms and whose alert is idle. Returns how many. */
int store_expired_rollback(store *s, int64_t now_ms);

/* Inside a write job: the result JSON stored with an action (*ret NULL if none;
 * free()). */
int store_tx_action_result(store_tx *tx, int64_t action_id, char **ret);

/* Inside a write job, for an action just APPLIED: its effect ends at until_ms
 * (folding stops counting on it then); with revert, the engine also rolls it back
 * at that time (connectors without their own expiry). */
int store_tx_action_expiry(store_tx *tx, int64_t action_id, int64_t until_ms, bool revert);

/* Inside a write job: if every target of integration/verb is held by a live
 * applied action whose effect lasts at least until until_ms (INT64_MAX: only a
 * permanent one), returns 1 with *ret_by one such action; else 0. */
int store_tx_effects_cover(store_tx *tx, const char *integration, const char *verb, char *const *targets,
                           size_t n, int64_t until_ms, int64_t *ret_by);

/* Inside a write job: for each target of integration/verb, whether a live
 * applied action other than action_id holds it (held[i], *ret_by one such
 * action). A rollback leaves those in place. */
int store_tx_effects_held(store_tx *tx, const char *integration, const char *verb, char *const *targets,
                          size_t n, int64_t action_id, bool *held, int64_t *ret_by);

/* Inside a write job: counts n alerts (a claimed batch's alerts sharing the
 * key, in order) for (playbook, key) at at_ms. Windows are per key: the first
 * alert opens one of window_ms. Returns 1 when one of them brings the count to
 * threshold (once per window) with *ret_fires_at its index, 0 otherwise, or
 * -errno. */
int store_tx_threshold_add(store_tx *tx, const char *playbook, const char *key, unsigned threshold,
                           int64_t window_ms, int64_t at_ms, unsigned n, unsigned *ret_fires_at);

/* store_tx_threshold_add for one alert: 1 when it reaches the threshold. */
int store_tx_threshold_hit(store_tx *tx, const char *playbook, const char *key, unsigned threshold,
                           int64_t window_ms, int64_t at_ms);

/* Inside a write job: marks alerts as counted toward threshold windows (in the
 * transaction that counted them). */
int store_tx_alerts_counted(store_tx *tx, const int64_t *alert_ids, size_t n);

/* Inside a write job: true if (alert_id, playbook) already has an execution. */
int store_tx_exec_exists(store_tx *tx, int64_t alert_id, const char *playbook, bool *ret);

/* Removes threshold windows and effects that ended before now_ms. */
int store_prune(store *s, int64_t now_ms);

/* --- the notification outbox ------------------------------------------------ */

/* A message to people (the governor's refusals, the circuit breaker, approval
 * requests and their expiry). It is written with the event it reports and sent
 * later by the outbox thread (engine/outbox.c), never by the thread that
 * recorded the event: a hung webhook cannot delay an action. */
typedef struct store_notification {
        const char *integration;     /* the notify integration */
        const char *target_kind;     /* "none", "ip", ... */
        const char *targets_json;    /* JSON array of strings */
        const char *params_json;     /* JSON object: the event's name and ids */
        const char *idempotency_key; /* the same at every attempt: receivers dedupe on it */
        int64_t action_id;           /* the action concerned, 0 for none */
} store_notification;

typedef enum {
        OUTBOX_PENDING, /* to be sent (again) at its next attempt time */
        OUTBOX_SENT,
        OUTBOX_FAILED,  /* every attempt failed */
        OUTBOX_DROPPED, /* the backlog was full: newer ones were kept */
        _OUTBOX_STATE_MAX,
} outbox_state;

const char *outbox_state_name(outbox_state s);

/* Inside a write job: queues notes[0..n), due now, unless one with the same
 * integration and key is still pending (then it is that one). If more than
 * max_pending (>= 1) then wait, the oldest beyond it are marked DROPPED.
 * Returns how many were dropped (>= 0), or -EINVAL for a malformed note, or
 * another negative errno. */
int store_tx_outbox_add(store_tx *tx, const store_notification *notes, size_t n, size_t max_pending);

/* store_tx_outbox_add in a write of its own: durable on return. */
int store_outbox_add(store *s, const store_notification *notes, size_t n, size_t max_pending);

/* A pending notification, as the outbox thread reads it. */
typedef struct store_outbox_row {
        int64_t id;
        char integration[BW_NAME_MAX + 1];
        char target_kind[BW_NAME_MAX + 1];
        char *targets_json; /* owned */
        char *params_json;  /* owned */
        char idempotency_key[BW_STORE_IDEMPOTENCY_KEY_MAX + 1];
        int64_t action_id;
        unsigned attempts; /* made so far */
} store_outbox_row;

/* Up to max pending notifications due at now_ms, the earliest due first (a
 * read). Returns how many, with ret[0..n) filled (clear them with
 * store_outbox_rows_clear), or a negative errno. */
int store_outbox_due(store *s, int64_t now_ms, size_t max, store_outbox_row *ret);
void store_outbox_rows_clear(store_outbox_row *rows, size_t n);

/* Records an attempt at pending notification id (durable on return): it moved
 * to state — SENT, FAILED, or PENDING again, due at next_at_ms. error (may be
 * NULL; UTF-8, cut at 1 KiB) says why it failed. -ENOENT if it is not pending,
 * -EINVAL for DROPPED. */
int store_outbox_attempt(store *s, int64_t id, outbox_state state, int64_t next_at_ms, const char *error);

/* Moves the pending notifications of integration due before until_ms to
 * until_ms (durable on return): after a failed attempt they wait out the same
 * backoff. Returns how many moved. */
int store_outbox_defer(store *s, const char *integration, int64_t until_ms);

/* How many notifications are in each state (a read). */
int store_outbox_counts(store *s, uint64_t ret[_OUTBOX_STATE_MAX]);

/* Removes the notifications that left the pending state before before_ms. */
int store_outbox_prune(store *s, int64_t before_ms);

/* --- reads (for the API) ---------------------------------------------------- */

/* {"id","state","received_at","attempts","alert":{...},"executions":[ids]}.
 * Returns 0 and a new reference, -ENOENT, or a negative errno. */
int store_alert_get(store *s, int64_t id, json_t **ret);

/* Newest first: [{"id","alert_id","playbook","playbook_version","level","status",
 * "summary","created_at","finished_at"}], at most limit (1..1000), ids < before_id
 * when before_id > 0 (pagination). */
int store_exec_list(store *s, int64_t before_id, unsigned limit, json_t **ret);

/* One execution with "actions": [{"id","step_id","integration","connector","verb",
 * "target_kind","targets","params","state","attempts","detail","result",
 * "idempotency_key","updated_at"}]. -ENOENT if absent. */
int store_exec_get(store *s, int64_t id, json_t **ret);

/* For /readyz ("store writable"): a tiny durable write through the writer, and
 * room for one maximal request on the store's file system (BW_STORE_FREE_MIN), so
 * a disk too full for the next alert is reported before that alert fails, even
 * though this small write may still fit. Returns 0, -EDQUOT (no room) or another
 * negative errno (the write failed). */
int store_ping(store *s);
