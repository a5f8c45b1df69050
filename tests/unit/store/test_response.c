/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the store's response state on real SQLite files under /tmp:
 * approvals and reviews, rollback and expiry, folding, threshold windows and who
 * sent each alert; trusted test input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_internal.h"
#include "util/clock.h"

#define CAPACITY 8u
#define ACTIONS_MAX 3

/* A fixed instant for the tests that pass their own clock. */
#define T0 1700000000000LL

typedef struct fixture {
        char dir[64];
        char path[128];
        store *s;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof *f);
        assert_non_null(f);
        snprintf(f->dir, sizeof f->dir, "/tmp/bw-response-test-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/bulwark.db", f->dir);
        store_options o = {.path = f->path, .queue_capacity = CAPACITY};
        assert_int_equal(store_open(&o, &f->s), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        store_close(f->s);
        const char *suffixes[] = {"", "-wal", "-shm", "-journal", ".lock"};
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                char p[160];
                snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
                unlink(p);
        }
        assert_int_equal(rmdir(f->dir), 0);
        free(f);
        return 0;
}

static store *reopen_store(fixture *f) {
        store_close(f->s);
        f->s = NULL;
        store_options o = {.path = f->path, .queue_capacity = CAPACITY};
        assert_int_equal(store_open(&o, &f->s), 0);
        return f->s;
}

/* --- the queue ----------------------------------------------------------------------- */

static int64_t enqueue_by(store *s, const char *submitted_by) {
        static const char body[] = "{\"source\":\"suricata\",\"type\":\"ssh.bruteforce\"}";
        store_alert_in in = {.json = body,
                             .len = strlen(body),
                             .type = "ssh.bruteforce",
                             .received_at_ms = T0,
                             .submitted_by = submitted_by};
        int64_t id = 0;
        assert_int_equal(store_enqueue(s, &in, 1, &id), 0);
        assert_true(id > 0);
        return id;
}

/* Claims the one queued alert, which must be want. */
static void claim_expect(store *s, int64_t want) {
        store_claimed c[2];
        assert_int_equal(store_claim(s, 2, 0, c), 1);
        assert_int_equal(c[0].id, want);
        store_claimed_clear(c, 1);
}

static void assert_queue_empty(store *s) {
        store_claimed c[1];
        assert_int_equal(store_claim(s, 1, 0, c), 0);
        assert_int_equal(store_queue_free(s), CAPACITY);
}

typedef struct done_job {
        int64_t alert_id;
} done_job;

static int job_alert_done(store_tx *tx, void *userdata) {
        const done_job *d = userdata;
        return store_tx_alert_done(tx, d->alert_id, 1);
}

static void alert_done(store *s, int64_t alert_id) {
        done_job d = {.alert_id = alert_id};
        assert_int_equal(store_write(s, job_alert_done, &d), 0);
}

/* --- executions ---------------------------------------------------------------------- */

static const char targets_json[] = "[\"192.0.2.7\",\"198.51.100.2\"]";

/* One execution of a claimed alert, as the engine creates it. */
typedef struct exec_case {
        int64_t alert_id, exec_id;
        store_action actions[ACTIONS_MAX];
        char keys[ACTIONS_MAX][32];
        store_action_plan plans[ACTIONS_MAX];
        size_t n;
        /* When the execution waits for an approval. */
        store_approval_request req;
        approval_actors requesters;
        int64_t approval_id;
        int created; /* store_tx_approval_request's result */
} exec_case;

static int job_exec_begin(store_tx *tx, void *userdata) {
        exec_case *e = userdata;
        return store_tx_exec_begin(tx, e->alert_id, "ssh-block", 7, 4, e->plans, e->n, &e->exec_id,
                                   e->actions);
}

/* Enqueues and claims an alert, then creates its execution of n edge-fw block
 * actions in state initial; the alert stays claimed. */
static void exec_create(store *s, const char *tag, size_t n, action_state initial, exec_case *ret) {
        *ret = (exec_case){.n = n};
        ret->alert_id = enqueue_by(s, "siem");
        claim_expect(s, ret->alert_id);
        for (size_t i = 0; i < n; i++) {
                snprintf(ret->keys[i], sizeof ret->keys[i], "%s-%zu", tag, i);
                ret->plans[i] = (store_action_plan){
                        .step_id = "block",
                        .integration = "edge-fw",
                        .connector = "nft",
                        .verb = "block",
                        .target_kind = "ip",
                        .targets_json = targets_json,
                        .params_json = "{}",
                        .idempotency_key = ret->keys[i],
                        .initial_state = initial,
                };
        }
        assert_int_equal(store_write(s, job_exec_begin, ret), 0);
        assert_true(ret->exec_id > 0);
}

static int job_approval_request(store_tx *tx, void *userdata) {
        exec_case *e = userdata;
        int r = store_tx_exec_finish(tx, e->exec_id, EXEC_AWAITING_APPROVAL, "2 actions await approval");
        if (r >= 0)
                r = store_tx_approval_request(tx, &e->req, &e->approval_id);
        if (r < 0)
                return r;
        e->created = r;
        return 0;
}

static const char reasons_json[] = "[\"automation level 4\",\"category system_isolation\"]";

/* An execution of two actions awaiting an approval requested by "siem" for a
 * playbook written by "alice". The alert stays claimed unless done. */
static void approval_create(store *s, const char *tag, unsigned required, int64_t expires_at_ms, bool done,
                            exec_case *ret) {
        exec_create(s, tag, 2, ACTION_AWAITING_APPROVAL, ret);
        assert_int_equal(approval_actors_add(&ret->requesters, "siem"), 0);
        ret->req = (store_approval_request){
                .exec_id = ret->exec_id,
                .requesters = &ret->requesters,
                .author = "alice",
                .reasons_json = reasons_json,
                .required = required,
                /* Asked now, or just before an expiry in the past. */
                .requested_at_ms = expires_at_ms < clock_wall_ms() ? expires_at_ms - 1 : clock_wall_ms(),
                .expires_at_ms = expires_at_ms};
        assert_int_equal(store_write(s, job_approval_request, ret), 0);
        assert_int_equal(ret->created, 1);
        assert_true(ret->approval_id > 0);
        if (done)
                alert_done(s, ret->alert_id);
}

static int64_t in_an_hour(void) {
        return clock_wall_ms() + 3600 * 1000;
}

typedef struct set_job {
        int64_t action_id;
        action_state state;
        const char *result;
        int64_t until_ms; /* > 0: store_tx_action_expiry after the state */
        bool revert;
} set_job;

static int job_action_set(store_tx *tx, void *userdata) {
        const set_job *j = userdata;
        int r = store_tx_action_set(tx, j->action_id, j->state, NULL, j->result);
        if (r >= 0 && j->until_ms > 0)
                r = store_tx_action_expiry(tx, j->action_id, j->until_ms, j->revert);
        return r;
}

static void action_set(store *s, int64_t id, action_state st, const char *result) {
        set_job j = {.action_id = id, .state = st, .result = result};
        assert_int_equal(store_write(s, job_action_set, &j), 0);
}

/* INTENT then APPLIED, as the engine journals an action; until_ms > 0 sets its expiry. */
static void action_apply(store *s, int64_t id, const char *result, int64_t until_ms, bool revert) {
        action_set(s, id, ACTION_INTENT, NULL);
        set_job j = {.action_id = id,
                     .state = ACTION_APPLIED,
                     .result = result,
                     .until_ms = until_ms,
                     .revert = revert};
        assert_int_equal(store_write(s, job_action_set, &j), 0);
}

typedef struct expiry_job {
        int64_t action_id, until_ms;
        bool revert;
} expiry_job;

static int job_expiry(store_tx *tx, void *userdata) {
        const expiry_job *j = userdata;
        return store_tx_action_expiry(tx, j->action_id, j->until_ms, j->revert);
}

static void expiry_set(store *s, int64_t action_id, int64_t until_ms, bool revert) {
        expiry_job j = {.action_id = action_id, .until_ms = until_ms, .revert = revert};
        assert_int_equal(store_write(s, job_expiry, &j), 0);
}

/* --- reads --------------------------------------------------------------------------- */

static json_t *approval_read(store *s, int64_t id) {
        json_t *o = NULL;
        assert_int_equal(store_approval_get(s, id, &o), 0);
        return o;
}

static const char *str_of(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);
        if (!json_is_string(v))
                fail_msg("%s is not a string", key);
        return json_string_value(v);
}

static void assert_approval_state(store *s, int64_t id, const char *want) {
        json_t *o = approval_read(s, id);
        assert_string_equal(str_of(o, "state"), want);
        json_decref(o);
}

/* Asserts approved_by, written as compact JSON. */
static void assert_approved_by(const json_t *approval, const char *want) {
        char *got = json_dumps(json_object_get(approval, "approved_by"), JSON_COMPACT);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
}

static json_t *exec_read(store *s, int64_t id) {
        json_t *o = NULL;
        assert_int_equal(store_exec_get(s, id, &o), 0);
        return o;
}

static void assert_exec_status(store *s, int64_t exec_id, const char *want) {
        json_t *o = exec_read(s, exec_id);
        assert_string_equal(str_of(o, "status"), want);
        json_decref(o);
}

/* The state of action i of an execution; detail_has (may be NULL) must occur in its detail. */
static void assert_action(store *s, int64_t exec_id, size_t i, const char *want, const char *detail_has) {
        json_t *o = exec_read(s, exec_id);
        const json_t *a = json_array_get(json_object_get(o, "actions"), i);
        assert_non_null(a);
        assert_string_equal(str_of(a, "state"), want);
        if (detail_has && !strstr(str_of(a, "detail"), detail_has))
                fail_msg("detail \"%s\" does not name \"%s\"", str_of(a, "detail"), detail_has);
        json_decref(o);
}

/* --- approvals ----------------------------------------------------------------------- */

static void test_approval_request_is_created_once(void **state) {
        fixture *f = *state;
        store *s = f->s;
        int64_t expires = in_an_hour();
        exec_case e;
        approval_create(s, "once", 2, expires, true, &e);

        /* The engine asking again (the alert re-claimed after a crash) gets the same one. */
        exec_case again = e;
        again.req.required = 1;
        again.req.author = "mallory";
        again.approval_id = 0;
        assert_int_equal(store_write(s, job_approval_request, &again), 0);
        assert_int_equal(again.created, 0);
        assert_int_equal(again.approval_id, e.approval_id);

        json_t *o = approval_read(s, e.approval_id);
        assert_int_equal(json_integer_value(json_object_get(o, "id")), e.approval_id);
        assert_int_equal(json_integer_value(json_object_get(o, "exec_id")), e.exec_id);
        assert_int_equal(json_integer_value(json_object_get(o, "alert_id")), e.alert_id);
        assert_string_equal(str_of(o, "playbook"), "ssh-block");
        assert_string_equal(str_of(o, "state"), "pending");
        assert_string_equal(str_of(o, "requested_by"), "siem");
        assert_string_equal(str_of(o, "author"), "alice");
        char *reasons = json_dumps(json_object_get(o, "reasons"), JSON_COMPACT);
        assert_string_equal(reasons, reasons_json);
        free(reasons);
        assert_int_equal(json_integer_value(json_object_get(o, "approvals_required")), 2);
        assert_int_equal(json_integer_value(json_object_get(o, "expires_at")), expires);
        assert_true(json_integer_value(json_object_get(o, "created_at")) > 0);
        assert_approved_by(o, "[]");
        assert_true(json_is_null(json_object_get(o, "decided_by")));
        assert_true(json_is_null(json_object_get(o, "decided_at")));
        assert_true(json_is_null(json_object_get(o, "review")));
        const json_t *actions = json_object_get(o, "actions");
        assert_int_equal(json_array_size(actions), 2);
        assert_string_equal(str_of(json_array_get(actions, 1), "state"), "awaiting_approval");
        json_decref(o);

        json_t *list = NULL;
        assert_int_equal(store_approval_list(s, "pending", 10, &list), 0);
        assert_int_equal(json_array_size(list), 1);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), e.approval_id);
        json_decref(list);
        assert_int_equal(store_approval_list(s, "approved", 10, &list), 0);
        assert_int_equal(json_array_size(list), 0);
        json_decref(list);
        assert_int_equal(store_approval_get(s, e.approval_id + 100, &o), -ENOENT);

        /* Malformed requests change nothing. */
        exec_case bad = e;
        bad.req.required = 3;
        assert_int_equal(store_write(s, job_approval_request, &bad), -EINVAL);
        bad.req.required = 0;
        assert_int_equal(store_write(s, job_approval_request, &bad), -EINVAL);
        bad = e;
        bad.req.reasons_json = "{\"why\":\"level 4\"}";
        assert_int_equal(store_write(s, job_approval_request, &bad), -EINVAL);
        bad = e;
        snprintf(bad.requesters.names[0], sizeof(bad.requesters.names[0]), "not a name");
        bad.req.requesters = &bad.requesters;
        assert_int_equal(store_write(s, job_approval_request, &bad), -EINVAL);
        assert_exec_status(s, e.exec_id, "awaiting_approval");
}

/* Separation of duties: neither the requester nor the author, nor one approver twice. */
static void test_approval_separation_of_duties(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case e;
        approval_create(s, "sod", 2, in_an_hour(), true, &e);
        json_t *o = NULL;
        assert_int_equal(
                store_approval_decide(s, e.approval_id, "siem", APPROVAL_APPROVE, "looks right", &o),
                -EPERM);
        assert_int_equal(
                store_approval_decide(s, e.approval_id, "alice", APPROVAL_APPROVE, "my playbook", &o),
                -EPERM);
        assert_null(o);
        o = approval_read(s, e.approval_id);
        assert_string_equal(str_of(o, "state"), "pending");
        assert_approved_by(o, "[]");
        json_decref(o);

        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, "verified", &o),
                         0);
        assert_string_equal(str_of(o, "state"), "pending");
        json_decref(o);
        o = NULL;
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, "really", &o),
                         -EPERM);
        assert_null(o);

        /* Nothing moved: still one vote, actions waiting, alert idle, no slot held. */
        o = approval_read(s, e.approval_id);
        assert_string_equal(str_of(o, "state"), "pending");
        assert_approved_by(o, "[\"bob\"]");
        assert_true(json_is_null(json_object_get(o, "decided_by")));
        json_decref(o);
        assert_action(s, e.exec_id, 0, "awaiting_approval", NULL);
        assert_action(s, e.exec_id, 1, "awaiting_approval", NULL);
        assert_exec_status(s, e.exec_id, "awaiting_approval");
        assert_queue_empty(s);
}

static void test_approval_reject(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case e;
        approval_create(s, "rej", 1, in_an_hour(), true, &e);
        json_t *o = NULL;
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_REJECT,
                                               "the source is our scanner", &o),
                         0);
        assert_string_equal(str_of(o, "state"), "rejected");
        assert_string_equal(str_of(o, "decided_by"), "bob");
        assert_string_equal(str_of(o, "decision_reason"), "the source is our scanner");
        assert_true(json_integer_value(json_object_get(o, "decided_at")) > 0);
        json_decref(o);
        assert_action(s, e.exec_id, 0, "rejected", "bob");
        assert_action(s, e.exec_id, 1, "rejected", "the source is our scanner");
        assert_exec_status(s, e.exec_id, "rejected");
        /* A rejection does not requeue the alert, and gives its reserved slot back. */
        assert_queue_empty(s);

        o = NULL;
        assert_int_equal(store_approval_decide(s, e.approval_id, "carol", APPROVAL_APPROVE, "too late", &o),
                         -EALREADY);
        assert_int_equal(store_approval_decide(s, e.approval_id, "carol", APPROVAL_REJECT, "again", &o),
                         -EALREADY);
        assert_null(o);
        assert_approval_state(s, e.approval_id, "rejected");
        assert_action(s, e.exec_id, 0, "rejected", NULL);
        assert_queue_empty(s);
}

/* A rejection finishes the execution: while the engine holds its alert (another
 * execution of it was released), the engine's own finish would overwrite it. */
static void test_approval_reject_waits_for_an_idle_alert(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case e;
        approval_create(s, "rejbusy", 1, in_an_hour(), false, &e);
        json_t *o = NULL;
        int r = store_approval_decide(s, e.approval_id, "bob", APPROVAL_REJECT, "scanner", &o);
        json_decref(o); /* only set on success: freed before the assertion can end the test */
        assert_int_equal(r, -EBUSY);
        o = NULL;
        assert_approval_state(s, e.approval_id, "pending");
        assert_action(s, e.exec_id, 0, "awaiting_approval", NULL);
        assert_exec_status(s, e.exec_id, "awaiting_approval");
        alert_done(s, e.alert_id);
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_REJECT, "scanner", &o), 0);
        assert_string_equal(str_of(o, "state"), "rejected");
        json_decref(o);
}

static void test_approval_approve_requeues_the_alert(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case e;
        approval_create(s, "ok", 1, in_an_hour(), false, &e);
        json_t *o = NULL;

        /* Its alert is still being processed: not yet, and nothing changed. */
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, "verified", &o),
                         -EBUSY);
        assert_null(o);
        assert_approval_state(s, e.approval_id, "pending");
        assert_int_equal(store_queue_free(s), CAPACITY - 1); /* only the claimed alert */
        alert_done(s, e.alert_id);

        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, "verified", &o),
                         0);
        assert_string_equal(str_of(o, "state"), "approved");
        assert_string_equal(str_of(o, "decided_by"), "bob");
        assert_string_equal(str_of(o, "decision_reason"), "verified");
        assert_approved_by(o, "[\"bob\"]");
        const json_t *actions = json_object_get(o, "actions");
        assert_string_equal(str_of(json_array_get(actions, 0), "state"), "planned");
        json_decref(o);
        assert_action(s, e.exec_id, 0, "planned", "bob");
        assert_action(s, e.exec_id, 1, "planned", "bob");
        assert_exec_status(s, e.exec_id, "running");
        claim_expect(s, e.alert_id); /* back in the queue for the engine */

        o = NULL;
        assert_int_equal(store_approval_decide(s, e.approval_id, "carol", APPROVAL_APPROVE, "me too", &o),
                         -EALREADY);
        assert_null(o);
        alert_done(s, e.alert_id);
        assert_int_equal(
                store_approval_decide(s, e.approval_id, "carol", APPROVAL_REJECT, "changed mind", &o),
                -EALREADY);
        assert_action(s, e.exec_id, 0, "planned", NULL);
        assert_queue_empty(s);
}

static void test_approval_needs_two_approvers(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case e;
        approval_create(s, "two", 2, in_an_hour(), true, &e);
        json_t *o = NULL;
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, "verified", &o),
                         0);
        assert_string_equal(str_of(o, "state"), "pending");
        assert_approved_by(o, "[\"bob\"]");
        assert_true(json_is_null(json_object_get(o, "decided_by")));
        json_decref(o);
        assert_action(s, e.exec_id, 0, "awaiting_approval", NULL);
        assert_exec_status(s, e.exec_id, "awaiting_approval");
        assert_queue_empty(s); /* one vote runs nothing */

        assert_int_equal(store_approval_decide(s, e.approval_id, "carol", APPROVAL_APPROVE, "agreed", &o),
                         0);
        assert_string_equal(str_of(o, "state"), "approved");
        assert_approved_by(o, "[\"bob\",\"carol\"]");
        assert_string_equal(str_of(o, "decided_by"), "carol");
        json_decref(o);
        assert_action(s, e.exec_id, 1, "planned", "carol");
        claim_expect(s, e.alert_id);
}

static void test_approval_decide_validates(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case e;
        approval_create(s, "val", 1, in_an_hour(), true, &e);
        json_t *o = NULL;
        assert_int_equal(store_approval_decide(s, e.approval_id + 100, "bob", APPROVAL_APPROVE, "ok", &o),
                         -ENOENT);
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, "", &o), -EINVAL);
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, NULL, &o),
                         -EINVAL);
        assert_int_equal(store_approval_decide(s, e.approval_id, "", APPROVAL_APPROVE, "ok", &o), -EINVAL);
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob smith", APPROVAL_APPROVE, "ok", &o),
                         -EINVAL);
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", _APPROVAL_DECISION_MAX, "ok", &o),
                         -EINVAL);
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, "\xff\xfe", &o),
                         -EINVAL);
        /* A reason is kept whole or refused, never cut. */
        char *long_reason = malloc(BW_STORE_TEXT_MAX + 2);
        assert_non_null(long_reason);
        memset(long_reason, 'r', BW_STORE_TEXT_MAX + 1);
        long_reason[BW_STORE_TEXT_MAX + 1] = '\0';
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, long_reason, &o),
                         -EINVAL);
        free(long_reason);
        assert_null(o);
        assert_approval_state(s, e.approval_id, "pending");
        assert_queue_empty(s);
}

static void test_approvals_expire(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case due, later;
        approval_create(s, "due", 1, T0, true, &due);
        approval_create(s, "later", 1, in_an_hour(), true, &later);

        int64_t ids[4] = {0};
        assert_int_equal(store_approvals_expire(s, T0 - 1, ids, 4), 0);
        assert_approval_state(s, due.approval_id, "pending");
        assert_int_equal(store_approvals_expire(s, T0, ids, 4), 1);
        assert_int_equal(ids[0], due.approval_id);

        json_t *o = approval_read(s, due.approval_id);
        assert_string_equal(str_of(o, "state"), "rejected");
        assert_string_equal(str_of(o, "decided_by"), "bulwark");
        assert_true(strlen(str_of(o, "decision_reason")) > 0);
        json_decref(o);
        assert_action(s, due.exec_id, 0, "rejected", "bulwark");
        assert_exec_status(s, due.exec_id, "rejected");

        o = approval_read(s, later.approval_id);
        assert_string_equal(str_of(o, "state"), "pending");
        assert_true(json_is_null(json_object_get(o, "decided_by")));
        json_decref(o);
        assert_action(s, later.exec_id, 0, "awaiting_approval", NULL);
        assert_exec_status(s, later.exec_id, "awaiting_approval");

        /* Issue 7: past its expiry a request is refused (409 expired) whatever
         * the sweeper has done; here the sweeper never ran on "stale". */
        exec_case stale;
        approval_create(s, "stale", 1, clock_wall_ms() - 1, true, &stale);
        o = NULL;
        assert_int_equal(store_approval_decide(s, stale.approval_id, "bob", APPROVAL_APPROVE, "late", &o),
                         -ETIMEDOUT);
        assert_null(o);
        assert_approval_state(s, stale.approval_id, "pending");
        assert_action(s, stale.exec_id, 0, "awaiting_approval", NULL);
        assert_int_equal(store_approvals_expire(s, clock_wall_ms(), NULL, 0), 1);
        assert_approval_state(s, stale.approval_id, "rejected");

        /* Once expired it is no longer due. */
        assert_int_equal(store_approvals_expire(s, clock_wall_ms(), NULL, 0), 0);
        assert_int_equal(store_approvals_expire(s, T0, NULL, 4), -EINVAL);
        assert_queue_empty(s);
}

/* --- post-action reviews -------------------------------------------------------------- */

typedef struct review_job {
        int64_t exec_id;
} review_job;

static int job_review_open(store_tx *tx, void *userdata) {
        const review_job *j = userdata;
        return store_tx_review_open(tx, j->exec_id);
}

static void review_open(store *s, int64_t exec_id) {
        review_job j = {.exec_id = exec_id};
        assert_int_equal(store_write(s, job_review_open, &j), 0);
}

static void test_review_of_an_approved_execution(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case pending, e;
        approval_create(s, "pend", 1, in_an_hour(), true, &pending);
        approval_create(s, "rev", 1, in_an_hour(), true, &e);
        json_t *o = NULL;
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, "verified", &o),
                         0);
        json_decref(o);
        claim_expect(s, e.alert_id);
        action_apply(s, e.actions[0].id, NULL, 0, false);

        /* Only an approved execution gets a review. */
        review_open(s, pending.exec_id);
        o = approval_read(s, pending.approval_id);
        assert_true(json_is_null(json_object_get(o, "review")));
        json_decref(o);

        review_open(s, e.exec_id);
        alert_done(s, e.alert_id);
        o = approval_read(s, e.approval_id);
        const json_t *review = json_object_get(o, "review");
        assert_string_equal(str_of(review, "state"), "pending");
        assert_true(json_is_null(json_object_get(review, "by")));
        json_decref(o);
        json_t *list = NULL;
        assert_int_equal(store_approval_list(s, NULL, 10, &list), 0);
        assert_int_equal(json_array_size(list), 2);
        /* Newest first. */
        assert_string_equal(str_of(json_object_get(json_array_get(list, 0), "review"), "state"), "pending");
        json_decref(list);

        /* Opening it again does not reset it. */
        assert_int_equal(store_approval_review(s, e.approval_id, "dave", "block confirmed on the edge", &o),
                         0);
        review = json_object_get(o, "review");
        assert_string_equal(str_of(review, "state"), "acknowledged");
        assert_string_equal(str_of(review, "by"), "dave");
        assert_string_equal(str_of(review, "note"), "block confirmed on the edge");
        assert_true(json_integer_value(json_object_get(review, "at")) > 0);
        json_decref(o);
        review_open(s, e.exec_id);
        o = approval_read(s, e.approval_id);
        assert_string_equal(str_of(json_object_get(o, "review"), "state"), "acknowledged");
        json_decref(o);

        o = NULL;
        assert_int_equal(store_approval_review(s, e.approval_id, "erin", "second look", &o), -EALREADY);
        assert_int_equal(store_approval_review(s, pending.approval_id, "erin", "nothing to review", &o),
                         -EALREADY);
        assert_int_equal(store_approval_review(s, e.approval_id + 100, "erin", "none", &o), -ENOENT);
        assert_int_equal(store_approval_review(s, e.approval_id, "erin", "", &o), -EINVAL);
        assert_int_equal(store_approval_review(s, e.approval_id, "erin smith", "note", &o), -EINVAL);
        assert_null(o);
        o = approval_read(s, e.approval_id);
        assert_string_equal(str_of(json_object_get(o, "review"), "by"), "dave");
        json_decref(o);
}

/* --- rollback and expiry ---------------------------------------------------------------- */

static const char snapshot_result[] = "{\"snapshot\":{\"elements\":[]},\"applied\":2}";

typedef struct result_job {
        int64_t action_id;
        char *result;
} result_job;

static int job_action_result(store_tx *tx, void *userdata) {
        result_job *j = userdata;
        return store_tx_action_result(tx, j->action_id, &j->result);
}

static void test_rollback_of_an_execution(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case e;
        exec_create(s, "rb", 3, ACTION_PLANNED, &e);
        action_apply(s, e.actions[0].id, snapshot_result, 0, false);
        action_apply(s, e.actions[1].id, "{\"applied\":2}", 0, false); /* no snapshot kept */
        action_set(s, e.actions[2].id, ACTION_FAILED, NULL);

        /* The result the engine rolls back from. */
        result_job rj = {.action_id = e.actions[0].id};
        assert_int_equal(store_write(s, job_action_result, &rj), 0);
        assert_string_equal(rj.result, snapshot_result);
        free(rj.result);
        static char unset[] = "unset";
        rj = (result_job){.action_id = e.actions[2].id, .result = unset};
        assert_int_equal(store_write(s, job_action_result, &rj), 0);
        assert_null(rj.result);
        rj.action_id = e.actions[2].id + 100;
        assert_int_equal(store_write(s, job_action_result, &rj), -ENOENT);

        int64_t alert = 0;
        unsigned n = 0;
        assert_int_equal(store_exec_rollback(s, e.exec_id, "admin", "false positive", &alert, &n), -EBUSY);
        assert_action(s, e.exec_id, 0, "applied", NULL);
        alert_done(s, e.alert_id);
        assert_int_equal(store_exec_rollback(s, e.exec_id + 100, "admin", "no such", &alert, &n), -ENOENT);
        assert_int_equal(store_exec_rollback(s, e.exec_id, "admin", "", &alert, &n), -EINVAL);
        assert_int_equal(store_exec_rollback(s, e.exec_id, "", "why", &alert, &n), -EINVAL);
        assert_int_equal(alert, 0);
        assert_int_equal(store_queue_free(s), CAPACITY);

        assert_int_equal(store_exec_rollback(s, e.exec_id, "admin", "false positive", &alert, &n), 0);
        assert_int_equal(alert, e.alert_id);
        assert_int_equal(n, 1);
        assert_action(s, e.exec_id, 0, "rollback_requested", "admin");
        assert_action(s, e.exec_id, 0, "rollback_requested", "false positive");
        assert_action(s, e.exec_id, 1, "applied", NULL);
        assert_action(s, e.exec_id, 2, "failed", NULL);
        assert_exec_status(s, e.exec_id, "running");
        claim_expect(s, e.alert_id);

        /* What is left has no snapshot: nothing to roll back. */
        assert_int_equal(store_exec_rollback(s, e.exec_id, "admin", "again", &alert, &n), -EBUSY);
        alert_done(s, e.alert_id);
        alert = 0;
        n = 0;
        assert_int_equal(store_exec_rollback(s, e.exec_id, "admin", "again", &alert, &n), -EALREADY);
        assert_int_equal(alert, 0);
        assert_int_equal(n, 0);
        assert_action(s, e.exec_id, 1, "applied", NULL);
        assert_queue_empty(s);
}

static void test_expired_actions_are_rolled_back(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case e, kept, busy;
        exec_create(s, "exp", 2, ACTION_PLANNED, &e);
        action_apply(s, e.actions[0].id, snapshot_result, T0, true);
        /* Without revert, the connector expires it itself: the engine leaves it. */
        action_apply(s, e.actions[1].id, snapshot_result, T0, false);
        alert_done(s, e.alert_id);
        exec_create(s, "kept", 1, ACTION_PLANNED, &kept);
        action_apply(s, kept.actions[0].id, snapshot_result, T0 + 60000, true);
        alert_done(s, kept.alert_id);
        exec_create(s, "busy", 1, ACTION_PLANNED, &busy);
        action_apply(s, busy.actions[0].id, snapshot_result, T0, true); /* its alert stays claimed */

        assert_int_equal(store_expired_rollback(s, T0 - 1), 0);
        assert_action(s, e.exec_id, 0, "applied", NULL);
        assert_int_equal(store_queue_free(s), CAPACITY - 1);

        assert_int_equal(store_expired_rollback(s, T0), 1);
        assert_action(s, e.exec_id, 0, "rollback_requested", "expired");
        assert_action(s, e.exec_id, 1, "applied", NULL);
        assert_action(s, kept.exec_id, 0, "applied", NULL);
        assert_action(s, busy.exec_id, 0, "applied", NULL);
        assert_exec_status(s, e.exec_id, "running");
        claim_expect(s, e.alert_id);

        /* The busy one follows once its alert is idle. */
        alert_done(s, busy.alert_id);
        assert_int_equal(store_expired_rollback(s, T0), 1);
        assert_action(s, busy.exec_id, 0, "rollback_requested", NULL);
        claim_expect(s, busy.alert_id);
        alert_done(s, busy.alert_id);
        alert_done(s, e.alert_id);
        assert_int_equal(store_expired_rollback(s, T0), 0);
        assert_queue_empty(s);
}

/* --- folding ---------------------------------------------------------------------------- */

typedef struct cover_job {
        const char *integration, *verb;
        char *const *targets;
        size_t n;
        int64_t until; /* 0: any live effect */
        int64_t by;
        int result;
} cover_job;

static int job_cover(store_tx *tx, void *userdata) {
        cover_job *j = userdata;
        int r = store_tx_effects_cover(tx, j->integration, j->verb, j->targets, j->n, j->until, &j->by);
        if (r < 0)
                return r;
        j->result = r;
        return 0;
}

/* Whether edge-fw/verb covers targets; *ret_by is left alone when it does not. */
static int covered(store *s, const char *verb, char *const *targets, size_t n, int64_t *ret_by) {
        cover_job j = {.integration = "edge-fw", .verb = verb, .targets = targets, .n = n, .by = -1};
        assert_int_equal(store_write(s, job_cover, &j), 0);
        if (j.result == 0)
                assert_int_equal(j.by, -1);
        else
                *ret_by = j.by;
        return j.result;
}

static char *one_target[] = {"192.0.2.7"};
static char *both_targets[] = {"198.51.100.2", "192.0.2.7"};
static char *one_uncovered[] = {"192.0.2.7", "203.0.113.9"};

static void test_folding_follows_applied_actions(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case a, b, c;
        exec_create(s, "fa", 1, ACTION_PLANNED, &a);
        int64_t by = 0;
        assert_int_equal(covered(s, "block", one_target, 1, &by), 0); /* planned is not in effect */
        action_set(s, a.actions[0].id, ACTION_INTENT, NULL);
        assert_int_equal(covered(s, "block", one_target, 1, &by), 0);
        action_set(s, a.actions[0].id, ACTION_APPLIED, NULL);

        assert_int_equal(covered(s, "block", one_target, 1, &by), 1);
        assert_int_equal(by, a.actions[0].id);
        by = 0;
        assert_int_equal(covered(s, "block", both_targets, 2, &by), 1);
        assert_int_equal(by, a.actions[0].id);
        assert_int_equal(covered(s, "block", one_uncovered, 2, &by), 0);
        assert_int_equal(covered(s, "unblock", one_target, 1, &by), 0);
        assert_int_equal(covered(s, "block", NULL, 0, &by), 0);
        cover_job other = {.integration = "core-fw", .verb = "block", .targets = one_target, .n = 1};
        assert_int_equal(store_write(s, job_cover, &other), 0);
        assert_int_equal(other.result, 0);
        cover_job bad = {.integration = "edge fw", .verb = "block", .targets = one_target, .n = 1};
        assert_int_equal(store_write(s, job_cover, &bad), -EINVAL);
        alert_done(s, a.alert_id);

        /* A later action on the same targets holds them too: rolling back the first
         * leaves them covered by the second, rolling back the second ends it. */
        exec_create(s, "fb", 1, ACTION_PLANNED, &b);
        action_apply(s, b.actions[0].id, NULL, 0, false);
        assert_int_equal(covered(s, "block", one_target, 1, &by), 1);
        assert_true(by == a.actions[0].id || by == b.actions[0].id);
        action_set(s, a.actions[0].id, ACTION_ROLLED_BACK, NULL);
        assert_int_equal(covered(s, "block", both_targets, 2, &by), 1);
        assert_int_equal(by, b.actions[0].id);
        action_set(s, b.actions[0].id, ACTION_ROLLED_BACK, NULL);
        assert_int_equal(covered(s, "block", one_target, 1, &by), 0);
        alert_done(s, b.alert_id);

        /* An effect that ended no longer folds anything. */
        exec_create(s, "fc", 1, ACTION_PLANNED, &c);
        action_apply(s, c.actions[0].id, NULL, 0, false);
        assert_int_equal(covered(s, "block", both_targets, 2, &by), 1);
        assert_int_equal(by, c.actions[0].id);
        /* A permanent effect folds an action that wants to last any time. */
        cover_job forever = {.integration = "edge-fw",
                             .verb = "block",
                             .targets = one_target,
                             .n = 1,
                             .until = INT64_MAX};
        assert_int_equal(store_write(s, job_cover, &forever), 0);
        assert_int_equal(forever.result, 1);
        /* One that ends in an hour folds an action of ten minutes, not of a day. */
        expiry_set(s, c.actions[0].id, clock_wall_ms() + 3600000, false);
        cover_job shorter = {.integration = "edge-fw",
                             .verb = "block",
                             .targets = one_target,
                             .n = 1,
                             .until = clock_wall_ms() + 600000};
        assert_int_equal(store_write(s, job_cover, &shorter), 0);
        assert_int_equal(shorter.result, 1);
        cover_job longer = {.integration = "edge-fw",
                            .verb = "block",
                            .targets = one_target,
                            .n = 1,
                            .until = clock_wall_ms() + 86400000};
        assert_int_equal(store_write(s, job_cover, &longer), 0);
        assert_int_equal(longer.result, 0);
        assert_int_equal(store_write(s, job_cover, &forever), 0);
        assert_int_equal(forever.result, 0);
        expiry_set(s, c.actions[0].id, 1, false);
        assert_int_equal(covered(s, "block", one_target, 1, &by), 0);
        alert_done(s, c.alert_id);
}

/* An action an admin asked to roll back is on its way out: new work on its targets
 * must run, not be folded into an effect about to be removed. */
static void test_rollback_requested_action_no_longer_folds(void **state) {
        fixture *f = *state;
        store *s = f->s;
        exec_case e;
        exec_create(s, "frb", 1, ACTION_PLANNED, &e);
        action_apply(s, e.actions[0].id, snapshot_result, 0, false);
        alert_done(s, e.alert_id);
        int64_t by = 0, alert = 0;
        assert_int_equal(covered(s, "block", one_target, 1, &by), 1);
        unsigned n = 0;
        assert_int_equal(store_exec_rollback(s, e.exec_id, "admin", "false positive", &alert, &n), 0);
        assert_int_equal(n, 1);
        assert_action(s, e.exec_id, 0, "rollback_requested", NULL);
        assert_int_equal(covered(s, "block", one_target, 1, &by), 0);
}

/* --- thresholds ----------------------------------------------------------------------------- */

typedef struct threshold_job {
        const char *playbook, *key;
        unsigned threshold;
        int64_t window_ms, at_ms;
        int result;
} threshold_job;

static int job_threshold(store_tx *tx, void *userdata) {
        threshold_job *j = userdata;
        int r = store_tx_threshold_hit(tx, j->playbook, j->key, j->threshold, j->window_ms, j->at_ms);
        if (r < 0)
                return r;
        j->result = r;
        return 0;
}

static int hit(store *s, const char *key, int64_t at_ms) {
        threshold_job j = {
                .playbook = "ssh-block", .key = key, .threshold = 3, .window_ms = 60000, .at_ms = at_ms};
        assert_int_equal(store_write(s, job_threshold, &j), 0);
        return j.result;
}

static void test_threshold_windows(void **state) {
        fixture *f = *state;
        store *s = f->s;
        static const int want[] = {0, 0, 1, 0, 0};
        for (int i = 0; i < 5; i++)
                assert_int_equal(hit(s, "192.0.2.7", T0 + i), want[i]);
        assert_int_equal(hit(s, "192.0.2.7", T0 + 59999), 0); /* still the first window */
        /* The window is over: a new one opens and fires on its third alert. */
        for (int i = 0; i < 3; i++)
                assert_int_equal(hit(s, "192.0.2.7", T0 + 60000 + i), want[i]);
        /* Another key, or the same key of another playbook, counts alone. */
        assert_int_equal(hit(s, "198.51.100.2", T0 + 60001), 0);
        threshold_job other = {.playbook = "ssh-watch",
                               .key = "192.0.2.7",
                               .threshold = 1,
                               .window_ms = 60000,
                               .at_ms = T0 + 60003};
        assert_int_equal(store_write(s, job_threshold, &other), 0);
        assert_int_equal(other.result, 1);
        assert_int_equal(hit(s, "192.0.2.7", T0 + 60004), 0);

        /* Counts are durable. */
        assert_int_equal(hit(s, "203.0.113.9", T0), 0);
        assert_int_equal(hit(s, "203.0.113.9", T0 + 1), 0);
        s = reopen_store(f);
        assert_int_equal(hit(s, "203.0.113.9", T0 + 2), 1);
        assert_int_equal(hit(s, "198.51.100.2", T0 + 60002), 0);
        assert_int_equal(hit(s, "198.51.100.2", T0 + 60003), 1);

        threshold_job bad = {.playbook = "ssh-block", .key = "k", .threshold = 0, .window_ms = 60000};
        assert_int_equal(store_write(s, job_threshold, &bad), -EINVAL);
        bad.threshold = 3;
        bad.window_ms = 0;
        assert_int_equal(store_write(s, job_threshold, &bad), -EINVAL);
        bad.window_ms = 60000;
        bad.playbook = "ssh block";
        assert_int_equal(store_write(s, job_threshold, &bad), -EINVAL);
}

/* --- schema and the queue ------------------------------------------------------------------- */

static void test_response_state_survives_reopen(void **state) {
        fixture *f = *state;
        store *s = f->s;
        assert_int_equal(store_schema_version(s), store_schema_latest());
        exec_case e;
        approval_create(s, "mig", 2, in_an_hour(), true, &e);
        json_t *o = NULL;
        assert_int_equal(store_approval_decide(s, e.approval_id, "bob", APPROVAL_APPROVE, "verified", &o),
                         0);
        json_decref(o);

        s = reopen_store(f);
        assert_int_equal(store_schema_version(s), store_schema_latest());
        assert_int_equal(store_migrations_applied(s), 0);
        o = approval_read(s, e.approval_id);
        assert_string_equal(str_of(o, "state"), "pending");
        assert_approved_by(o, "[\"bob\"]");
        assert_string_equal(str_of(o, "author"), "alice");
        json_decref(o);
        /* The new states pass the rebuilt tables' CHECKs. */
        assert_int_equal(store_approval_decide(s, e.approval_id, "carol", APPROVAL_REJECT, "no", &o), 0);
        json_decref(o);
        assert_action(s, e.exec_id, 0, "rejected", "carol");
        assert_exec_status(s, e.exec_id, "rejected");
}

static void test_submitted_by(void **state) {
        fixture *f = *state;
        store *s = f->s;
        int64_t siem = enqueue_by(s, "siem.edge-1"), anon = enqueue_by(s, NULL);
        store_claimed c[3];
        assert_int_equal(store_claim(s, 3, 0, c), 2);
        assert_int_equal(c[0].id, siem);
        assert_string_equal(c[0].submitted_by, "siem.edge-1");
        assert_int_equal(c[1].id, anon);
        assert_string_equal(c[1].submitted_by, "");
        store_claimed_clear(c, 2);

        /* Kept with the alert: a claim after a restart still says who sent it. */
        s = reopen_store(f);
        assert_int_equal(store_claim(s, 3, 0, c), 2);
        assert_int_equal(c[0].id, siem);
        assert_int_equal(c[0].attempts, 2);
        assert_string_equal(c[0].submitted_by, "siem.edge-1");
        store_claimed_clear(c, 2);

        static const char body[] = "{\"type\":\"x\"}";
        store_alert_in in[2] = {
                {.json = body,
                 .len = strlen(body),
                 .type = "x",
                 .received_at_ms = T0,
                 .submitted_by = "siem"},
                {.json = body,
                 .len = strlen(body),
                 .type = "x",
                 .received_at_ms = T0,
                 .submitted_by = "bad name"},
        };
        int64_t ids[2] = {0};
        assert_int_equal(store_enqueue(s, in, 2, ids), -EINVAL);
        assert_int_equal(ids[0], 0);
        in[1].submitted_by = "";
        assert_int_equal(store_enqueue(s, &in[1], 1, ids), -EINVAL);
        assert_int_equal(store_queue_free(s), CAPACITY - 2); /* only the two claimed */
        assert_int_equal(store_claim(s, 3, 0, c), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_approval_request_is_created_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_approval_separation_of_duties, setup, teardown),
                cmocka_unit_test_setup_teardown(test_approval_reject, setup, teardown),
                cmocka_unit_test_setup_teardown(test_approval_reject_waits_for_an_idle_alert, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_approval_approve_requeues_the_alert, setup, teardown),
                cmocka_unit_test_setup_teardown(test_approval_needs_two_approvers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_approval_decide_validates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_approvals_expire, setup, teardown),
                cmocka_unit_test_setup_teardown(test_review_of_an_approved_execution, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollback_of_an_execution, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expired_actions_are_rolled_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_folding_follows_applied_actions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rollback_requested_action_no_longer_folds, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_threshold_windows, setup, teardown),
                cmocka_unit_test_setup_teardown(test_response_state_survives_reopen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_submitted_by, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
