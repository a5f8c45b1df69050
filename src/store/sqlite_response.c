/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite backend's part of the governor's response state: approvals and
 * post-action reviews, rollback and expiry of applied actions, the live effects
 * that fold duplicate work, and threshold windows. Runs in the daemon (core), on
 * the writer thread for writes; inputs were validated by store.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "util/strutil.h"

#define SQ_APPROVAL_COLUMNS                                                                                 \
        "ap.id, ap.exec_id, e.alert_id, e.playbook, ap.state, ap.requested_by, ap.author, ap.reasons,"      \
        " ap.required, ap.approved_by, ap.decided_by, ap.decision_reason, ap.created_at, ap.expires_at,"    \
        " ap.decided_at, ap.review_state, ap.reviewed_by, ap.review_note, ap.reviewed_at, ap.requesters"

/* What the decision path loads of one request (sq_approval_load). */
#define SQ_APPROVAL_RECORD                                                                                  \
        "SELECT ap.id, ap.state, ap.requesters, ap.author, ap.required, ap.approved_by, ap.expires_at,"     \
        " ap.decided_at, e.id, e.alert_id, al.state FROM approvals ap JOIN executions e ON"                 \
        " e.id = ap.exec_id JOIN alerts al ON al.id = e.alert_id"

const char *const sq_sql_response[_SQ_MAX] = {
        [SQ_APPROVAL_INSERT] =
                "INSERT INTO approvals (exec_id, state, requested_by, author, reasons, required,"
                " created_at, expires_at, requesters) VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                " ON CONFLICT (exec_id) DO NOTHING",
        [SQ_APPROVAL_OF_EXEC] = "SELECT id, state FROM approvals WHERE exec_id = ?1",
        /* A decided request asked again (its approval lapsed): pending anew. */
        [SQ_APPROVAL_RENEW] =
                "UPDATE approvals SET state = 'pending', requested_by = ?2, author = ?3,"
                " reasons = ?4, required = ?5, created_at = ?6, expires_at = ?7, requesters = ?8,"
                " approved_by = '[]', decided_by = NULL, decision_reason = NULL, decided_at = NULL"
                " WHERE id = ?1 AND state <> 'pending'",
        [SQ_APPROVAL_REQUESTERS] =
                "UPDATE approvals SET requesters = ?2 WHERE id = ?1 AND state = 'pending'",
        [SQ_APPROVAL_FIND] = SQ_APPROVAL_RECORD " WHERE ap.id = ?1",
        [SQ_APPROVAL_FIND_EXEC] = SQ_APPROVAL_RECORD " WHERE ap.exec_id = ?1",
        [SQ_EXEC_REQUESTERS] = "SELECT requesters FROM executions WHERE id = ?1",
        [SQ_EXEC_OF_ACTION] = "SELECT exec_id FROM actions WHERE id = ?1",
        [SQ_EXEC_REQUESTERS_SET] = "UPDATE executions SET requesters = ?2 WHERE id = ?1",
        [SQ_APPROVAL_VOTE] = "UPDATE approvals SET approved_by = ?2 WHERE id = ?1",
        [SQ_APPROVAL_DECIDE] = "UPDATE approvals SET state = ?2, approved_by = ?3, decided_by = ?4,"
                               " decision_reason = ?5, decided_at = ?6 WHERE id = ?1 AND state = 'pending'",
        [SQ_APPROVAL_ACTIONS_PLAN] = "UPDATE actions SET state = 'planned', detail = ?2, updated_at = ?3"
                                     " WHERE exec_id = ?1 AND state = 'awaiting_approval'",
        [SQ_APPROVAL_ACTIONS_REJECT] = "UPDATE actions SET state = 'rejected', detail = ?2, updated_at = ?3"
                                       " WHERE exec_id = ?1 AND state = 'awaiting_approval'",
        /* An approval whose alert the engine holds waits for the next round. */
        [SQ_APPROVALS_DUE] =
                "SELECT ap.id FROM approvals ap JOIN executions e ON e.id = ap.exec_id"
                " JOIN alerts al ON al.id = e.alert_id WHERE ap.state = 'pending'"
                " AND ap.expires_at <= ?1 AND al.state = 'done' ORDER BY ap.expires_at LIMIT ?2",
        [SQ_REVIEW_OPEN] = "UPDATE approvals SET review_state = 'pending' WHERE exec_id = ?1"
                           " AND state = 'approved' AND review_state IS NULL",
        [SQ_REVIEW_ACK] = "UPDATE approvals SET review_state = 'acknowledged', reviewed_by = ?2,"
                          " review_note = ?3, reviewed_at = ?4 WHERE id = ?1 AND review_state = 'pending'",
        [SQ_APPROVAL_LIST] = "SELECT " SQ_APPROVAL_COLUMNS " FROM approvals ap JOIN executions e ON"
                             " e.id = ap.exec_id WHERE ?1 IS NULL OR ap.state = ?1 ORDER BY ap.id DESC"
                             " LIMIT ?2",
        [SQ_APPROVAL_GET] = "SELECT " SQ_APPROVAL_COLUMNS " FROM approvals ap JOIN executions e ON"
                            " e.id = ap.exec_id WHERE ap.id = ?1",
        [SQ_ROLLBACK_EXEC] = "SELECT e.alert_id, al.state FROM executions e JOIN alerts al ON"
                             " al.id = e.alert_id WHERE e.id = ?1",
        /* Only actions that kept a snapshot can be restored. */
        [SQ_ROLLBACK_MARK] = "UPDATE actions SET state = 'rollback_requested', detail = ?2, updated_at = ?3"
                             " WHERE exec_id = ?1 AND state = 'applied'"
                             " AND json_extract(result, '$.snapshot') IS NOT NULL",
        [SQ_EXPIRED_DUE] =
                "SELECT a.id, e.id, e.alert_id FROM actions a JOIN executions e ON e.id = a.exec_id"
                " JOIN alerts al ON al.id = e.alert_id WHERE a.state = 'applied'"
                " AND a.expires_at IS NOT NULL AND a.expires_at <= ?1 AND al.state = 'done'"
                " ORDER BY a.expires_at LIMIT ?2",
        [SQ_ROLLBACK_MARK_ONE] = "UPDATE actions SET state = 'rollback_requested', detail = ?2,"
                                 " updated_at = ?3 WHERE id = ?1 AND state = 'applied'",
        [SQ_ACTION_RESULT] = "SELECT result FROM actions WHERE id = ?1",
        [SQ_ACTION_EXPIRES] = "UPDATE actions SET expires_at = ?2 WHERE id = ?1",
        [SQ_EFFECTS_ADD] = "INSERT INTO effects (integration, verb, target, action_id, expires_at)"
                           " SELECT a.integration, a.verb, t.value, a.id, NULL FROM actions a,"
                           " json_each(a.targets) t WHERE a.id = ?1"
                           " ON CONFLICT (integration, verb, target, action_id) DO NOTHING",
        /* Another verb applied to the same target of the same integration (an
         * unblock after a block) ends the effect the earlier one had. */
        [SQ_EFFECTS_SUPERSEDE] = "DELETE FROM effects WHERE (integration, target) IN (SELECT a.integration,"
                                 " t.value FROM actions a, json_each(a.targets) t WHERE a.id = ?1)"
                                 " AND verb <> (SELECT verb FROM actions WHERE id = ?1)",
        [SQ_EFFECTS_EXPIRE] = "UPDATE effects SET expires_at = ?2 WHERE action_id = ?1",
        [SQ_EFFECTS_DROP] = "DELETE FROM effects WHERE action_id = ?1",
        [SQ_EFFECTS_DROP_EXEC] = "DELETE FROM effects WHERE action_id IN (SELECT id FROM actions"
                                 " WHERE exec_id = ?1 AND state = 'rollback_requested')",
        /* Every live action holding the target counts (several may: a later
         * block that found the address blocked holds it too). ?5 excludes one. */
        [SQ_EFFECT_LIVE] = "SELECT action_id FROM effects WHERE integration = ?1 AND verb = ?2"
                           " AND target = ?3 AND action_id <> ?5 AND (expires_at IS NULL OR expires_at > ?4)"
                           " LIMIT 1",
        [SQ_EFFECTS_PRUNE] = "DELETE FROM effects WHERE expires_at <= ?1",
        /* One statement counts the alerts: a window that ended restarts with
         * them; a window never moves back (an older alert counts in the
         * current one). */
        [SQ_THRESHOLD_COUNT] = "INSERT INTO thresholds (playbook, key, window_start, count, fired)"
                               " VALUES (?1, ?2, ?3, ?5, 0) ON CONFLICT (playbook, key) DO UPDATE SET"
                               " fired = CASE WHEN ?3 - window_start >= ?4 THEN 0 ELSE fired END,"
                               " count = CASE WHEN ?3 - window_start >= ?4 THEN ?5 ELSE count + ?5 END,"
                               " window_start = CASE WHEN ?3 - window_start >= ?4 THEN ?3"
                               " ELSE window_start END RETURNING count, fired",
        [SQ_ALERTS_COUNTED] = "UPDATE alerts SET counted = 1 WHERE id IN (SELECT value FROM json_each(?1))",
        [SQ_THRESHOLD_FIRE] = "UPDATE thresholds SET fired = 1 WHERE playbook = ?1 AND key = ?2",
        [SQ_THRESHOLD_PRUNE] = "DELETE FROM thresholds WHERE window_start < ?1",
};

/* Threshold windows older than this are removed by the prune (no window is
 * longer: core/limits.h bounds them). */
#define SQ_THRESHOLD_KEEP_MS ((int64_t)BW_THRESHOLD_WINDOW_S_MAX * 1000)

/* --- approvals --------------------------------------------------------------- */

/* A JSON array of actor names into *ret: -EBADMSG for anything else (the store
 * is trusted less than the code), -ENOSPC beyond the limit. */
static int sq_actors_parse(const char *text, approval_actors *ret) {
        *ret = (approval_actors){0};
        json_t *arr = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
        int r = json_is_array(arr) ? 0 : -EBADMSG;
        size_t i;
        json_t *v;
        json_array_foreach(arr, i, v) {
                if (r == 0)
                        r = json_is_string(v) ? approval_actors_add(ret, json_string_value(v)) : -EBADMSG;
        }
        json_decref(arr);
        return r;
}

static char *sq_actors_dump(const approval_actors *a) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < a->n; i++)
                if (json_array_append_new(arr, json_string(a->names[i])) < 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        char *text = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
        json_decref(arr);
        return text;
}

static int sq_approval_request(struct store_backend_db *db, const store_approval_request *q, int64_t now_ms,
                               int64_t *ret_id) {
        sq_conn *c = &db->writer;
        char *requesters = sq_actors_dump(q->requesters);
        if (!requesters)
                return -ENOMEM;
        const char *first = q->requesters->n ? q->requesters->names[0] : NULL;
        const char *author = q->author && q->author[0] ? q->author : NULL;
        int r = sq_run(c, SQ_APPROVAL_INSERT, "itttiiit", q->exec_id, first, author, q->reasons_json,
                       (int64_t)q->required, now_ms, q->expires_at_ms, requesters);
        int created = r < 0 ? 0 : sqlite3_changes(c->db) > 0;
        sqlite3_stmt *st = NULL;
        if (r >= 0)
                r = sq_prep(c, SQ_APPROVAL_OF_EXEC, &st, "i", q->exec_id);
        int rc = r < 0 ? SQLITE_ERROR : sqlite3_step(st);
        int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        const char *state = rc == SQLITE_ROW ? sq_text(st, 1) : NULL;
        bool pending = state && strcmp(state, "pending") == 0;
        if (st)
                sqlite3_reset(st);
        if (r >= 0 && rc != SQLITE_ROW)
                r = rc == SQLITE_DONE ? -EBADMSG : sq_errno(rc);
        if (r >= 0 && !created && pending)
                r = sq_run(c, SQ_APPROVAL_REQUESTERS, "it", id, requesters);
        else if (r >= 0 && !created) {
                r = sq_run(c, SQ_APPROVAL_RENEW, "itttiiit", id, first, author, q->reasons_json,
                           (int64_t)q->required, now_ms, q->expires_at_ms, requesters);
                created = 1;
        }
        free(requesters);
        if (r < 0)
                return r;
        *ret_id = id;
        return created;
}

static int sq_approval_load(struct store_backend_db *db, int64_t id, int64_t exec_id,
                            store_approval_row *ret) {
        sqlite3_stmt *st = NULL;
        int r = id > 0 ? sq_prep(&db->writer, SQ_APPROVAL_FIND, &st, "i", id)
                       : sq_prep(&db->writer, SQ_APPROVAL_FIND_EXEC, &st, "i", exec_id);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                store_approval_row row = {
                        .id = sqlite3_column_int64(st, 0),
                        .exec_id = sqlite3_column_int64(st, 8),
                        .alert_id = sqlite3_column_int64(st, 9),
                };
                const char *alert_state = sq_text(st, 10), *author = sq_text(st, 3);
                row.alert_idle = alert_state && strcmp(alert_state, "done") == 0;
                approval_record *rec = &row.record;
                r = approval_state_parse(sq_text(st, 1), &rec->state) < 0 ? -EBADMSG : 0;
                if (r == 0)
                        r = sq_actors_parse(sq_text(st, 2), &rec->requesters);
                if (r == 0)
                        r = sq_actors_parse(sq_text(st, 5), &rec->approved_by);
                if (r == 0 && author && str_copy(rec->author, sizeof(rec->author), author) < 0)
                        r = -EBADMSG;
                rec->required = (unsigned)sqlite3_column_int64(st, 4);
                rec->expires_at_ms = sqlite3_column_int64(st, 6);
                rec->decided_at_ms = sqlite3_column_int64(st, 7);
                if (r == 0)
                        *ret = row;
        } else
                r = rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
        sqlite3_reset(st);
        return r;
}

static int sq_approval_vote(struct store_backend_db *db, const store_approval_row *row) {
        char *approved = sq_actors_dump(&row->record.approved_by);
        if (!approved)
                return -ENOMEM;
        int r = sq_run(&db->writer, SQ_APPROVAL_VOTE, "it", row->id, approved);
        free(approved);
        return r < 0 ? r : 0;
}

static int sq_approval_close(struct store_backend_db *db, const store_approval_row *row,
                             approval_state state, const char *actor, const char *reason, int64_t now_ms) {
        sq_conn *c = &db->writer;
        bool granted = state == APPROVAL_APPROVED;
        char *approved = sq_actors_dump(&row->record.approved_by);
        if (!approved)
                return -ENOMEM;
        int r = sq_run(c, SQ_APPROVAL_DECIDE, "itttti", row->id, approval_state_name(state), approved, actor,
                       reason, now_ms);
        free(approved);
        r = sq_changes_or_enoent(c, r);
        /* Room for the prefix, an actor name and a reason of BW_STORE_TEXT_MAX bytes. */
        char detail[BW_STORE_TEXT_MAX + 2 * BW_NAME_MAX];
        snprintf(detail, sizeof(detail), "approval %lld %s by %s: %s", (long long)row->id,
                 granted ? "granted" : "rejected", actor, reason);
        if (r >= 0)
                r = sq_run(c, granted ? SQ_APPROVAL_ACTIONS_PLAN : SQ_APPROVAL_ACTIONS_REJECT, "iti",
                           row->exec_id, detail, now_ms);
        if (r >= 0 && granted)
                r = sq_run(c, SQ_REC_EXEC, "i", row->exec_id);
        if (r >= 0 && granted)
                r = sq_run(c, SQ_REC_ALERT, "i", row->alert_id);
        if (r >= 0 && !granted)
                r = sq_run(c, SQ_EXEC_FINISH, "itti", row->exec_id, "rejected", detail, now_ms);
        return r < 0 ? r : 0;
}

static int sq_exec_requesters(struct store_backend_db *db, int64_t exec_id, approval_actors *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(&db->writer, SQ_EXEC_REQUESTERS, &st, "i", exec_id);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        approval_actors have;
        if (rc == SQLITE_ROW)
                r = sq_actors_parse(sq_text(st, 0), &have);
        else
                r = rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
        sqlite3_reset(st);
        for (size_t i = 0; r == 0 && i < have.n; i++)
                r = approval_actors_add(ret, have.names[i]);
        return r;
}

static int sq_exec_requester_add(struct store_backend_db *db, int64_t exec_id, int64_t action_id,
                                 const char *actor) {
        sq_conn *c = &db->writer;
        if (exec_id <= 0) {
                sqlite3_stmt *st = NULL;
                int r = sq_prep(c, SQ_EXEC_OF_ACTION, &st, "i", action_id);
                if (r < 0)
                        return r;
                int rc = sqlite3_step(st);
                exec_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
                sqlite3_reset(st);
                if (rc != SQLITE_ROW)
                        return rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
        }
        approval_actors have = {0};
        /* Full: refused rather than let an actor who caused a run approve it. */
        int r = sq_exec_requesters(db, exec_id, &have);
        if (r == 0)
                r = approval_actors_add(&have, actor);
        char *text = r == 0 ? sq_actors_dump(&have) : NULL;
        if (r == 0 && !text)
                r = -ENOMEM;
        if (r == 0)
                r = sq_run(c, SQ_EXEC_REQUESTERS_SET, "it", exec_id, text);
        free(text);
        return r < 0 ? r : 0;
}

static int sq_approvals_due(struct store_backend_db *db, int64_t now_ms, int64_t *ret_ids, size_t max) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(&db->writer, SQ_APPROVALS_DUE, &st, "ii", now_ms, (int64_t)max);
        if (r < 0)
                return r;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max)
                ret_ids[n++] = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return rc == SQLITE_DONE || rc == SQLITE_ROW ? (int)n : sq_errno(rc);
}

/* Steps a prepared query: *ret tells whether it has a row. */
static int sq_exists(sqlite3_stmt *st, bool *ret) {
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return sq_errno(rc);
        *ret = rc == SQLITE_ROW;
        return 0;
}

static int sq_review_open(struct store_backend_db *db, int64_t exec_id) {
        return sq_run(&db->writer, SQ_REVIEW_OPEN, "i", exec_id);
}

static int sq_review_ack(struct store_backend_db *db, int64_t id, const char *actor, const char *note,
                         int64_t now_ms) {
        sq_conn *c = &db->writer;
        int r = sq_run(c, SQ_REVIEW_ACK, "itti", id, actor, note, now_ms);
        if (r < 0)
                return r;
        if (sqlite3_changes(c->db) > 0)
                return 0;
        store_approval_row row;
        r = sq_approval_load(db, id, 0, &row);
        return r < 0 ? r : -EALREADY;
}

/* --- rollback and expiry ------------------------------------------------------- */

static int sq_exec_rollback(struct store_backend_db *db, int64_t exec_id, const char *detail, int64_t now_ms,
                            int64_t *ret_alert_id, unsigned *ret_n) {
        sq_conn *c = &db->writer;
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_ROLLBACK_EXEC, &st, "i", exec_id);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        int64_t alert_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        const char *alert_state = rc == SQLITE_ROW ? sq_text(st, 1) : NULL;
        bool idle = alert_state && strcmp(alert_state, "done") == 0;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
        if (!idle)
                return -EBUSY;
        r = sq_run(c, SQ_ROLLBACK_MARK, "iti", exec_id, detail, now_ms);
        if (r < 0)
                return r;
        int n = sqlite3_changes(c->db);
        if (n == 0)
                return -EALREADY;
        /* Being rolled back: its effect no longer holds for folding. */
        r = sq_run(c, SQ_EFFECTS_DROP_EXEC, "i", exec_id);
        if (r >= 0)
                r = sq_run(c, SQ_REC_EXEC, "i", exec_id);
        if (r >= 0)
                r = sq_run(c, SQ_REC_ALERT, "i", alert_id);
        if (r < 0)
                return r;
        *ret_alert_id = alert_id;
        *ret_n = (unsigned)n;
        return 0;
}

static int sq_expired_rollback(struct store_backend_db *db, int64_t now_ms, size_t max,
                               uint64_t *ret_requeued) {
        sq_conn *c = &db->writer;
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_EXPIRED_DUE, &st, "ii", now_ms, (int64_t)max);
        if (r < 0)
                return r;
        int64_t due[BW_EXPIRY_BATCH][3];
        size_t n = 0;
        int rc = SQLITE_DONE;
        while (n < max && n < BW_EXPIRY_BATCH && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                for (int k = 0; k < 3; k++)
                        due[n][k] = sqlite3_column_int64(st, k);
                n++;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return sq_errno(rc);
        uint64_t requeued = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = sq_run(c, SQ_ROLLBACK_MARK_ONE, "iti", due[i][0], "expired: reverting", now_ms);
                if (r >= 0)
                        r = sq_effects_follow(c, due[i][0], ACTION_ROLLBACK_REQUESTED);
                if (r >= 0)
                        r = sq_run(c, SQ_REC_EXEC, "i", due[i][1]);
                if (r >= 0)
                        r = sq_run(c, SQ_REC_ALERT, "i", due[i][2]);
                if (r >= 0)
                        requeued += (uint64_t)sqlite3_changes(c->db);
        }
        if (r < 0)
                return r;
        *ret_requeued = requeued;
        return (int)n;
}

static int sq_action_result(struct store_backend_db *db, int64_t action_id, char **ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(&db->writer, SQ_ACTION_RESULT, &st, "i", action_id);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        char *copy = NULL;
        if (rc == SQLITE_ROW && sq_text(st, 0) && !(copy = strdup(sq_text(st, 0))))
                r = -ENOMEM;
        else if (rc != SQLITE_ROW)
                r = rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
        sqlite3_reset(st);
        if (r < 0)
                return r;
        *ret = copy;
        return 0;
}

static int sq_action_expiry(struct store_backend_db *db, int64_t action_id, int64_t until_ms, bool revert) {
        sq_conn *c = &db->writer;
        int r = sq_run(c, SQ_EFFECTS_EXPIRE, "ii", action_id, until_ms);
        if (r >= 0 && revert)
                r = sq_changes_or_enoent(c, sq_run(c, SQ_ACTION_EXPIRES, "ii", action_id, until_ms));
        return r;
}

/* --- folding and thresholds ------------------------------------------------------ */

int sq_effects_follow(sq_conn *c, int64_t action_id, action_state state) {
        switch (state) {
        case ACTION_APPLIED: {
                int r = sq_run(c, SQ_EFFECTS_SUPERSEDE, "i", action_id);
                return r < 0 ? r : sq_run(c, SQ_EFFECTS_ADD, "i", action_id);
        }
        case ACTION_ROLLBACK_REQUESTED:
        case ACTION_ROLLED_BACK:
                return sq_run(c, SQ_EFFECTS_DROP, "i", action_id);
        default:
                return 0;
        }
}

/* The live action holding target, 0 if none. */
static int sq_effect_holder(sq_conn *c, const char *integration, const char *verb, const char *target,
                            int64_t now_ms, int64_t except, int64_t *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_EFFECT_LIVE, &st, "tttii", integration, verb, target, now_ms, except);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_errno(rc);
}

static int sq_effects_held(struct store_backend_db *db, const char *integration, const char *verb,
                           char *const *targets, size_t n, int64_t action_id, int64_t now_ms, bool *held,
                           int64_t *ret_by) {
        int64_t by = 0;
        for (size_t i = 0; i < n; i++) {
                int64_t holder;
                int r = sq_effect_holder(&db->writer, integration, verb, targets[i], now_ms, action_id,
                                         &holder);
                if (r < 0)
                        return r;
                held[i] = holder != 0;
                if (held[i])
                        by = holder;
        }
        *ret_by = by;
        return 0;
}

static int sq_effects_cover(struct store_backend_db *db, const char *integration, const char *verb,
                            char *const *targets, size_t n, int64_t now_ms, int64_t *ret_by) {
        int64_t by = 0;
        for (size_t i = 0; i < n; i++) {
                int r = sq_effect_holder(&db->writer, integration, verb, targets[i], now_ms, 0, &by);
                if (r < 0 || by == 0)
                        return r;
        }
        if (n == 0)
                return 0;
        *ret_by = by;
        return 1;
}

static int sq_threshold_add(struct store_backend_db *db, const char *playbook, const char *key,
                            unsigned threshold, int64_t window_ms, int64_t at_ms, unsigned n,
                            unsigned *ret_fires_at) {
        sq_conn *c = &db->writer;
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_THRESHOLD_COUNT, &st, "ttiii", playbook, key, at_ms, window_ms, (int64_t)n);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        int64_t count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        bool fired = rc == SQLITE_ROW && sqlite3_column_int64(st, 1) != 0;
        if (rc == SQLITE_ROW)
                rc = sqlite3_step(st); /* RETURNING: done only once stepped to the end */
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
                return sq_errno(rc);
        /* The count before these n alerts gives which of them reaches the threshold. */
        int64_t at = (int64_t)threshold - (count - (int64_t)n) - 1;
        if (fired || at < 0 || at >= (int64_t)n)
                return 0;
        r = sq_run(c, SQ_THRESHOLD_FIRE, "tt", playbook, key);
        if (r < 0)
                return r;
        *ret_fires_at = (unsigned)at;
        return 1;
}

static int sq_alerts_counted(struct store_backend_db *db, const char *ids_json) {
        return sq_run(&db->writer, SQ_ALERTS_COUNTED, "t", ids_json);
}

static int sq_exec_exists(struct store_backend_db *db, int64_t alert_id, const char *playbook, bool *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(&db->writer, SQ_EXEC_FIND, &st, "it", alert_id, playbook);
        return r < 0 ? r : sq_exists(st, ret);
}

static int sq_prune(struct store_backend_db *db, int64_t now_ms) {
        int r = sq_run(&db->writer, SQ_EFFECTS_PRUNE, "i", now_ms);
        if (r >= 0)
                r = sq_run(&db->writer, SQ_BUDGET_PRUNE, "ii", now_ms, (int64_t)BW_RATE_SLICES);
        return r < 0 ? r : sq_run(&db->writer, SQ_THRESHOLD_PRUNE, "i", now_ms - SQ_THRESHOLD_KEEP_MS);
}

/* --- reads ------------------------------------------------------------------------ */

static json_t *sq_json_column(sqlite3_stmt *st, int col) {
        const char *t = sq_text(st, col);
        json_t *v = t ? json_loads(t, 0, NULL) : NULL;
        return v ? v : json_null();
}

static int sq_approval_row_json(sqlite3_stmt *st, json_t **ret) {
        json_t *review = json_null();
        if (sqlite3_column_type(st, 15) != SQLITE_NULL)
                review = json_pack("{so so so so}", "state", sq_text_or_null(st, 15), "by",
                                   sq_text_or_null(st, 16), "note", sq_text_or_null(st, 17), "at",
                                   sq_int_or_null(st, 18));
        json_t *o = json_pack(
                "{sI sI sI so so so so so sI so so so sI sI so so}", "id",
                (json_int_t)sqlite3_column_int64(st, 0), "exec_id", (json_int_t)sqlite3_column_int64(st, 1),
                "alert_id", (json_int_t)sqlite3_column_int64(st, 2), "playbook", sq_text_or_null(st, 3),
                "state", sq_text_or_null(st, 4), "requested_by", sq_text_or_null(st, 5), "author",
                sq_text_or_null(st, 6), "reasons", sq_json_column(st, 7), "approvals_required",
                (json_int_t)sqlite3_column_int64(st, 8), "approved_by", sq_json_column(st, 9), "decided_by",
                sq_text_or_null(st, 10), "decision_reason", sq_text_or_null(st, 11), "created_at",
                (json_int_t)sqlite3_column_int64(st, 12), "expires_at",
                (json_int_t)sqlite3_column_int64(st, 13), "decided_at", sq_int_or_null(st, 14), "review",
                review ? review : json_null());
        if (o && json_object_set_new(o, "requesters", sq_json_column(st, 19)) < 0) {
                json_decref(o);
                o = NULL;
        }
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

static int sq_approval_list(struct store_backend_db *db, const char *state, unsigned limit, json_t **ret) {
        return sq_rows_list(db, sq_approval_row_json, ret, SQ_APPROVAL_LIST, "ti", state, (int64_t)limit);
}

static int sq_approval_get(struct store_backend_db *db, int64_t id, json_t **ret) {
        return sq_row_with_actions(db, SQ_APPROVAL_GET, id, sq_approval_row_json, "exec_id", ret);
}

const store_backend_response store_backend_sqlite_response = {
        .approval_request = sq_approval_request,
        .approval_load = sq_approval_load,
        .approval_vote = sq_approval_vote,
        .approval_close = sq_approval_close,
        .approvals_due = sq_approvals_due,
        .exec_requester_add = sq_exec_requester_add,
        .exec_requesters = sq_exec_requesters,
        .review_open = sq_review_open,
        .review_ack = sq_review_ack,
        .exec_rollback = sq_exec_rollback,
        .expired_rollback = sq_expired_rollback,
        .action_result = sq_action_result,
        .action_expiry = sq_action_expiry,
        .effects_held = sq_effects_held,
        .effects_cover = sq_effects_cover,
        .threshold_add = sq_threshold_add,
        .exec_exists = sq_exec_exists,
        .alerts_counted = sq_alerts_counted,
        .prune = sq_prune,
        .approval_list = sq_approval_list,
        .approval_get = sq_approval_get,
};
