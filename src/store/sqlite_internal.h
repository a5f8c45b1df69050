/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of the SQLite backend share: connections, the statement ids and
 * the helpers that prepare, bind and read them. Internal to src/store/; runs in
 * the daemon, with inputs validated by store.c. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/backend.h"

/* Every cached statement of the backend. Its SQL lives next to the code that
 * runs it: sq_sql_core in sqlite.c, sq_sql_response in sqlite_response.c,
 * sq_sql_outbox in sqlite_outbox.c. */
typedef enum {
        SQ_BEGIN,
        SQ_BEGIN_READ,
        SQ_COMMIT,
        SQ_ROLLBACK,
        SQ_SAVEPOINT,
        SQ_RELEASE,
        SQ_ROLLBACK_TO,
        SQ_ALERT_INSERT,
        SQ_LEASE_EXPIRE,
        SQ_CLAIM,
        SQ_ALERT_DONE,
        SQ_ALERT_EXISTS,
        SQ_ALERTS_DONE,
        SQ_EXEC_FIND,
        SQ_EXEC_INSERT,
        SQ_ACTION_INSERT,
        SQ_ACTIONS_OF_EXEC,
        SQ_ACTION_STATE,
        SQ_ACTION_UPDATE,
        SQ_ACTION_RESULT_KEEP,
        SQ_EXEC_FINISH,
        SQ_PING,
        SQ_ALERT_GET,
        SQ_ALERT_EXECS,
        SQ_EXEC_LIST,
        SQ_EXEC_GET,
        SQ_ACTIONS_GET,
        SQ_QUEUE_STATS,
        SQ_CLAIM_RENEW,
        SQ_REC_FIND,
        SQ_REC_PLAN,
        SQ_REC_EXEC,
        SQ_REC_ALERT,
        SQ_BUDGET_USED,
        SQ_BUDGET_CHARGE,
        SQ_BUDGET_PRUNE,
        SQ_BREAKER_STATE,
        SQ_BREAKER_OPEN,
        SQ_BREAKER_RESET,
        SQ_BREAKER_GET,
        /* sqlite_response.c */
        SQ_APPROVAL_INSERT,
        SQ_APPROVAL_OF_EXEC,
        SQ_APPROVAL_RENEW,
        SQ_APPROVAL_REQUESTERS,
        SQ_APPROVAL_FIND,
        SQ_APPROVAL_FIND_EXEC,
        SQ_EXEC_REQUESTERS,
        SQ_EXEC_OF_ACTION,
        SQ_EXEC_REQUESTERS_SET,
        SQ_APPROVAL_VOTE,
        SQ_APPROVAL_DECIDE,
        SQ_APPROVAL_ACTIONS_PLAN,
        SQ_APPROVAL_ACTIONS_REJECT,
        SQ_APPROVALS_DUE,
        SQ_REVIEW_OPEN,
        SQ_REVIEW_ACK,
        SQ_APPROVAL_LIST,
        SQ_APPROVAL_GET,
        SQ_ROLLBACK_EXEC,
        SQ_ROLLBACK_MARK,
        SQ_EXPIRED_DUE,
        SQ_ROLLBACK_MARK_ONE,
        SQ_ACTION_RESULT,
        SQ_ACTION_EXPIRES,
        SQ_EFFECTS_ADD,
        SQ_EFFECTS_SUPERSEDE,
        SQ_EFFECTS_EXPIRE,
        SQ_EFFECTS_DROP,
        SQ_EFFECTS_DROP_EXEC,
        SQ_EFFECT_LIVE,
        SQ_EFFECTS_PRUNE,
        SQ_THRESHOLD_COUNT,
        SQ_THRESHOLD_FIRE,
        SQ_ALERTS_COUNTED,
        SQ_THRESHOLD_PRUNE,
        /* sqlite_outbox.c */
        SQ_OUTBOX_INSERT,
        SQ_OUTBOX_PENDING,
        SQ_OUTBOX_DROP,
        SQ_OUTBOX_ATTEMPT,
        SQ_OUTBOX_PRUNE,
        SQ_OUTBOX_DEFER,
        SQ_OUTBOX_DUE,
        SQ_OUTBOX_COUNTS,
        _SQ_MAX,
} sq_stmt_id;

extern const char *const sq_sql_core[_SQ_MAX];
extern const char *const sq_sql_response[_SQ_MAX];
extern const char *const sq_sql_outbox[_SQ_MAX];

typedef struct sq_conn {
        sqlite3 *db;
        sqlite3_stmt *stmt[_SQ_MAX]; /* prepared on first use, kept until close */
} sq_conn;

struct store_backend_db {
        sq_conn writer; /* used by one thread at a time: store_open's, then the writer's */
        pthread_mutex_t readers_lock;
        pthread_cond_t readers_free;
        sq_conn readers[BW_STORE_READERS];
        bool reader_busy[BW_STORE_READERS];
        int schema_version;
        unsigned migrations_applied;
        int lock_fd; /* flock(LOCK_EX) on "<path>.lock": one process per store */
};

typedef int (*sq_row_json_fn)(sqlite3_stmt *st, json_t **ret);

/* SQLite result code -> negative errno (constraint violations -EEXIST/-ENOENT). */
int sq_errno(int rc);

/* Prepares statement id (once per connection) and binds parameters 1.. from a
 * spec: 'i' int64_t, 't' NUL-terminated text or NULL, 'b' text and its size_t
 * length. The caller steps and resets. */
int sq_prep(sq_conn *c, sq_stmt_id id, sqlite3_stmt **ret, const char *spec, ...);

/* Runs a statement that returns no rows. */
int sq_run(sq_conn *c, sq_stmt_id id, const char *spec, ...);

/* Runs statement id (no parameters), which returns one row of one integer:
 * -EBADMSG if it returns none. */
int sq_one_int(sq_conn *c, sq_stmt_id id, int64_t *ret);

/* r, or -ENOENT when the last statement changed no row. */
int sq_changes_or_enoent(sq_conn *c, int r);

/* A reader connection inside a read transaction, and its release. */
int sq_read_begin(struct store_backend_db *db, sq_conn **ret);
void sq_read_end(struct store_backend_db *db, sq_conn *c);

const char *sq_text(sqlite3_stmt *st, int col);
json_t *sq_text_or_null(sqlite3_stmt *st, int col);
json_t *sq_int_or_null(sqlite3_stmt *st, int col);

/* Steps st and appends each row, turned into JSON by fn, to arr. */
int sq_rows_append(sqlite3_stmt *st, sq_row_json_fn fn, json_t *arr);
/* Runs a single-row statement and turns its row into JSON: -ENOENT if none. */
int sq_row_json(sqlite3_stmt *st, sq_row_json_fn fn, json_t **ret);
/* Runs statement id on a reader, bound from spec as sq_prep does, and returns
 * its rows turned into JSON by fn, as an array. */
int sq_rows_list(struct store_backend_db *db, sq_row_json_fn fn, json_t **ret, sq_stmt_id id,
                 const char *spec, ...);

/* Reads one row of statement head (bound to id) as JSON with fn, and adds the
 * "actions" of its execution: id itself, or the row's exec_id_field. */
int sq_row_with_actions(struct store_backend_db *db, sq_stmt_id head, int64_t id, sq_row_json_fn fn,
                        const char *exec_id_field, json_t **ret);
/* A row of SQ_ACTIONS_GET as JSON. */
int sq_action_row_json(sqlite3_stmt *st, json_t **ret);

/* sqlite_response.c: kept in step with an action's state inside sq_action_set
 * (live effects for folding). */
int sq_effects_follow(sq_conn *c, int64_t action_id, action_state state);
