/* SPDX-License-Identifier: Apache-2.0 */
/* The private table every storage backend fills (after curl's TLS backends): store.c
 * owns the writer thread, group commit, capacity and claim wake-ups, a backend owns
 * its SQL. Runs in the daemon (core); its inputs come from the engine and the API,
 * already validated by store.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/limits.h"
#include "store/store.h"

/* Each backend defines its own struct store_backend_db (curl's ssl_backend_data). */
struct store_backend_db;

/* One row of executions, for store_exec_row_json(). */
typedef struct store_exec_row {
        int64_t id;
        int64_t alert_id;
        const char *playbook;
        int64_t playbook_version;
        unsigned level;
        const char *status;
        const char *summary; /* NULL when unset */
        int64_t created_at;
        int64_t finished_at;
        bool finished;
} store_exec_row;

/* One row of actions, for store_action_row_json(). JSON columns are text. */
typedef struct store_action_row {
        int64_t id;
        const char *step_id;
        const char *integration;
        const char *connector;
        const char *verb;
        const char *target_kind;
        const char *targets;
        const char *params;
        const char *state;
        unsigned attempts;
        const char *detail; /* NULL when unset */
        const char *result; /* NULL when unset */
        const char *idempotency_key;
        int64_t updated_at;
} store_action_row;

/* One row of alerts, for store_alert_row_json(). */
typedef struct store_alert_row {
        int64_t id;
        const char *state;
        int64_t received_at;
        unsigned attempts;
        const char *body;
        size_t body_len;
} store_alert_row;

/* One approval request as stored, with what the decision path needs around it. */
typedef struct store_approval_row {
        int64_t id, exec_id, alert_id;
        bool alert_idle; /* its alert is done: the engine does not hold it */
        approval_record record;
} store_approval_row;

/* The governor's response state (approvals, reviews, rollback, expiry, folding,
 * thresholds): writes inside the writer's transaction, reads on read-only
 * connections. */
typedef struct store_backend_response {
        /* See store_tx_approval_request: 1 created or renewed, 0 was pending. */
        int (*approval_request)(struct store_backend_db *db, const store_approval_request *r, int64_t now_ms,
                                int64_t *ret_id);
        /* The request with id (id > 0) or of execution exec_id: 0, -ENOENT. */
        int (*approval_load)(struct store_backend_db *db, int64_t id, int64_t exec_id,
                             store_approval_row *ret);
        /* Stores row->record.approved_by of a pending request. */
        int (*approval_vote)(struct store_backend_db *db, const store_approval_row *row);
        /* Closes a pending request as state (APPROVED: its actions back to
         * PLANNED and its alert to the queue; REJECTED: its actions and
         * execution rejected), recording who, why and when. */
        int (*approval_close)(struct store_backend_db *db, const store_approval_row *row,
                              approval_state state, const char *actor, const char *reason, int64_t now_ms);
        /* Pending requests whose expires_at is at or before now_ms and whose
         * alert the engine does not hold. */
        int (*approvals_due)(struct store_backend_db *db, int64_t now_ms, int64_t *ret_ids, size_t max);
        /* Adds actor to the requesters of execution exec_id, or of the
         * execution of action_id (when exec_id is 0). */
        int (*exec_requester_add)(struct store_backend_db *db, int64_t exec_id, int64_t action_id,
                                  const char *actor);
        int (*exec_requesters)(struct store_backend_db *db, int64_t exec_id, approval_actors *ret);
        int (*review_open)(struct store_backend_db *db, int64_t exec_id);
        int (*review_ack)(struct store_backend_db *db, int64_t id, const char *actor, const char *note,
                          int64_t now_ms);
        int (*exec_rollback)(struct store_backend_db *db, int64_t exec_id, const char *detail,
                             int64_t now_ms, int64_t *ret_alert_id, unsigned *ret_n);
        /* Requeues at most max alerts; returns how many actions were marked. */
        int (*expired_rollback)(struct store_backend_db *db, int64_t now_ms, size_t max,
                                uint64_t *ret_requeued);
        int (*action_result)(struct store_backend_db *db, int64_t action_id, char **ret);
        int (*action_expiry)(struct store_backend_db *db, int64_t action_id, int64_t until_ms, bool revert);
        int (*effects_held)(struct store_backend_db *db, const char *integration, const char *verb,
                            char *const *targets, size_t n, int64_t action_id, int64_t now_ms, bool *held,
                            int64_t *ret_by);
        int (*effects_cover)(struct store_backend_db *db, const char *integration, const char *verb,
                             char *const *targets, size_t n, int64_t now_ms, int64_t *ret_by);
        int (*threshold_add)(struct store_backend_db *db, const char *playbook, const char *key,
                             unsigned threshold, int64_t window_ms, int64_t at_ms, unsigned n,
                             unsigned *ret_fires_at);
        int (*alerts_counted)(struct store_backend_db *db, const char *ids_json);
        int (*exec_exists)(struct store_backend_db *db, int64_t alert_id, const char *playbook, bool *ret);
        int (*prune)(struct store_backend_db *db, int64_t now_ms);

        int (*approval_list)(struct store_backend_db *db, const char *state, unsigned limit, json_t **ret);
        int (*approval_get)(struct store_backend_db *db, int64_t id, json_t **ret);
} store_backend_response;

/* The notification outbox: writes inside the writer's transaction, reads on
 * read-only connections. Mechanism only: store.c bounds the backlog. */
typedef struct store_backend_outbox {
        /* Queues the notes (one still pending with the same integration and key
         * is kept instead). */
        int (*add)(struct store_backend_db *db, const store_notification *notes, size_t n, int64_t now_ms);
        /* How many are pending. */
        int (*pending)(struct store_backend_db *db, uint64_t *ret);
        /* Marks the n oldest pending ones dropped. */
        int (*drop_oldest)(struct store_backend_db *db, uint64_t n, int64_t now_ms);
        /* -ENOENT if id is not pending. */
        int (*attempt)(struct store_backend_db *db, int64_t id, outbox_state state, int64_t next_at_ms,
                       const char *error, size_t error_len, int64_t now_ms);
        int (*prune)(struct store_backend_db *db, int64_t before_ms);
        /* Returns how many moved. */
        int (*defer)(struct store_backend_db *db, const char *integration, int64_t until_ms);
        int (*due)(struct store_backend_db *db, int64_t now_ms, size_t max, store_outbox_row *ret);
        int (*counts)(struct store_backend_db *db, uint64_t ret[_OUTBOX_STATE_MAX]);
} store_backend_outbox;

typedef struct store_backend {
        const char *name;
        int schema_latest; /* the last migration this backend knows */

        /* Opens, applies the migrations, and requeues the claims of a previous
         * process. Returns 0 with *ret and *ret_active (queued + claimed alerts). */
        int (*open)(const char *path, struct store_backend_db **ret, uint64_t *ret_active);
        void (*close)(struct store_backend_db *db);
        int (*schema_version)(struct store_backend_db *db);
        unsigned (*migrations_applied)(struct store_backend_db *db);

        /* Writer thread only: the group transaction and one savepoint per job.
         * job_rollback fails when the whole transaction is gone (the engine rolled
         * it back after an I/O error): the group then fails as one. */
        int (*tx_begin)(struct store_backend_db *db);
        int (*tx_commit)(struct store_backend_db *db);
        void (*tx_rollback)(struct store_backend_db *db);
        int (*job_begin)(struct store_backend_db *db);
        int (*job_release)(struct store_backend_db *db);
        int (*job_rollback)(struct store_backend_db *db);

        /* Inside the writer's transaction. */
        int (*alerts_insert)(struct store_backend_db *db, const store_alert_in *alerts, size_t n,
                             int64_t *ret_ids);
        /* Returns the number claimed (ret[0..n) filled, bodies owned) or -errno. */
        int (*alerts_claim)(struct store_backend_db *db, size_t max, int64_t now_ms, int64_t lease_ms,
                            store_claimed *ret);
        /* Returns 1 if the alert left the queue, 0 if it was already done. */
        int (*alert_done)(struct store_backend_db *db, int64_t alert_id, unsigned matched);
        /* Many at once: pairs_json is [[id, matched], ...]; *ret_done = how many
         * left the queue now. */
        int (*alerts_done)(struct store_backend_db *db, const char *pairs_json, uint64_t *ret_done);
        int (*exec_begin)(struct store_backend_db *db, int64_t alert_id, const char *playbook,
                          int64_t playbook_version, unsigned level, const store_action_plan *plans, size_t n,
                          int64_t now_ms, int64_t *ret_exec_id, store_action *ret_actions);
        int (*action_state_get)(struct store_backend_db *db, int64_t action_id, action_state *ret);
        int (*action_set)(struct store_backend_db *db, int64_t action_id, action_state state,
                          const char *detail, size_t detail_len, const char *result_json, int64_t now_ms);
        /* Sets the result of an action, its state unchanged. */
        int (*action_result_keep)(struct store_backend_db *db, int64_t action_id, const char *result_json,
                                  int64_t now_ms);
        int (*exec_finish)(struct store_backend_db *db, int64_t exec_id, exec_status status,
                           const char *summary, size_t summary_len, int64_t now_ms);
        int (*ping)(struct store_backend_db *db, int64_t now_ms);
        /* See store_recommendation_execute; *ret_alert_id on success. */
        int (*recommendation_requeue)(struct store_backend_db *db, int64_t action_id, const char *detail,
                                      int64_t now_ms, int64_t *ret_alert_id);
        /* Renews each claim still held with its lease_stamp (fenced); lost[i]
         * when another claim took it. now_ms on the claims' clock. */
        int (*claims_renew)(struct store_backend_db *db, store_claimed *claims, size_t n, int64_t now_ms,
                            bool *lost);
        /* The budget's use in the window that ends at now_ms (store.h). */
        int (*budget_used_tx)(struct store_backend_db *db, const store_budget *b, int64_t now_ms,
                              uint64_t *ret);
        int (*budget_charge)(struct store_backend_db *db, const store_budget *b, int64_t now_ms, uint64_t n);
        int (*breaker_is_open)(struct store_backend_db *db, bool *ret);
        /* 1 opened now, 0 was already open. */
        int (*breaker_open)(struct store_backend_db *db, const char *reason, int64_t now_ms);
        /* 0 closed now, -EALREADY if it was not open. */
        int (*breaker_reset)(struct store_backend_db *db, const char *actor, const char *reason,
                             int64_t now_ms);

        /* Any thread, on read-only connections. */
        int (*alert_get)(struct store_backend_db *db, int64_t id, json_t **ret);
        int (*exec_list)(struct store_backend_db *db, int64_t before_id, unsigned limit, json_t **ret);
        int (*exec_get)(struct store_backend_db *db, int64_t id, json_t **ret);
        int (*queue_stats)(struct store_backend_db *db, store_queue_stats *ret);
        int (*breaker_get)(struct store_backend_db *db, json_t **ret);
        int (*budget_used)(struct store_backend_db *db, const store_budget *b, int64_t now_ms,
                           uint64_t *ret);
        /* Approvals, rollback, expiry, folding and thresholds. */
        const struct store_backend_response *response;
        const struct store_backend_outbox *outbox;
} store_backend;

extern const store_backend store_backend_sqlite;
extern const store_backend_response store_backend_sqlite_response;
extern const store_backend_outbox store_backend_sqlite_outbox;

/* Shared by the backends, in store.c: one place for names and JSON shapes. */
int store_outbox_state_from_name(const char *name, outbox_state *ret);
int store_alert_row_json(const store_alert_row *row, json_t **ret);
int store_exec_row_json(const store_exec_row *row, json_t **ret);
int store_action_row_json(const store_action_row *row, json_t **ret);
