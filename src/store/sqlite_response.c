/* SPDX-License-Identifier: Apache-2.0 */
/* The SQLite backend's part of the governor's response state: approvals and
 * post-action reviews, rollback and expiry of applied actions, the live effects
 * that fold duplicate work, and threshold windows. Runs in the daemon (core), on
 * the writer thread for writes; inputs were validated by store.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

#define SQ_APPROVAL_COLUMNS                                                                                 \
        "ap.id, ap.exec_id, e.alert_id, e.playbook, ap.state, ap.requested_by, ap.author, ap.reasons,"      \
        " ap.required, ap.approved_by, ap.decided_by, ap.decision_reason, ap.created_at, ap.expires_at,"    \
        " ap.decided_at, ap.review_state, ap.reviewed_by, ap.review_note, ap.reviewed_at"

const char *const sq_sql_response[_SQ_MAX] = {
        [SQ_APPROVAL_INSERT] =
                "INSERT INTO approvals (exec_id, state, requested_by, author, reasons, required,"
                " created_at, expires_at) VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7)"
                " ON CONFLICT (exec_id) DO NOTHING",
        [SQ_APPROVAL_OF_EXEC] = "SELECT id FROM approvals WHERE exec_id = ?1",
        [SQ_APPROVAL_GRANTED] = "SELECT 1 FROM approvals WHERE exec_id = ?1 AND state = 'approved'",
        [SQ_APPROVAL_FIND] = "SELECT ap.state, ap.requested_by, ap.author, ap.required, ap.approved_by,"
                             " e.id, e.alert_id, al.state FROM approvals ap JOIN executions e ON"
                             " e.id = ap.exec_id JOIN alerts al ON al.id = e.alert_id WHERE ap.id = ?1",
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

static int sq_approval_request(struct store_backend_db *db, const store_approval_request *q, int64_t now_ms,
                               int64_t *ret_id) {
        sq_conn *c = &db->writer;
        int r = sq_run(c, SQ_APPROVAL_INSERT, "itttiii", q->exec_id, q->requested_by, q->author,
                       q->reasons_json, (int64_t)q->required, now_ms, q->expires_at_ms);
        if (r < 0)
                return r;
        int created = sqlite3_changes(c->db) > 0;
        sqlite3_stmt *st = NULL;
        r = sq_prep(c, SQ_APPROVAL_OF_EXEC, &st, "i", q->exec_id);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret_id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? created : rc == SQLITE_DONE ? -EBADMSG : sq_errno(rc);
}

typedef struct sq_approval_row {
        bool pending, alert_idle;
        char requested_by[BW_NAME_MAX + 1], author[BW_NAME_MAX + 1];
        unsigned required;
        json_t *approved_by; /* array of actor names */
        int64_t exec_id, alert_id;
} sq_approval_row;

static int sq_approval_find(sq_conn *c, int64_t id, sq_approval_row *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(c, SQ_APPROVAL_FIND, &st, "i", id);
        if (r < 0)
                return r;
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                const char *state = sq_text(st, 0), *by = sq_text(st, 1), *author = sq_text(st, 2),
                           *approved = sq_text(st, 4), *alert_state = sq_text(st, 7);
                *ret = (sq_approval_row){
                        .pending = state && strcmp(state, "pending") == 0,
                        .alert_idle = alert_state && strcmp(alert_state, "done") == 0,
                        .required = (unsigned)sqlite3_column_int64(st, 3),
                        .exec_id = sqlite3_column_int64(st, 5),
                        .alert_id = sqlite3_column_int64(st, 6),
                };
                snprintf(ret->requested_by, sizeof(ret->requested_by), "%s", by ? by : "");
                snprintf(ret->author, sizeof(ret->author), "%s", author ? author : "");
                ret->approved_by = approved ? json_loads(approved, 0, NULL) : NULL;
                if (!json_is_array(ret->approved_by)) {
                        json_decref(ret->approved_by);
                        ret->approved_by = NULL;
                        r = -EBADMSG;
                }
        } else
                r = rc == SQLITE_DONE ? -ENOENT : sq_errno(rc);
        sqlite3_reset(st);
        return r;
}

static bool sq_json_has_string(const json_t *arr, const char *s) {
        size_t i;
        json_t *v;
        json_array_foreach(arr, i,
                           v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return true;
        return false;
}

/* Separation of duties: never the requester, the author, or the same approver twice. */
static bool sq_actor_may_approve(const sq_approval_row *row, const char *actor) {
        return strcmp(actor, row->requested_by) != 0 && strcmp(actor, row->author) != 0 &&
               !sq_json_has_string(row->approved_by, actor);
}

static int sq_approval_close(sq_conn *c, int64_t id, const sq_approval_row *row, const char *state,
                             const char *actor, const char *reason, int64_t now_ms) {
        char *approved = json_dumps(row->approved_by, JSON_COMPACT);
        if (!approved)
                return -ENOMEM;
        int r = sq_run(c, SQ_APPROVAL_DECIDE, "itttti", id, state, approved, actor, reason, now_ms);
        free(approved);
        return sq_changes_or_enoent(c, r);
}

static int sq_approval_decide(struct store_backend_db *db, int64_t id, const char *actor,
                              approval_decision d, const char *reason, int64_t now_ms,
                              int64_t *ret_requeued_alert) {
        sq_conn *c = &db->writer;
        sq_approval_row row;
        int r = sq_approval_find(c, id, &row);
        if (r < 0)
                return r;
        /* Room for the prefix, an actor name and a reason of BW_STORE_TEXT_MAX bytes. */
        char detail[BW_STORE_TEXT_MAX + 2 * BW_NAME_MAX];
        int64_t requeued = 0;
        /* The engine holds the alert: its view of the execution would overwrite
         * the decision when it finishes. */
        if (!row.pending)
                r = -EALREADY;
        else if (!row.alert_idle)
                r = -EBUSY;
        else if (d == APPROVAL_REJECT) {
                snprintf(detail, sizeof(detail), "approval %lld rejected by %s: %s", (long long)id, actor,
                         reason);
                r = sq_approval_close(c, id, &row, "rejected", actor, reason, now_ms);
                if (r >= 0)
                        r = sq_run(c, SQ_APPROVAL_ACTIONS_REJECT, "iti", row.exec_id, detail, now_ms);
                if (r >= 0)
                        r = sq_run(c, SQ_EXEC_FINISH, "itti", row.exec_id, "rejected", detail, now_ms);
        } else if (!sq_actor_may_approve(&row, actor))
                r = -EPERM;
        else if (json_array_append_new(row.approved_by, json_string(actor)) < 0)
                r = -ENOMEM;
        else if (json_array_size(row.approved_by) < row.required) {
                char *approved = json_dumps(row.approved_by, JSON_COMPACT);
                r = approved ? sq_run(c, SQ_APPROVAL_VOTE, "it", id, approved) : -ENOMEM;
                free(approved);
        } else {
                snprintf(detail, sizeof(detail), "approval %lld granted by %s: %s", (long long)id, actor,
                         reason);
                r = sq_approval_close(c, id, &row, "approved", actor, reason, now_ms);
                if (r >= 0)
                        r = sq_run(c, SQ_APPROVAL_ACTIONS_PLAN, "iti", row.exec_id, detail, now_ms);
                if (r >= 0)
                        r = sq_run(c, SQ_REC_EXEC, "i", row.exec_id);
                if (r >= 0)
                        r = sq_run(c, SQ_REC_ALERT, "i", row.alert_id);
                requeued = row.alert_id;
        }
        json_decref(row.approved_by);
        if (r < 0)
                return r;
        *ret_requeued_alert = requeued;
        return 0;
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

static int sq_approval_granted(struct store_backend_db *db, int64_t exec_id, bool *ret) {
        sqlite3_stmt *st = NULL;
        int r = sq_prep(&db->writer, SQ_APPROVAL_GRANTED, &st, "i", exec_id);
        return r < 0 ? r : sq_exists(st, ret);
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
        sq_approval_row row;
        r = sq_approval_find(c, id, &row);
        if (r < 0)
                return r;
        json_decref(row.approved_by);
        return -EALREADY;
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
                r = sq_run(&db->writer, SQ_BUDGET_PRUNE, "i", now_ms);
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
        .approval_decide = sq_approval_decide,
        .approvals_due = sq_approvals_due,
        .review_open = sq_review_open,
        .approval_granted = sq_approval_granted,
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
