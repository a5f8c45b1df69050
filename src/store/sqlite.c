/* SPDX-License-Identifier: Apache-2.0 */
/* The embedded SQLite backend of the store (WAL, synchronous=FULL, versioned
 * migrations, cached statements); runs in the daemon (core), on the writer thread
 * for writes and on API threads for reads, with inputs validated by store.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/sqlite_internal.h"
#include "util/strutil.h"

/* 'BWRK': marks the file as a Bulwark store so another application's database is
 * never migrated by mistake. Migration 1 writes it. */
#define SQ_APPLICATION_ID 1112953419
/* Per-connection settings of the writer. synchronous=FULL: an alert is acknowledged
 * only once its commit is on disk. foreign_keys is off by default. A 32 MiB page
 * cache keeps the queue's hot pages and indexes. The WAL is copied back every 4096
 * pages (16 MiB): bench_store showed no gain from larger values, and a checkpoint
 * stalls the group that triggers it in proportion to its size. After it, the WAL
 * file is truncated to 64 MiB. */
static const char sq_writer_pragmas[] = "PRAGMA synchronous = FULL;"
                                        "PRAGMA foreign_keys = ON;"
                                        "PRAGMA temp_store = MEMORY;"
                                        "PRAGMA cache_size = -16384;"
                                        "PRAGMA wal_autocheckpoint = 4096;"
                                        "PRAGMA journal_size_limit = 67108864;";
/* Readers: an 8 MiB page cache each. */
static const char sq_reader_pragmas[] = "PRAGMA cache_size = -2048;";

/* Each migration is one transaction and ends by setting user_version to its own
 * number; migrations are never edited once released, only appended. */
static const char *const sq_migrations[] = {
        /* 1: the durable queue, executions and the action journal. */
        "PRAGMA application_id = 1112953419;"
        "CREATE TABLE alerts ("
        " id INTEGER PRIMARY KEY,"
        " state TEXT NOT NULL CHECK (state IN ('queued', 'claimed', 'done')),"
        " received_at INTEGER NOT NULL,"
        " type TEXT NOT NULL,"
        " claimed_at INTEGER,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " matched INTEGER NOT NULL DEFAULT 0,"
        " body TEXT NOT NULL);"
        /* The only index the enqueue path maintains: claims take the oldest queued. */
        "CREATE INDEX alerts_queued ON alerts (id) WHERE state = 'queued';"
        /* Touched by claims and completions only: finds expired leases. */
        "CREATE INDEX alerts_claimed ON alerts (claimed_at) WHERE state = 'claimed';"
        "CREATE TABLE executions ("
        " id INTEGER PRIMARY KEY,"
        " alert_id INTEGER NOT NULL REFERENCES alerts (id),"
        " playbook TEXT NOT NULL,"
        " playbook_version INTEGER NOT NULL,"
        " level INTEGER NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'recorded',"
        " 'denied')),"
        " summary TEXT,"
        " created_at INTEGER NOT NULL,"
        " finished_at INTEGER,"
        " UNIQUE (alert_id, playbook));"
        "CREATE TABLE actions ("
        " id INTEGER PRIMARY KEY,"
        " exec_id INTEGER NOT NULL REFERENCES executions (id),"
        " seq INTEGER NOT NULL,"
        " step_id TEXT NOT NULL,"
        " integration TEXT NOT NULL,"
        " connector TEXT NOT NULL,"
        " verb TEXT NOT NULL,"
        " target_kind TEXT NOT NULL,"
        " targets TEXT NOT NULL,"
        " params TEXT NOT NULL,"
        " idempotency_key TEXT NOT NULL UNIQUE,"
        " state TEXT NOT NULL CHECK (state IN ('planned', 'intent', 'applied', 'failed', 'skipped',"
        " 'recommended', 'awaiting_approval', 'denied')),"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " detail TEXT,"
        " result TEXT,"
        " updated_at INTEGER NOT NULL,"
        " UNIQUE (exec_id, seq));"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
        "PRAGMA user_version = 1;",
        /* 2: rate budgets (one row per key, window length and window) and the
         * circuit breaker (one row). */
        "CREATE TABLE budgets ("
        " key TEXT NOT NULL,"
        " window_ms INTEGER NOT NULL,"
        " window_start INTEGER NOT NULL,"
        " used INTEGER NOT NULL,"
        " PRIMARY KEY (key, window_ms, window_start)) WITHOUT ROWID;"
        "CREATE TABLE breaker ("
        " id INTEGER PRIMARY KEY CHECK (id = 1),"
        " open INTEGER NOT NULL,"
        " reason TEXT, opened_at INTEGER,"
        " reset_by TEXT, reset_reason TEXT, reset_at INTEGER);"
        "INSERT INTO breaker (id, open) VALUES (1, 0);"
        "PRAGMA user_version = 2;",
        /* 3: approvals and post-action reviews, rollback and expiry of actions, the
         * live effects that fold duplicate work, threshold windows, and who sent
         * each alert. New states need the CHECKs of executions and actions
         * rebuilt (SQLite's twelve-step procedure; sq_migrate turns foreign keys
         * off around migrations and checks them after). */
        "CREATE TABLE executions_v3 ("
        " id INTEGER PRIMARY KEY,"
        " alert_id INTEGER NOT NULL REFERENCES alerts (id),"
        " playbook TEXT NOT NULL,"
        " playbook_version INTEGER NOT NULL,"
        " level INTEGER NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'recorded',"
        " 'denied', 'awaiting_approval', 'rejected', 'rolled_back')),"
        " summary TEXT,"
        " created_at INTEGER NOT NULL,"
        " finished_at INTEGER,"
        " UNIQUE (alert_id, playbook));"
        "INSERT INTO executions_v3 SELECT id, alert_id, playbook, playbook_version, level, status, summary,"
        " created_at, finished_at FROM executions;"
        "CREATE TABLE actions_v3 ("
        " id INTEGER PRIMARY KEY,"
        " exec_id INTEGER NOT NULL REFERENCES executions (id),"
        " seq INTEGER NOT NULL,"
        " step_id TEXT NOT NULL,"
        " integration TEXT NOT NULL,"
        " connector TEXT NOT NULL,"
        " verb TEXT NOT NULL,"
        " target_kind TEXT NOT NULL,"
        " targets TEXT NOT NULL,"
        " params TEXT NOT NULL,"
        " idempotency_key TEXT NOT NULL UNIQUE,"
        " state TEXT NOT NULL CHECK (state IN ('planned', 'intent', 'applied', 'failed', 'skipped',"
        " 'recommended', 'awaiting_approval', 'denied', 'rejected', 'satisfied', 'rollback_requested',"
        " 'rolled_back', 'rollback_failed')),"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " detail TEXT,"
        " result TEXT,"
        " updated_at INTEGER NOT NULL,"
        " expires_at INTEGER," /* set for actions the engine reverts itself when due */
        " UNIQUE (exec_id, seq));"
        "INSERT INTO actions_v3 SELECT id, exec_id, seq, step_id, integration, connector, verb,"
        " target_kind, targets, params, idempotency_key, state, attempts, detail, result, updated_at, NULL"
        " FROM actions;"
        "DROP TABLE actions;"
        "DROP TABLE executions;"
        "ALTER TABLE executions_v3 RENAME TO executions;"
        "ALTER TABLE actions_v3 RENAME TO actions;"
        "CREATE INDEX actions_due ON actions (expires_at) WHERE state = 'applied' AND expires_at IS NOT "
        "NULL;"
        "ALTER TABLE alerts ADD COLUMN submitted_by TEXT;"
        /* Counted toward threshold windows: an alert counts once, whatever
         * brings it back to the queue. */
        "ALTER TABLE alerts ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;"
        "CREATE TABLE approvals ("
        " id INTEGER PRIMARY KEY,"
        " exec_id INTEGER NOT NULL UNIQUE REFERENCES executions (id),"
        " state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),"
        " requested_by TEXT,"
        " author TEXT,"
        " reasons TEXT NOT NULL,"
        " required INTEGER NOT NULL CHECK (required IN (1, 2)),"
        " approved_by TEXT NOT NULL DEFAULT '[]',"
        " decided_by TEXT, decision_reason TEXT, decided_at INTEGER,"
        " created_at INTEGER NOT NULL,"
        " expires_at INTEGER NOT NULL,"
        " review_state TEXT CHECK (review_state IN ('pending', 'acknowledged')),"
        " reviewed_by TEXT, review_note TEXT, reviewed_at INTEGER);"
        "CREATE INDEX approvals_due ON approvals (expires_at) WHERE state = 'pending';"
        /* What applied actions hold in effect now, per target: duplicate work is
         * folded against it. */
        "CREATE TABLE effects ("
        " integration TEXT NOT NULL,"
        " verb TEXT NOT NULL,"
        " target TEXT NOT NULL,"
        " action_id INTEGER NOT NULL,"
        " expires_at INTEGER,"
        " PRIMARY KEY (integration, verb, target, action_id)) WITHOUT ROWID;"
        "CREATE INDEX effects_of_action ON effects (action_id);"
        "CREATE INDEX effects_ending ON effects (expires_at) WHERE expires_at IS NOT NULL;"
        /* Another verb on the same target supersedes an effect (SQ_EFFECTS_SUPERSEDE). */
        "CREATE INDEX effects_of_target ON effects (integration, target);"
        "CREATE TABLE thresholds ("
        " playbook TEXT NOT NULL,"
        " key TEXT NOT NULL,"
        " window_start INTEGER NOT NULL,"
        " count INTEGER NOT NULL,"
        " fired INTEGER NOT NULL,"
        " PRIMARY KEY (playbook, key)) WITHOUT ROWID;"
        "PRAGMA user_version = 3;",
        /* 4: everyone who caused an execution's runs (the alert's sender, the
         * analyst who ran a recommendation, the admin who asked a rollback): none
         * of them may approve it. */
        "ALTER TABLE executions ADD COLUMN requesters TEXT NOT NULL DEFAULT '[]';"
        "ALTER TABLE approvals ADD COLUMN requesters TEXT NOT NULL DEFAULT '[]';"
        "UPDATE approvals SET requesters = json_array(requested_by) WHERE requested_by IS NOT NULL;"
        "PRAGMA user_version = 4;",
        /* 5: the notification outbox. A message to people is written with the
         * event it reports and sent by the outbox thread, with retries. */
        "CREATE TABLE outbox ("
        " id INTEGER PRIMARY KEY,"
        " integration TEXT NOT NULL,"
        " target_kind TEXT NOT NULL,"
        " targets TEXT NOT NULL,"
        " params TEXT NOT NULL,"
        " idempotency_key TEXT NOT NULL,"
        " action_id INTEGER NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'dropped')),"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_at INTEGER NOT NULL,"
        " last_error TEXT,"
        " created_at INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL);"
        /* The same message still waiting is not queued twice. */
        "CREATE UNIQUE INDEX outbox_once ON outbox (integration, idempotency_key) WHERE state = 'pending';"
        "CREATE INDEX outbox_due ON outbox (next_at, id) WHERE state = 'pending';"
        "CREATE INDEX outbox_oldest ON outbox (id) WHERE state = 'pending';"
        "CREATE INDEX outbox_settled ON outbox (updated_at) WHERE state <> 'pending';"
        /* How many wait, kept by triggers: bounding the backlog reads one row
         * instead of counting them at every event. */
        "CREATE TABLE outbox_pending (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);"
        "INSERT INTO outbox_pending (id, n) VALUES (1, 0);"
        "CREATE TRIGGER outbox_queued AFTER INSERT ON outbox WHEN new.state = 'pending'"
        " BEGIN UPDATE outbox_pending SET n = n + 1 WHERE id = 1; END;"
        "CREATE TRIGGER outbox_left AFTER UPDATE OF state ON outbox"
        " WHEN old.state = 'pending' AND new.state <> 'pending'"
        " BEGIN UPDATE outbox_pending SET n = n - 1 WHERE id = 1; END;"
        "CREATE TRIGGER outbox_gone AFTER DELETE ON outbox WHEN old.state = 'pending'"
        " BEGIN UPDATE outbox_pending SET n = n - 1 WHERE id = 1; END;"
        "PRAGMA user_version = 5;",
        /* 6: budgets slide (BW_RATE_SLICES): a row is one slice of its window.
         * A row of a fixed window moves to that window's last slice, so that
         * its charges count as long as any of them could. */
        "UPDATE budgets"
        " SET window_start = window_start + window_ms - window_ms / 60;"
        "PRAGMA user_version = 6;",
};
_Static_assert(BW_RATE_SLICES == 60, "migration 6 slices windows in 60");

#define SQ_SCHEMA_LATEST ((int)(sizeof(sq_migrations) / sizeof(sq_migrations[0])))

#define SQ_EXEC_COLUMNS                                                                                     \
        "id, alert_id, playbook, playbook_version, level, status, summary, created_at, finished_at"

const char *const sq_sql_core[_SQ_MAX] = {
        [SQ_BEGIN] = "BEGIN IMMEDIATE",
        [SQ_BEGIN_READ] = "BEGIN",
        [SQ_COMMIT] = "COMMIT",
        [SQ_ROLLBACK] = "ROLLBACK",
        [SQ_SAVEPOINT] = "SAVEPOINT job",
        [SQ_RELEASE] = "RELEASE job",
        [SQ_ROLLBACK_TO] = "ROLLBACK TO job",
        [SQ_ALERT_INSERT] = "INSERT INTO alerts (state, received_at, body, type, submitted_by)"
                            " VALUES ('queued', ?1, ?2, ?3, ?4)",
        [SQ_LEASE_EXPIRE] =
                "UPDATE alerts SET state = 'queued' WHERE state = 'claimed' AND claimed_at <= ?1",
        [SQ_CLAIM] = "UPDATE alerts SET state = 'claimed', claimed_at = ?1, attempts = attempts + 1"
                     " WHERE id IN (SELECT id FROM alerts WHERE state = 'queued' ORDER BY id LIMIT ?2)"
                     " RETURNING id, body, received_at, attempts, type, submitted_by, counted",
        [SQ_ALERT_DONE] = "UPDATE alerts SET state = 'done', matched = ?2 WHERE id = ?1 AND state <> 'done'",
        [SQ_ALERT_EXISTS] = "SELECT 1 FROM alerts WHERE id = ?1",
        /* A batch's alerts in one statement: ?1 is [[id, matched], ...]. */
        [SQ_ALERTS_DONE] = "UPDATE alerts SET state = 'done', matched = j.value ->> 1 FROM json_each(?1) j"
                           " WHERE alerts.id = j.value ->> 0 AND alerts.state <> 'done'",
        [SQ_EXEC_FIND] = "SELECT id FROM executions WHERE alert_id = ?1 AND playbook = ?2",
        [SQ_EXEC_INSERT] = "INSERT INTO executions (alert_id, playbook, playbook_version, level, status,"
                           " created_at) VALUES (?1, ?2, ?3, ?4, 'running', ?5)",
        [SQ_ACTION_INSERT] = "INSERT INTO actions (exec_id, seq, step_id, integration, connector, verb,"
                             " target_kind, targets, params, idempotency_key, state, updated_at, detail)"
                             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        [SQ_ACTIONS_OF_EXEC] = "SELECT id, idempotency_key, state, attempts FROM actions WHERE exec_id = ?1"
                               " ORDER BY seq",
        [SQ_ACTION_STATE] = "SELECT state FROM actions WHERE id = ?1",
        [SQ_ACTION_UPDATE] = "UPDATE actions SET state = ?2, attempts = attempts + ?3, detail = ?4,"
                             " result = ?5, updated_at = ?6 WHERE id = ?1",
        [SQ_ACTION_RESULT_KEEP] = "UPDATE actions SET result = ?2, updated_at = ?3 WHERE id = ?1",
        [SQ_EXEC_FINISH] = "UPDATE executions SET status = ?2, summary = ?3, finished_at = ?4 WHERE id = ?1",
        [SQ_REC_FIND] = "SELECT a.state, e.id, e.alert_id, al.state FROM actions a"
                        " JOIN executions e ON e.id = a.exec_id JOIN alerts al ON al.id = e.alert_id WHERE "
                        "a.id = ?1",
        [SQ_REC_PLAN] = "UPDATE actions SET state = 'planned', detail = ?2, updated_at = ?3 WHERE id = ?1",
        [SQ_REC_EXEC] = "UPDATE executions SET status = 'running', finished_at = NULL WHERE id = ?1",
        [SQ_REC_ALERT] = "UPDATE alerts SET state = 'queued' WHERE id = ?1 AND state = 'done'",
        /* Fenced: only the holder of this claim (its stamp) renews it. */
        [SQ_CLAIM_RENEW] = "UPDATE alerts SET claimed_at = ?2 WHERE id = ?1 AND state = 'claimed'"
                           " AND claimed_at = ?3",
        /* The slices after ?3 (sq_budget_horizon), in the primary key's order. */
        [SQ_BUDGET_USED] = "SELECT coalesce(sum(used), 0) FROM budgets"
                           " WHERE key = ?1 AND window_ms = ?2 AND window_start > ?3",
        /* One statement per budget and transaction: the gates add up what a
         * batch charged (the limit is the governor's, checked before). */
        [SQ_BUDGET_CHARGE] =
                "INSERT INTO budgets (key, window_ms, window_start, used) VALUES (?1, ?2, ?3, ?4)"
                " ON CONFLICT (key, window_ms, window_start) DO UPDATE SET used = used + ?4",
        /* Slices no window counts any more (sq_budget_horizon) go with the
         * sweeper's prune. */
        [SQ_BUDGET_PRUNE] = "DELETE FROM budgets WHERE window_start + window_ms + window_ms / ?2 <= ?1",
        [SQ_BREAKER_STATE] = "SELECT open FROM breaker WHERE id = 1",
        [SQ_BREAKER_OPEN] =
                "UPDATE breaker SET open = 1, reason = ?1, opened_at = ?2 WHERE id = 1 AND open = 0",
        [SQ_BREAKER_RESET] = "UPDATE breaker SET open = 0, reset_by = ?1, reset_reason = ?2, reset_at = ?3"
                             " WHERE id = 1 AND open = 1",
        [SQ_BREAKER_GET] =
                "SELECT open, reason, opened_at, reset_by, reset_reason, reset_at FROM breaker WHERE id = 1",
        [SQ_PING] = "INSERT INTO meta (key, value) VALUES ('ping', ?1)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [SQ_ALERT_GET] = "SELECT id, state, received_at, attempts, body FROM alerts WHERE id = ?1",
        [SQ_ALERT_EXECS] = "SELECT id FROM executions WHERE alert_id = ?1 ORDER BY id",
        [SQ_EXEC_LIST] =
                "SELECT " SQ_EXEC_COLUMNS " FROM executions WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        [SQ_EXEC_GET] = "SELECT " SQ_EXEC_COLUMNS " FROM executions WHERE id = ?1",
        [SQ_ACTIONS_GET] = "SELECT id, step_id, integration, connector, verb, target_kind, targets, params,"
                           " state, attempts, detail, result, idempotency_key, updated_at"
                           " FROM actions WHERE exec_id = ?1 ORDER BY seq",
        [SQ_QUEUE_STATS] = "SELECT (SELECT count(*) FROM alerts WHERE state = 'queued'),"
                           " (SELECT count(*) FROM alerts WHERE state = 'claimed'),"
                           " (SELECT received_at FROM alerts WHERE state = 'queued' ORDER BY id LIMIT 1)",
};

int sq_errno(int rc) {
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
                return -EEXIST;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                return -ENOENT;
        }
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_FULL:
                /* The disk, not the queue (-ENOSPC, store.h): the two need different
                 * answers, so they must not share an errno. */
                return -EDQUOT;
        case SQLITE_IOERR:
                return -EIO;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_CANTOPEN:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_TOOBIG:
                return -E2BIG;
        default:
                return -EINVAL;
        }
}

static int sq_stmt(sq_conn *c, sq_stmt_id id, sqlite3_stmt **ret) {
        if (!c->stmt[id]) {
                const char *sql = sq_sql_core[id]       ? sq_sql_core[id]
                                  : sq_sql_response[id] ? sq_sql_response[id]
                                                        : sq_sql_outbox[id];
                int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL);
                if (rc != SQLITE_OK)
                        return sq_errno(rc);
        }
        *ret = c->stmt[id];
        return 0;
}

/* Binds parameters 1.. from a spec: 'i' int64_t, 't' NUL-terminated text or NULL,
 * 'b' text and its size_t length (NULL binds NULL). The memory must outlive the
 * step (SQLITE_STATIC). */
static int sq_vbind(sqlite3_stmt *st, const char *spec, va_list ap) {
        /* A spec that disagrees with the SQL is a bug in this file. */
        if (strlen(spec) != (size_t)sqlite3_bind_parameter_count(st))
                return -EINVAL;
        int rc = SQLITE_OK;
        for (int i = 1; *spec && rc == SQLITE_OK; spec++, i++) {
                const char *text;
                size_t len;
                switch (*spec) {
                case 'i':
                        rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
                        break;
                case 't':
                        text = va_arg(ap, const char *);
                        rc = text ? sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC)
                                  : sqlite3_bind_null(st, i);
                        break;
                case 'b':
                        text = va_arg(ap, const char *);
                        len = va_arg(ap, size_t);
                        rc = text ? sqlite3_bind_text64(st, i, text, len, SQLITE_STATIC, SQLITE_UTF8)
                                  : sqlite3_bind_null(st, i);
                        break;
                default:
                        rc = SQLITE_MISUSE;
                }
        }
        return sq_errno(rc);
}

/* Prepares (once per connection) and binds; the caller steps and resets. */
int sq_prep(sq_conn *c, sq_stmt_id id, sqlite3_stmt **ret, const char *spec, ...) {
        sqlite3_stmt *st = NULL;
        int r = sq_stmt(c, id, &st);
        if (r < 0)
                return r;
        va_list ap;
        va_start(ap, spec);
        r = sq_vbind(st, spec, ap);
        va_end(ap);
        if (r < 0) {
                sqlite3_reset(st);
                return r;
        }
        *ret = st;
        return 0;
}

/* Runs a statement that returns no rows. */
int sq_run(sq_conn *c, sq_stmt_id id, const char *spec, ...) {
        sqlite3_stmt *st = NULL;
        int r = sq_stmt(c, id, &st);
        if (r < 0)
                return r;
        va_list ap;
        va_start(ap, spec);
        r = sq_vbind(st, spec, ap);
        va_end(ap);
        if (r >= 0) {
                int rc = sqlite3_step(st);
                r = rc == SQLITE_DONE ? 0 : sq_errno(rc);
        }
        sqlite3_reset(st);
        return r;
}

int sq_changes_or_enoent(sq_conn *c, int r) {
        if (r < 0)
                return r;
        return sqlite3_changes(c->db) > 0 ? 0 : -ENOENT;
}

/* Reads a one-row integer pragma or query written in this file. */
static int sq_query_int(sq_conn *c, const char *sql, int64_t *ret) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sq_errno(rc);
        rc = sqlite3_step(st);
        int r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -EBADMSG : sq_errno(rc);
        if (r >= 0)
                *ret = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return r;
}

static int sq_exec(sq_conn *c, const char *sql) {
        return sq_errno(sqlite3_exec(c->db, sql, NULL, NULL, NULL));
}

/* --- connections ------------------------------------------------------------- */

static void sq_conn_close(sq_conn *c) {
        for (unsigned i = 0; i < _SQ_MAX; i++)
                sqlite3_finalize(c->stmt[i]);
        sqlite3_close(c->db);
        *c = (sq_conn){0};
}

static int sq_conn_open(sq_conn *c, const char *path, int flags, const char *pragmas) {
        /* NOMUTEX: each connection is used by one thread at a time (the writer, or a
         * reader taken from the pool), so SQLite's per-call mutex is pure cost. */
        int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                int sys = c->db ? sqlite3_system_errno(c->db) : 0;
                int r = sys > 0 ? -sys : sq_errno(rc);
                sq_conn_close(c);
                return r;
        }
        sqlite3_extended_result_codes(c->db, 1);
        sqlite3_busy_timeout(c->db, BW_STORE_BUSY_TIMEOUT_MS);
        int r = sq_exec(c, pragmas);
        if (r < 0)
                sq_conn_close(c);
        return r;
}

static int sq_writer_open(sq_conn *c, const char *path) {
        /* SQLite creates files 0644 minus umask and gives the -wal and -shm files the
         * mode of the database: creating it first makes all three private. */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;
        close(fd);

        return sq_conn_open(c, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, sq_writer_pragmas);
}

static int sq_set_wal(sq_conn *c) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sq_errno(rc);
        rc = sqlite3_step(st);
        int r = rc == SQLITE_ROW ? 0 : sq_errno(rc);
        /* A file system without shared memory support stays in rollback mode. */
        if (r >= 0 && strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
                r = -ENOTSUP;
        sqlite3_finalize(st);
        return r;
}

/* Runs before anything is written, WAL mode included: a database newer than this
 * code, or another application's, is refused untouched. */
static int sq_check_identity(sq_conn *c) {
        int64_t version, app_id, objects;
        int r = sq_query_int(c, "PRAGMA user_version", &version);
        if (r >= 0)
                r = sq_query_int(c, "PRAGMA application_id", &app_id);
        if (r >= 0)
                r = sq_query_int(c, "SELECT count(*) FROM sqlite_schema", &objects);
        if (r < 0)
                return r;
        /* Newer than this code, or another application's database: never touch it. */
        if (version > SQ_SCHEMA_LATEST || (app_id != 0 && app_id != SQ_APPLICATION_ID) ||
            (app_id == 0 && objects > 0))
                return -EPROTO;
        return 0;
}

static int sq_migrate_steps(struct store_backend_db *db) {
        sq_conn *c = &db->writer;
        int64_t version;
        int r = sq_query_int(c, "PRAGMA user_version", &version);
        if (r < 0)
                return r;
        while (version < SQ_SCHEMA_LATEST) {
                r = sq_exec(c, "BEGIN IMMEDIATE");
                if (r < 0)
                        return r;
                int64_t after = 0;
                /* Another process may have migrated between the check and the lock. */
                r = sq_query_int(c, "PRAGMA user_version", &version);
                if (r >= 0 && version < SQ_SCHEMA_LATEST) {
                        r = sq_exec(c, sq_migrations[version]);
                        if (r >= 0)
                                r = sq_query_int(c, "PRAGMA user_version", &after);
                        /* A step that does not set its own number is a bug in this file. */
                        if (r >= 0 && after != version + 1)
                                r = -EPROTO;
                        if (r >= 0)
                                db->migrations_applied++;
                }
                if (r >= 0)
                        r = sq_exec(c, "COMMIT");
                if (r < 0) {
                        if (!sqlite3_get_autocommit(c->db))
                                sq_exec(c, "ROLLBACK");
                        return r;
                }
                if (after > version)
                        version = after;
        }
        db->schema_version = (int)version;
        return 0;
}

/* Foreign keys are off while migrations rebuild tables (they cannot change inside
 * a transaction), then every reference is checked before they are on again. */
static int sq_migrate(struct store_backend_db *db) {
        sq_conn *c = &db->writer;
        int r = sq_exec(c, "PRAGMA foreign_keys = OFF");
        if (r >= 0)
                r = sq_migrate_steps(db);
        int64_t dangling = 0;
        if (r >= 0)
                r = sq_query_int(c, "SELECT count(*) FROM pragma_foreign_key_check", &dangling);
        if (r >= 0 && dangling > 0)
                r = -EBADMSG;
        int on = sq_exec(c, "PRAGMA foreign_keys = ON");
        return r < 0 ? r : on;
}

static int sq_queue_counts(sq_conn *c, store_queue_stats *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_QUEUE_STATS, &st, "");
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = (store_queue_stats){
                        .queued = (uint64_t)sqlite3_column_int64(st, 0),
                        .in_flight = (uint64_t)sqlite3_column_int64(st, 1),
                        .oldest_queued_ms = sqlite3_column_int64(st, 2), /* NULL reads as 0 */
                };
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : sq_errno(rc);
}

/* Claims of the previous process go back to the queue: their workers are gone. */
static int sq_recover(struct store_backend_db *db, uint64_t *ret_active) {
        sq_conn *c = &db->writer;
        store_queue_stats st;
        int r = sq_run(c, SQ_BEGIN, "");
        if (r < 0)
                return r;
        r = sq_run(c, SQ_LEASE_EXPIRE, "i", (int64_t)INT64_MAX);
        if (r >= 0)
                r = sq_queue_counts(c, &st);
        if (r >= 0)
                r = sq_run(c, SQ_COMMIT, "");
        if (r < 0) {
                if (!sqlite3_get_autocommit(c->db))
                        sq_run(c, SQ_ROLLBACK, "");
                return r;
        }
        *ret_active = st.queued + st.in_flight;
        return 0;
}

static void sq_close(struct store_backend_db *db) {
        if (!db)
                return;
        /* Readers first: the last connection checkpoints and removes the WAL. */
        for (unsigned i = 0; i < BW_STORE_READERS; i++)
                sq_conn_close(&db->readers[i]);
        sq_conn_close(&db->writer);
        pthread_cond_destroy(&db->readers_free);
        pthread_mutex_destroy(&db->readers_lock);
        if (db->lock_fd >= 0)
                close(db->lock_fd);
        free(db);
}

/* One process per store: a second bulwarkd on the same file would requeue this
 * one's live claims at its start (sq_recover) and apply their actions a second
 * time, and claims run on each process's own monotonic clock. The lock lives as
 * long as the descriptor: a crashed process releases it. -EBUSY if held. */
static int sq_lock(const char *path, int *ret_fd) {
        char lock[PATH_MAX];
        int n = snprintf(lock, sizeof(lock), "%s.lock", path);
        if (n < 0 || (size_t)n >= sizeof(lock))
                return -ENAMETOOLONG;
        int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int sq_open(const char *path, struct store_backend_db **ret, uint64_t *ret_active) {
        /* NOMUTEX connections on several threads need a thread-safe library build. */
        if (!sqlite3_threadsafe())
                return -ENOTSUP;
        /* Memory statistics cost a global mutex on every allocation; nothing reads
         * them. Only possible before the library initialises (the first open in
         * the process); later calls fail harmlessly. */
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        struct store_backend_db *db = calloc(1, sizeof *db);
        if (!db)
                return -ENOMEM;
        pthread_mutex_init(&db->readers_lock, NULL);
        pthread_cond_init(&db->readers_free, NULL);
        db->lock_fd = -1;
        uint64_t active = 0;
        int r = sq_lock(path, &db->lock_fd);
        if (r >= 0)
                r = sq_writer_open(&db->writer, path);
        if (r >= 0)
                r = sq_check_identity(&db->writer);
        if (r >= 0)
                r = sq_set_wal(&db->writer);
        if (r >= 0)
                r = sq_migrate(db);
        if (r >= 0)
                r = sq_recover(db, &active);
        for (unsigned i = 0; r >= 0 && i < BW_STORE_READERS; i++)
                r = sq_conn_open(&db->readers[i], path, SQLITE_OPEN_READONLY, sq_reader_pragmas);
        if (r < 0) {
                sq_close(db);
                return r;
        }
        *ret = db;
        *ret_active = active;
        return 0;
}

static int sq_schema_version(struct store_backend_db *db) {
        return db->schema_version;
}

static unsigned sq_migrations_applied(struct store_backend_db *db) {
        return db->migrations_applied;
}

/* --- the writer's transaction -------------------------------------------------- */

static int sq_tx_begin(struct store_backend_db *db) {
        return sq_run(&db->writer, SQ_BEGIN, "");
}

static int sq_tx_commit(struct store_backend_db *db) {
        return sq_run(&db->writer, SQ_COMMIT, "");
}

static void sq_tx_rollback(struct store_backend_db *db) {
        /* SQLite may already have rolled back after an I/O or disk-full error. */
        if (!sqlite3_get_autocommit(db->writer.db))
                sq_run(&db->writer, SQ_ROLLBACK, "");
}

static int sq_job_begin(struct store_backend_db *db) {
        return sq_run(&db->writer, SQ_SAVEPOINT, "");
}

static int sq_job_release(struct store_backend_db *db) {
        return sq_run(&db->writer, SQ_RELEASE, "");
}

static int sq_job_rollback(struct store_backend_db *db) {
        if (sqlite3_get_autocommit(db->writer.db))
                return -EIO;
        int r = sq_run(&db->writer, SQ_ROLLBACK_TO, "");
        if (r >= 0)
                r = sq_run(&db->writer, SQ_RELEASE, "");
        return r;
}

/* --- the queue ----------------------------------------------------------------- */

static int sq_alerts_insert(struct store_backend_db *db, const store_alert_in *alerts, size_t n,
                            int64_t *ret_ids) {
        sq_conn *c = &db->writer;
        sqlite3_stmt *st = NULL;
        int r = sq_stmt(c, SQ_ALERT_INSERT, &st);
        if (r < 0)
                return r;
        /* The hot path: one cached statement, two binds, no allocation. */
        for (size_t i = 0; i < n; i++) {
                int rc = sqlite3_bind_int64(st, 1, alerts[i].received_at_ms);
                if (rc == SQLITE_OK)
                        rc = sqlite3_bind_text64(st, 2, alerts[i].json, alerts[i].len, SQLITE_STATIC,
                                                 SQLITE_UTF8);
                if (rc == SQLITE_OK)
                        rc = sqlite3_bind_text(st, 3, alerts[i].type, -1, SQLITE_STATIC);
                if (rc == SQLITE_OK)
                        rc = alerts[i].submitted_by
                                     ? sqlite3_bind_text(st, 4, alerts[i].submitted_by, -1, SQLITE_STATIC)
                                     : sqlite3_bind_null(st, 4);
                if (rc == SQLITE_OK)
                        rc = sqlite3_step(st);
                sqlite3_reset(st);
                if (rc != SQLITE_DONE)
                        return sq_errno(rc);
                ret_ids[i] = sqlite3_last_insert_rowid(c->db);
        }
        return 0;
}

static int sq_alerts_claim(struct store_backend_db *db, size_t max, int64_t now_ms, int64_t lease_ms,
                           store_claimed *ret) {
        sq_conn *c = &db->writer;
        sqlite3_stmt *st = NULL;
        int r = sq_run(c, SQ_LEASE_EXPIRE, "i", now_ms - lease_ms);
        if (r >= 0)
                r = sq_prep(c, SQ_CLAIM, &st, "ii", now_ms, (int64_t)max);
        if (r < 0)
                return r;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
                const char *body = (const char *)sqlite3_column_text(st, 1);
                size_t len = (size_t)sqlite3_column_bytes(st, 1);
                char *copy = body ? malloc(len + 1) : NULL;
                if (!copy) {
                        rc = SQLITE_NOMEM;
                        break;
                }
                memcpy(copy, body, len);
                copy[len] = '\0';
                ret[n++] = (store_claimed){
                        .id = sqlite3_column_int64(st, 0),
                        .json = copy,
                        .len = len,
                        .received_at_ms = sqlite3_column_int64(st, 2),
                        .attempts = (unsigned)sqlite3_column_int64(st, 3),
                };
                const char *type = (const char *)sqlite3_column_text(st, 4);
                str_copy(ret[n - 1].type, sizeof(ret[n - 1].type), type ? type : "");
                const char *by = (const char *)sqlite3_column_text(st, 5);
                str_copy(ret[n - 1].submitted_by, sizeof(ret[n - 1].submitted_by), by ? by : "");
                ret[n - 1].counted = sqlite3_column_int64(st, 6) != 0;
                ret[n - 1].lease_stamp = now_ms;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                store_claimed_clear(ret, n);
                return rc == SQLITE_ROW ? -EBADMSG : sq_errno(rc);
        }
        return (int)n;
}

static int sq_alert_done(struct store_backend_db *db, int64_t alert_id, unsigned matched) {
        sq_conn *c = &db->writer;
        int r = sq_run(c, SQ_ALERT_DONE, "ii", alert_id, (int64_t)matched);
        if (r < 0)
                return r;
        if (sqlite3_changes(c->db) > 0)
                return 1;
        /* Done twice (a worker whose lease expired finished late) changes nothing. */
        sqlite3_stmt *st = NULL;
        r = sq_prep(c, SQ_ALERT_EXISTS, &st, "i", alert_id);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
}

static int sq_alerts_done(struct store_backend_db *db, const char *pairs_json, uint64_t *ret_done) {
        sq_conn *c = &db->writer;
        int r = sq_run(c, SQ_ALERTS_DONE, "t", pairs_json);
        if (r < 0)
                return r;
        *ret_done = (uint64_t)sqlite3_changes(c->db);
        return 0;
}

/* --- executions and actions ---------------------------------------------------- */

/* Walks the execution's actions in plan order. They must match the plan one for one
 * (an engine restarted with a changed playbook must not mix two plans): -ESTALE
 * otherwise. Fills ret (when non-NULL) as it goes. */
static int sq_actions_scan(sq_conn *c, int64_t exec_id, const store_action_plan *plans, size_t n,
                           store_action *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_ACTIONS_OF_EXEC, &st, "i", exec_id);
        if (r < 0)
                return r;
        size_t i = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *key = (const char *)sqlite3_column_text(st, 1);
                if (i >= n || !key || strcmp(key, plans[i].idempotency_key) != 0) {
                        r = -ESTALE;
                        break;
                }
                if (ret) {
                        ret[i].id = sqlite3_column_int64(st, 0);
                        memcpy(ret[i].idempotency_key, key, strlen(key) + 1);
                        r = action_state_parse((const char *)sqlite3_column_text(st, 2), &ret[i].state);
                        if (r < 0)
                                break;
                        ret[i].attempts = (unsigned)sqlite3_column_int64(st, 3);
                }
                i++;
        }
        sqlite3_reset(st);
        if (r < 0)
                return r;
        if (rc != SQLITE_DONE)
                return sq_errno(rc);
        return i == n ? 0 : -ESTALE;
}

static int sq_exec_begin(struct store_backend_db *db, int64_t alert_id, const char *playbook,
                         int64_t playbook_version, unsigned level, const store_action_plan *plans, size_t n,
                         int64_t now_ms, int64_t *ret_exec_id, store_action *ret_actions) {
        sq_conn *c = &db->writer;
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_EXEC_FIND, &st, "it", alert_id, playbook);
        if (r < 0)
                return r;
        int64_t exec_id = 0;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                exec_id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) {
                r = sq_run(c, SQ_EXEC_INSERT, "itiii", alert_id, playbook, playbook_version, (int64_t)level,
                           now_ms);
                if (r < 0)
                        return r;
                exec_id = sqlite3_last_insert_rowid(c->db);
                for (size_t i = 0; i < n && r >= 0; i++) {
                        const store_action_plan *p = &plans[i];
                        r = sq_run(c, SQ_ACTION_INSERT, "iitttttttttit", exec_id, (int64_t)i, p->step_id,
                                   p->integration, p->connector, p->verb, p->target_kind, p->targets_json,
                                   p->params_json, p->idempotency_key, action_state_name(p->initial_state),
                                   now_ms, p->detail);
                }
                if (r < 0)
                        return r;
        } else if (rc != SQLITE_ROW)
                return sq_errno(rc);

        /* Check first, fill after: ret_actions is written only on success. */
        r = sq_actions_scan(c, exec_id, plans, n, NULL);
        if (r >= 0 && n > 0)
                r = sq_actions_scan(c, exec_id, plans, n, ret_actions);
        if (r < 0)
                return r;
        *ret_exec_id = exec_id;
        return 0;
}

static int sq_action_state_get(struct store_backend_db *db, int64_t action_id, action_state *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(&db->writer, SQ_ACTION_STATE, &st, "i", action_id);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = action_state_parse((const char *)sqlite3_column_text(st, 0), ret);
        else
                r = rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
        sqlite3_reset(st);
        return r;
}

static int sq_action_set(struct store_backend_db *db, int64_t action_id, action_state state,
                         const char *detail, size_t detail_len, const char *result_json, int64_t now_ms) {
        int r = sq_run(&db->writer, SQ_ACTION_UPDATE, "itibti", action_id, action_state_name(state),
                       (int64_t)(state == ACTION_INTENT), detail, detail_len, result_json, now_ms);
        r = sq_changes_or_enoent(&db->writer, r);
        return r < 0 ? r : sq_effects_follow(&db->writer, action_id, state);
}

static int sq_action_result_keep(struct store_backend_db *db, int64_t action_id, const char *result_json,
                                 int64_t now_ms) {
        int r = sq_run(&db->writer, SQ_ACTION_RESULT_KEEP, "iti", action_id, result_json, now_ms);
        return sq_changes_or_enoent(&db->writer, r);
}

static int sq_exec_finish(struct store_backend_db *db, int64_t exec_id, exec_status status,
                          const char *summary, size_t summary_len, int64_t now_ms) {
        int r = sq_run(&db->writer, SQ_EXEC_FINISH, "itbi", exec_id, exec_status_name(status), summary,
                       summary_len, now_ms);
        return sq_changes_or_enoent(&db->writer, r);
}

static int sq_ping(struct store_backend_db *db, int64_t now_ms) {
        /* The ping's one row fits in the last free blocks of a disk that has no
         * room left for an alert: the space a request may need is checked too. */
        const char *path = sqlite3_db_filename(db->writer.db, "main");
        struct statvfs fs;
        if (path && path[0] && statvfs(path, &fs) == 0 &&
            (uint64_t)fs.f_bavail * fs.f_frsize < (uint64_t)BW_STORE_FREE_MIN)
                return -EDQUOT;
        return sq_run(&db->writer, SQ_PING, "i", now_ms);
}

/* --- reads --------------------------------------------------------------------- */

/* Takes a read connection and opens a read transaction, so the statements of one
 * read see one snapshot. */
int sq_read_begin(struct store_backend_db *db, sq_conn **ret) {
        pthread_mutex_lock(&db->readers_lock);
        unsigned i;
        for (;;) {
                for (i = 0; i < BW_STORE_READERS && db->reader_busy[i]; i++)
                        ;
                if (i < BW_STORE_READERS)
                        break;
                pthread_cond_wait(&db->readers_free, &db->readers_lock);
        }
        db->reader_busy[i] = true;
        pthread_mutex_unlock(&db->readers_lock);
        int r = sq_run(&db->readers[i], SQ_BEGIN_READ, "");
        if (r < 0) {
                pthread_mutex_lock(&db->readers_lock);
                db->reader_busy[i] = false;
                pthread_cond_signal(&db->readers_free);
                pthread_mutex_unlock(&db->readers_lock);
                return r;
        }
        *ret = &db->readers[i];
        return 0;
}

void sq_read_end(struct store_backend_db *db, sq_conn *c) {
        if (!sqlite3_get_autocommit(c->db))
                sq_run(c, SQ_COMMIT, "");
        pthread_mutex_lock(&db->readers_lock);
        db->reader_busy[c - db->readers] = false;
        pthread_cond_signal(&db->readers_free);
        pthread_mutex_unlock(&db->readers_lock);
}

const char *sq_text(sqlite3_stmt *st, int col) {
        return (const char *)sqlite3_column_text(st, col);
}

static int sq_exec_row_json(sqlite3_stmt *st, json_t **ret) {
        store_exec_row row = {
                .id = sqlite3_column_int64(st, 0),
                .alert_id = sqlite3_column_int64(st, 1),
                .playbook = sq_text(st, 2),
                .playbook_version = sqlite3_column_int64(st, 3),
                .level = (unsigned)sqlite3_column_int64(st, 4),
                .status = sq_text(st, 5),
                .summary = sq_text(st, 6),
                .created_at = sqlite3_column_int64(st, 7),
                .finished = sqlite3_column_type(st, 8) != SQLITE_NULL,
                .finished_at = sqlite3_column_int64(st, 8),
        };
        return store_exec_row_json(&row, ret);
}

int sq_action_row_json(sqlite3_stmt *st, json_t **ret) {
        store_action_row row = {
                .id = sqlite3_column_int64(st, 0),
                .step_id = sq_text(st, 1),
                .integration = sq_text(st, 2),
                .connector = sq_text(st, 3),
                .verb = sq_text(st, 4),
                .target_kind = sq_text(st, 5),
                .targets = sq_text(st, 6),
                .params = sq_text(st, 7),
                .state = sq_text(st, 8),
                .attempts = (unsigned)sqlite3_column_int64(st, 9),
                .detail = sq_text(st, 10),
                .result = sq_text(st, 11),
                .idempotency_key = sq_text(st, 12),
                .updated_at = sqlite3_column_int64(st, 13),
        };
        if (!row.targets || !row.params)
                return -EBADMSG;
        return store_action_row_json(&row, ret);
}

/* Steps a prepared statement and appends each row, turned into JSON, to arr. */
int sq_rows_append(sqlite3_stmt *st, sq_row_json_fn fn, json_t *arr) {
        int r = 0, rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_t *o;
                r = fn(st, &o);
                if (r >= 0 && json_array_append_new(arr, o) < 0)
                        r = -ENOMEM;
                if (r < 0)
                        break;
        }
        sqlite3_reset(st);
        if (r < 0)
                return r;
        return rc == SQLITE_DONE ? 0 : sq_errno(rc);
}

static int sq_id_json(sqlite3_stmt *st, json_t **ret) {
        json_t *v = json_integer(sqlite3_column_int64(st, 0));
        if (!v)
                return -ENOMEM;
        *ret = v;
        return 0;
}

/* Runs the single-row statement and turns its row into JSON: -ENOENT if none. */
int sq_row_json(sqlite3_stmt *st, sq_row_json_fn fn, json_t **ret) {
        int rc = sqlite3_step(st);
        int r = rc == SQLITE_ROW ? fn(st, ret) : rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
        sqlite3_reset(st);
        return r;
}

static int sq_alert_row_json(sqlite3_stmt *st, json_t **ret) {
        store_alert_row row = {
                .id = sqlite3_column_int64(st, 0),
                .state = sq_text(st, 1),
                .received_at = sqlite3_column_int64(st, 2),
                .attempts = (unsigned)sqlite3_column_int64(st, 3),
                .body = sq_text(st, 4),
                .body_len = (size_t)sqlite3_column_bytes(st, 4),
        };
        if (!row.body)
                return -EBADMSG;
        return store_alert_row_json(&row, ret);
}

static int sq_alert_get(struct store_backend_db *db, int64_t id, json_t **ret) {
        sq_conn *c;
        sqlite3_stmt *st = NULL;
        json_t *o = NULL;
        int r = sq_read_begin(db, &c);
        if (r < 0)
                return r;
        r = sq_prep(c, SQ_ALERT_GET, &st, "i", id);
        if (r >= 0)
                r = sq_row_json(st, sq_alert_row_json, &o);
        if (r >= 0)
                r = sq_prep(c, SQ_ALERT_EXECS, &st, "i", id);
        if (r >= 0)
                r = sq_rows_append(st, sq_id_json, json_object_get(o, "executions"));
        sq_read_end(db, c);
        if (r < 0) {
                json_decref(o);
                return r;
        }
        *ret = o;
        return 0;
}

int sq_rows_list(struct store_backend_db *db, sq_row_json_fn fn, json_t **ret, sq_stmt_id id,
                 const char *spec, ...) {
        json_t *arr = json_array();
        if (!arr)
                return -ENOMEM;
        sq_conn *c;
        int r = sq_read_begin(db, &c);
        if (r < 0) {
                json_decref(arr);
                return r;
        }
        sqlite3_stmt *st = NULL;
        r = sq_stmt(c, id, &st);
        if (r >= 0) {
                va_list ap;
                va_start(ap, spec);
                r = sq_vbind(st, spec, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sq_rows_append(st, fn, arr);
        else if (st)
                sqlite3_reset(st);
        sq_read_end(db, c);
        if (r < 0) {
                json_decref(arr);
                return r;
        }
        *ret = arr;
        return 0;
}

static int sq_exec_list(struct store_backend_db *db, int64_t before_id, unsigned limit, json_t **ret) {
        return sq_rows_list(db, sq_exec_row_json, ret, SQ_EXEC_LIST, "ii",
                            before_id > 0 ? before_id : INT64_MAX, (int64_t)limit);
}

int sq_row_with_actions(struct store_backend_db *db, sq_stmt_id head, int64_t id, sq_row_json_fn fn,
                        const char *exec_id_field, json_t **ret) {
        sq_conn *c;
        sqlite3_stmt *st = NULL;
        json_t *o = NULL, *actions = json_array();
        if (!actions)
                return -ENOMEM;
        int r = sq_read_begin(db, &c);
        if (r < 0) {
                json_decref(actions);
                return r;
        }
        r = sq_prep(c, head, &st, "i", id);
        if (r >= 0)
                r = sq_row_json(st, fn, &o);
        if (r >= 0)
                r = sq_prep(c, SQ_ACTIONS_GET, &st, "i",
                            exec_id_field ? (int64_t)json_integer_value(json_object_get(o, exec_id_field))
                                          : id);
        if (r >= 0)
                r = sq_rows_append(st, sq_action_row_json, actions);
        sq_read_end(db, c);
        if (r >= 0 && json_object_set_new(o, "actions", actions) < 0)
                r = -ENOMEM;
        else if (r < 0)
                json_decref(actions);
        if (r < 0) {
                json_decref(o);
                return r;
        }
        *ret = o;
        return 0;
}

static int sq_exec_get(struct store_backend_db *db, int64_t id, json_t **ret) {
        return sq_row_with_actions(db, SQ_EXEC_GET, id, sq_exec_row_json, NULL, ret);
}

static int sq_queue_stats(struct store_backend_db *db, store_queue_stats *ret) {
        sq_conn *c;
        store_queue_stats st;
        int r = sq_read_begin(db, &c);
        if (r < 0)
                return r;
        r = sq_queue_counts(c, &st);
        sq_read_end(db, c);
        if (r < 0)
                return r;
        *ret = st;
        return 0;
}

static int sq_recommendation_requeue(struct store_backend_db *db, int64_t action_id, const char *detail,
                                     int64_t now_ms, int64_t *ret_alert_id) {
        sq_conn *c = &db->writer;
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_REC_FIND, &st, "i", action_id);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        bool recommended = false, alert_done = false;
        int64_t exec_id = 0, alert_id = 0;
        if (rc == SQLITE_ROW) {
                const char *state = (const char *)sqlite3_column_text(st, 0);
                const char *alert_state = (const char *)sqlite3_column_text(st, 3);
                recommended = state && strcmp(state, "recommended") == 0;
                alert_done = alert_state && strcmp(alert_state, "done") == 0;
                exec_id = sqlite3_column_int64(st, 1);
                alert_id = sqlite3_column_int64(st, 2);
        }
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sq_errno(rc);
        if (!recommended)
                return -EALREADY;
        if (!alert_done)
                return -EBUSY;
        r = sq_run(c, SQ_REC_PLAN, "iti", action_id, detail, now_ms);
        if (r >= 0)
                r = sq_run(c, SQ_REC_EXEC, "i", exec_id);
        if (r >= 0)
                r = sq_run(c, SQ_REC_ALERT, "i", alert_id);
        if (r < 0)
                return r;
        *ret_alert_id = alert_id;
        return 0;
}

static int sq_claims_renew(struct store_backend_db *db, store_claimed *claims, size_t n, int64_t now_ms,
                           bool *lost) {
        for (size_t i = 0; i < n; i++) {
                int r = sq_run(&db->writer, SQ_CLAIM_RENEW, "iii", claims[i].id, now_ms,
                               claims[i].lease_stamp);
                if (r < 0)
                        return r;
                lost[i] = sqlite3_changes(db->writer.db) == 0;
        }
        return 0;
}

/* --- rate budgets and the circuit breaker -------------------------------------- */

/* Sliding windows (BW_RATE_SLICES): a charge is added to the row of its slice,
 * which starts at now - now % slice. */
static int64_t sq_slice_start(const store_budget *b, int64_t now_ms) {
        int64_t slice = b->window_ms / BW_RATE_SLICES;
        return now_ms - now_ms % slice;
}

/* The budget's use is the sum of every slice that overlaps the window
 * (now - window_ms, now]: the slices that start after this. Counting the
 * oldest slice whole errs on the strict side by at most one slice. */
static int64_t sq_budget_horizon(const store_budget *b, int64_t now_ms) {
        return now_ms - b->window_ms - b->window_ms / BW_RATE_SLICES;
}

static int sq_budget_used(sq_conn *c, const store_budget *b, int64_t now_ms, uint64_t *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_BUDGET_USED, &st, "tii", b->key, b->window_ms, sq_budget_horizon(b, now_ms));
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -EBADMSG : sq_errno(rc);
}

static int sq_budget_used_tx(struct store_backend_db *db, const store_budget *b, int64_t now_ms,
                             uint64_t *ret) {
        return sq_budget_used(&db->writer, b, now_ms, ret);
}

static int sq_budget_charge(struct store_backend_db *db, const store_budget *b, int64_t now_ms, uint64_t n) {
        return sq_run(&db->writer, SQ_BUDGET_CHARGE, "tiii", b->key, b->window_ms, sq_slice_start(b, now_ms),
                      (int64_t)n);
}

int sq_one_int(sq_conn *c, sq_stmt_id id, int64_t *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, id, &st, "");
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -EBADMSG : sq_errno(rc);
}

static int sq_breaker_is_open(struct store_backend_db *db, bool *ret) {
        int64_t open = 0;
        int r = sq_one_int(&db->writer, SQ_BREAKER_STATE, &open);
        if (r == 0)
                *ret = open != 0;
        return r;
}

static int sq_breaker_open(struct store_backend_db *db, const char *reason, int64_t now_ms) {
        int r = sq_run(&db->writer, SQ_BREAKER_OPEN, "ti", reason, now_ms);
        return r < 0 ? r : sqlite3_changes(db->writer.db) > 0;
}

static int sq_breaker_reset(struct store_backend_db *db, const char *actor, const char *reason,
                            int64_t now_ms) {
        int r = sq_run(&db->writer, SQ_BREAKER_RESET, "tti", actor, reason, now_ms);
        if (r < 0)
                return r;
        return sqlite3_changes(db->writer.db) > 0 ? 0 : -EALREADY;
}

json_t *sq_text_or_null(sqlite3_stmt *st, int col) {
        const char *t = (const char *)sqlite3_column_text(st, col);
        return t ? json_string(t) : json_null();
}

json_t *sq_int_or_null(sqlite3_stmt *st, int col) {
        return sqlite3_column_type(st, col) == SQLITE_NULL ? json_null()
                                                           : json_integer(sqlite3_column_int64(st, col));
}

static int sq_breaker_get(struct store_backend_db *db, json_t **ret) {
        sq_conn *c;
        int r = sq_read_begin(db, &c);
        if (r < 0)
                return r;
        sqlite3_stmt *st = NULL;
        r = sq_prep(c, SQ_BREAKER_GET, &st, "");
        int rc = r < 0 ? SQLITE_ERROR : sqlite3_step(st);
        json_t *o = NULL;
        if (rc == SQLITE_ROW)
                o = json_pack("{sb so so so so so}", "open", sqlite3_column_int64(st, 0) != 0, "reason",
                              sq_text_or_null(st, 1), "opened_at", sq_int_or_null(st, 2), "reset_by",
                              sq_text_or_null(st, 3), "reset_reason", sq_text_or_null(st, 4), "reset_at",
                              sq_int_or_null(st, 5));
        if (st)
                sqlite3_reset(st);
        sq_read_end(db, c);
        if (r < 0)
                return r;
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? -EBADMSG : sq_errno(rc);
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

static int sq_budget_used_now(struct store_backend_db *db, const store_budget *b, int64_t now_ms,
                              uint64_t *ret) {
        sq_conn *c;
        int r = sq_read_begin(db, &c);
        if (r < 0)
                return r;
        r = sq_budget_used(c, b, now_ms, ret);
        sq_read_end(db, c);
        return r;
}

const store_backend store_backend_sqlite = {
        .name = "sqlite",
        .schema_latest = SQ_SCHEMA_LATEST,
        .open = sq_open,
        .close = sq_close,
        .schema_version = sq_schema_version,
        .migrations_applied = sq_migrations_applied,
        .tx_begin = sq_tx_begin,
        .tx_commit = sq_tx_commit,
        .tx_rollback = sq_tx_rollback,
        .job_begin = sq_job_begin,
        .job_release = sq_job_release,
        .job_rollback = sq_job_rollback,
        .alerts_insert = sq_alerts_insert,
        .alerts_claim = sq_alerts_claim,
        .alert_done = sq_alert_done,
        .alerts_done = sq_alerts_done,
        .exec_begin = sq_exec_begin,
        .action_state_get = sq_action_state_get,
        .action_set = sq_action_set,
        .action_result_keep = sq_action_result_keep,
        .exec_finish = sq_exec_finish,
        .ping = sq_ping,
        .alert_get = sq_alert_get,
        .exec_list = sq_exec_list,
        .exec_get = sq_exec_get,
        .queue_stats = sq_queue_stats,
        .recommendation_requeue = sq_recommendation_requeue,
        .claims_renew = sq_claims_renew,
        .budget_used_tx = sq_budget_used_tx,
        .budget_charge = sq_budget_charge,
        .breaker_is_open = sq_breaker_is_open,
        .breaker_open = sq_breaker_open,
        .breaker_reset = sq_breaker_reset,
        .breaker_get = sq_breaker_get,
        .budget_used = sq_budget_used_now,
        .response = &store_backend_sqlite_response,
        .outbox = &store_backend_sqlite_outbox,
};
