/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite backend's part of the notification outbox: queueing, the pending
 * count kept by triggers, attempts, pruning and the reads of the outbox thread.
 * Runs in the daemon (core), on the writer thread for writes; inputs were
 * validated by store.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/strutil.h"

const char *const sq_sql_outbox[_SQ_MAX] = {
        /* The same message still waiting is that one (the partial unique index). */
        [SQ_OUTBOX_INSERT] =
                "INSERT INTO outbox (integration, target_kind, targets, params, idempotency_key,"
                " action_id, state, next_at, created_at, updated_at)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7, ?7)"
                " ON CONFLICT (integration, idempotency_key) WHERE state = 'pending' DO NOTHING",
        [SQ_OUTBOX_PENDING] = "SELECT n FROM outbox_pending WHERE id = 1",
        [SQ_OUTBOX_DROP] = "UPDATE outbox SET state = 'dropped', last_error = 'the backlog was full',"
                           " updated_at = ?2 WHERE id IN (SELECT id FROM outbox WHERE state = 'pending'"
                           " ORDER BY id LIMIT ?1)",
        [SQ_OUTBOX_ATTEMPT] = "UPDATE outbox SET state = ?2, attempts = attempts + 1, next_at = ?3,"
                              " last_error = ?4, updated_at = ?5 WHERE id = ?1 AND state = 'pending'",
        [SQ_OUTBOX_PRUNE] = "DELETE FROM outbox WHERE state <> 'pending' AND updated_at < ?1",
        [SQ_OUTBOX_DEFER] = "UPDATE outbox SET next_at = ?2 WHERE state = 'pending' AND integration = ?1"
                            " AND next_at < ?2",
        [SQ_OUTBOX_DUE] = "SELECT id, integration, target_kind, targets, params, idempotency_key, action_id,"
                          " attempts FROM outbox WHERE state = 'pending' AND next_at <= ?1"
                          " ORDER BY next_at, id LIMIT ?2",
        [SQ_OUTBOX_COUNTS] = "SELECT state, count(*) FROM outbox GROUP BY state",
};

static int sq_outbox_add(struct store_backend_db *db, const store_notification *notes, size_t n,
                         int64_t now_ms) {
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++) {
                const store_notification *m = &notes[i];
                r = sq_run(&db->writer, SQ_OUTBOX_INSERT, "tttttii", m->integration, m->target_kind,
                           m->targets_json, m->params_json, m->idempotency_key, m->action_id, now_ms);
        }
        return r;
}

static int sq_outbox_pending(struct store_backend_db *db, uint64_t *ret) {
        int64_t n = 0;
        int r = sq_one_int(&db->writer, SQ_OUTBOX_PENDING, &n);
        if (r == 0)
                *ret = n > 0 ? (uint64_t)n : 0;
        return r;
}

static int sq_outbox_drop_oldest(struct store_backend_db *db, uint64_t n, int64_t now_ms) {
        return sq_run(&db->writer, SQ_OUTBOX_DROP, "ii", (int64_t)n, now_ms);
}

static int sq_outbox_attempt(struct store_backend_db *db, int64_t id, outbox_state state, int64_t next_at_ms,
                             const char *error, size_t error_len, int64_t now_ms) {
        int r = sq_run(&db->writer, SQ_OUTBOX_ATTEMPT, "itibi", id, outbox_state_name(state), next_at_ms,
                       error, error_len, now_ms);
        return sq_changes_or_enoent(&db->writer, r);
}

static int sq_outbox_prune(struct store_backend_db *db, int64_t before_ms) {
        return sq_run(&db->writer, SQ_OUTBOX_PRUNE, "i", before_ms);
}

static int sq_outbox_defer(struct store_backend_db *db, const char *integration, int64_t until_ms) {
        int r = sq_run(&db->writer, SQ_OUTBOX_DEFER, "ti", integration, until_ms);
        return r < 0 ? r : sqlite3_changes(db->writer.db);
}

/* One row of SQ_OUTBOX_DUE. */
static int sq_outbox_row(sqlite3_stmt *st, store_outbox_row *ret) {
        const char *integration = sq_text(st, 1), *kind = sq_text(st, 2), *key = sq_text(st, 5);
        store_outbox_row row = {
                .id = sqlite3_column_int64(st, 0),
                .targets_json = str_dup_or_null(sq_text(st, 3)),
                .params_json = str_dup_or_null(sq_text(st, 4)),
                .action_id = sqlite3_column_int64(st, 6),
                .attempts = (unsigned)sqlite3_column_int64(st, 7),
        };
        int r = 0;
        if (!integration || !kind || !key || !row.targets_json || !row.params_json)
                r = row.targets_json && row.params_json ? -EBADMSG : -ENOMEM;
        else if (str_copy(row.integration, sizeof(row.integration), integration) < 0 ||
                 str_copy(row.target_kind, sizeof(row.target_kind), kind) < 0 ||
                 str_copy(row.idempotency_key, sizeof(row.idempotency_key), key) < 0)
                r = -EBADMSG;
        if (r < 0) {
                store_outbox_rows_clear(&row, 1);
                return r;
        }
        *ret = row;
        return 0;
}

static int sq_outbox_due(struct store_backend_db *db, int64_t now_ms, size_t max, store_outbox_row *ret) {
        sq_conn *c;
        int r = sq_read_begin(db, &c);
        if (r < 0)
                return r;
        sqlite3_stmt *st = NULL;
        size_t n = 0;
        r = sq_prep(c, SQ_OUTBOX_DUE, &st, "ii", now_ms, (int64_t)max);
        if (r == 0) {
                int rc;
                while (r == 0 && n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                        r = sq_outbox_row(st, &ret[n]);
                        n += r == 0;
                }
                if (r == 0 && n < max && rc != SQLITE_DONE)
                        r = sq_errno(rc);
                sqlite3_reset(st);
        }
        sq_read_end(db, c);
        if (r < 0) {
                store_outbox_rows_clear(ret, n);
                return r;
        }
        return (int)n;
}

static int sq_outbox_counts(struct store_backend_db *db, uint64_t ret[_OUTBOX_STATE_MAX]) {
        sq_conn *c;
        int r = sq_read_begin(db, &c);
        if (r < 0)
                return r;
        uint64_t counts[_OUTBOX_STATE_MAX] = {0};
        sqlite3_stmt *st = NULL;
        r = sq_prep(c, SQ_OUTBOX_COUNTS, &st, "");
        if (r == 0) {
                int rc;
                while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                        outbox_state state;
                        r = store_outbox_state_from_name(sq_text(st, 0) ? sq_text(st, 0) : "", &state);
                        if (r == 0)
                                counts[state] = (uint64_t)sqlite3_column_int64(st, 1);
                }
                if (r == 0 && rc != SQLITE_DONE)
                        r = sq_errno(rc);
                sqlite3_reset(st);
        }
        sq_read_end(db, c);
        if (r == 0)
                memcpy(ret, counts, sizeof(counts));
        return r;
}

const store_backend_outbox store_backend_sqlite_outbox = {
        .add = sq_outbox_add,
        .pending = sq_outbox_pending,
        .drop_oldest = sq_outbox_drop_oldest,
        .attempt = sq_outbox_attempt,
        .prune = sq_outbox_prune,
        .defer = sq_outbox_defer,
        .due = sq_outbox_due,
        .counts = sq_outbox_counts,
};
