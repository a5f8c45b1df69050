/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the store on real SQLite files under /tmp: migrations, the durable
 * queue, group commit, the action journal and the JSON reads; trusted test input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_internal.h"
#include "util/clock.h"
#include "util/strutil.h"

typedef struct fixture {
        char dir[64];
        char path[128];
        store *s;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof *f);
        assert_non_null(f);
        snprintf(f->dir, sizeof f->dir, "/tmp/bw-store-test-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/bulwark.db", f->dir);
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

static store *open_store(fixture *f, unsigned capacity) {
        store_options o = {.path = f->path, .queue_capacity = capacity};
        assert_int_equal(store_open(&o, &f->s), 0);
        return f->s;
}

static store *reopen_store(fixture *f, unsigned capacity) {
        store_close(f->s);
        f->s = NULL;
        return open_store(f, capacity);
}

static void alert_body(char *buf, size_t len, int n) {
        snprintf(buf, len, "{\"source\":\"suricata\",\"type\":\"ssh.bruteforce\",\"n\":%d}", n);
}

static int64_t enqueue_one(store *s, int n) {
        char body[128];
        alert_body(body, sizeof body, n);
        store_alert_in in = {.json = body,
                             .len = strlen(body),
                             .type = "ssh.bruteforce",
                             .received_at_ms = 1700000000000 + n};
        int64_t id = 0;
        assert_int_equal(store_enqueue(s, &in, 1, &id), 0);
        assert_true(id > 0);
        return id;
}

/* --- jobs used by the tests -------------------------------------------------------- */

#define PLANS_MAX 4

typedef struct exec_job {
        int64_t alert_id;
        const char *playbook;
        const store_action_plan *plans;
        size_t n;
        int64_t exec_id;
        store_action actions[PLANS_MAX];
} exec_job;

static int job_exec_begin(store_tx *tx, void *userdata) {
        exec_job *e = userdata;
        return store_tx_exec_begin(tx, e->alert_id, e->playbook, 7, 3, e->plans, e->n, &e->exec_id,
                                   e->actions);
}

typedef struct action_job {
        int64_t action_id;
        action_state state;
        const char *detail;
        const char *result;
} action_job;

static int job_action_set(store_tx *tx, void *userdata) {
        action_job *a = userdata;
        return store_tx_action_set(tx, a->action_id, a->state, a->detail, a->result);
}

static int action_set(store *s, int64_t id, action_state st, const char *detail, const char *result) {
        action_job a = {.action_id = id, .state = st, .detail = detail, .result = result};
        return store_write(s, job_action_set, &a);
}

typedef struct done_job {
        store *s;
        int64_t alert_id;
        int fail_with;      /* returned after alert_done when negative */
        size_t free_inside; /* store_queue_free() seen inside the transaction */
} done_job;

static int job_alert_done(store_tx *tx, void *userdata) {
        done_job *d = userdata;
        int r = store_tx_alert_done(tx, d->alert_id, 1);
        if (r < 0)
                return r;
        d->free_inside = store_queue_free(d->s);
        return d->fail_with;
}

static store_action_plan plan(const char *step, const char *key, action_state initial) {
        return (store_action_plan){
                .step_id = step,
                .integration = "edge-fw",
                .connector = "nft",
                .verb = "block",
                .target_kind = "ip",
                .targets_json = "[\"192.0.2.7\",\"198.51.100.2\"]",
                .params_json = "{\"timeout\":\"1h\"}",
                .idempotency_key = key,
                .initial_state = initial,
        };
}

static json_t *read_exec(store *s, int64_t id) {
        json_t *o = NULL;
        assert_int_equal(store_exec_get(s, id, &o), 0);
        return o;
}

/* --- migrations --------------------------------------------------------------------- */

/* Bytes 18 and 19 of a SQLite file are 1 in rollback-journal mode, 2 in WAL mode. */
static int file_format_version(const char *path) {
        unsigned char header[20];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, header, sizeof header), sizeof header);
        close(fd);
        assert_int_equal(header[18], header[19]);
        return header[18];
}

static void test_migrations_fresh_then_noop(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        assert_true(store_schema_latest() >= 1);
        assert_int_equal(store_schema_version(s), store_schema_latest());
        assert_int_equal(store_migrations_applied(s), (unsigned)store_schema_latest());
        int64_t id = enqueue_one(s, 1);

        s = reopen_store(f, 10);
        assert_int_equal(store_schema_version(s), store_schema_latest());
        assert_int_equal(store_migrations_applied(s), 0);
        json_t *a = NULL;
        assert_int_equal(store_alert_get(s, id, &a), 0);
        json_decref(a);

        /* The database and its WAL are private to the daemon's user. */
        struct stat st;
        char wal[160];
        snprintf(wal, sizeof wal, "%s-wal", f->path);
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(stat(wal, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(file_format_version(f->path), 2);
}

static void raw_exec(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static void test_refuses_newer_or_foreign_database(void **state) {
        fixture *f = *state;
        open_store(f, 10);
        store_close(f->s);
        f->s = NULL;
        /* A schema from a future release: the old code must not write to it. */
        raw_exec(f->path, "PRAGMA user_version = 1000");
        raw_exec(f->path, "PRAGMA journal_mode = DELETE");
        store_options o = {.path = f->path, .queue_capacity = 10};
        store *s = NULL;
        assert_int_equal(store_open(&o, &s), -EPROTO);
        assert_null(s);
        assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 1000);
        assert_int_equal(file_format_version(f->path), 1);
        unlink(f->path);

        /* Another application's database is left exactly as it was. */
        raw_exec(f->path, "CREATE TABLE contacts (name TEXT)");
        assert_int_equal(store_open(&o, &s), -EPROTO);
        assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema"), 1);
        assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 0);
        assert_int_equal(file_format_version(f->path), 1);
}

static void test_open_rejects_bad_options(void **state) {
        fixture *f = *state;
        store *s = NULL;
        store_options zero = {.path = f->path, .queue_capacity = 0};
        store_options nopath = {.path = NULL, .queue_capacity = 10};
        char missing[160];
        snprintf(missing, sizeof missing, "%s/no/such/dir/db", f->dir);
        store_options nodir = {.path = missing, .queue_capacity = 10};
        assert_int_equal(store_open(&zero, &s), -EINVAL);
        assert_int_equal(store_open(&nopath, &s), -EINVAL);
        assert_int_equal(store_open(&nodir, &s), -ENOENT);
        assert_null(s);

        /* Not a database at all: refused, and its bytes are left alone. */
        int fd = open(f->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        static const char junk[] = "not a database, just some text that is long enough to have a header";
        assert_int_equal(write(fd, junk, sizeof junk), sizeof junk);
        close(fd);
        store_options junkfile = {.path = f->path, .queue_capacity = 10};
        assert_int_equal(store_open(&junkfile, &s), -EBADMSG);
        char back[sizeof junk];
        fd = open(f->path, O_RDONLY | O_CLOEXEC);
        assert_int_equal(read(fd, back, sizeof back), sizeof junk);
        close(fd);
        assert_memory_equal(back, junk, sizeof junk);
}

/* --- the durable queue -------------------------------------------------------------- */

static void test_enqueue_survives_reopen(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 100);
        char bodies[3][128];
        store_alert_in in[3];
        for (int i = 0; i < 3; i++) {
                alert_body(bodies[i], sizeof bodies[i], i);
                in[i] = (store_alert_in){.json = bodies[i],
                                         .len = strlen(bodies[i]),
                                         .type = "ssh.bruteforce",
                                         .received_at_ms = 1000 + i};
        }
        int64_t ids[3];
        assert_int_equal(store_enqueue(s, in, 3, ids), 0);
        assert_true(ids[0] < ids[1] && ids[1] < ids[2]);

        s = reopen_store(f, 100);
        assert_int_equal(store_queue_free(s), 97);
        store_claimed c[8];
        assert_int_equal(store_claim(s, 8, 0, c), 3);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(c[i].id, ids[i]);
                assert_int_equal(c[i].len, strlen(bodies[i]));
                assert_string_equal(c[i].json, bodies[i]);
                assert_int_equal(c[i].received_at_ms, 1000 + i);
                assert_int_equal(c[i].attempts, 1);
        }
        store_claimed_clear(c, 3);
        assert_null(c[0].json);
}

static void test_claim_oldest_first(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 100);
        int64_t ids[5];
        for (int i = 0; i < 5; i++)
                ids[i] = enqueue_one(s, i);
        store_claimed c[10];
        assert_int_equal(store_claim(s, 2, 0, c), 2);
        assert_int_equal(c[0].id, ids[0]);
        assert_int_equal(c[1].id, ids[1]);
        assert_string_equal(c[0].type, "ssh.bruteforce"); /* the type comes back with the claim */
        store_claimed_clear(c, 2);

        /* An alert without a type, or with one over its limit, is refused whole. */
        char body[] = "{}", longtype[BW_ALERT_NAME_MAX + 2];
        memset(longtype, 'a', sizeof longtype - 1);
        longtype[sizeof longtype - 1] = '\0';
        store_alert_in bad[2] = {{.json = body, .len = 2}, {.json = body, .len = 2, .type = longtype}};
        int64_t id;
        assert_int_equal(store_enqueue(s, &bad[0], 1, &id), -EINVAL);
        assert_int_equal(store_enqueue(s, &bad[1], 1, &id), -EINVAL);
        assert_int_equal(store_claim(s, 10, 0, c), 3);
        for (int i = 0; i < 3; i++)
                assert_int_equal(c[i].id, ids[2 + i]);
        store_claimed_clear(c, 3);
        assert_int_equal(store_claim(s, 10, 0, c), 0);

        store_queue_stats st;
        assert_int_equal(store_queue_stats_get(s, &st), 0);
        assert_int_equal(st.queued, 0);
        assert_int_equal(st.in_flight, 5);
        assert_int_equal(st.oldest_queued_ms, 0);
}

static bool enospc_cb_called;

static void enospc_cb(void *userdata, int r, const int64_t *ids, size_t n) {
        enospc_cb_called = true;
}

static void test_capacity_reserved_and_released_on_commit(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 3);
        int64_t a = enqueue_one(s, 1);
        enqueue_one(s, 2);
        assert_int_equal(store_queue_free(s), 1);

        char b1[128], b2[128];
        alert_body(b1, sizeof b1, 3);
        alert_body(b2, sizeof b2, 4);
        store_alert_in two[2] = {{.json = b1, .len = strlen(b1), .type = "t"},
                                 {.json = b2, .len = strlen(b2), .type = "t"}};
        int64_t ids[2];
        assert_int_equal(store_enqueue(s, two, 2, ids), -ENOSPC);
        assert_int_equal(store_enqueue_async(s, two, 2, enospc_cb, NULL), -ENOSPC);
        store_close(f->s);
        f->s = NULL;
        assert_false(enospc_cb_called);
        /* Nothing was written: the two alerts are all there is, even after a reopen. */
        s = open_store(f, 3);
        store_queue_stats st;
        assert_int_equal(store_queue_stats_get(s, &st), 0);
        assert_int_equal(st.queued, 2);
        assert_int_equal(st.oldest_queued_ms, 1700000000001);
        assert_int_equal(store_queue_free(s), 1);

        store_claimed c[2];
        assert_int_equal(store_claim(s, 1, 0, c), 1);
        assert_int_equal(c[0].id, a);
        store_claimed_clear(c, 1);

        /* Rolled back: the slot stays taken and the alert stays claimed. */
        done_job d = {.s = s, .alert_id = a, .fail_with = -ECANCELED};
        assert_int_equal(store_write(s, job_alert_done, &d), -ECANCELED);
        assert_int_equal(d.free_inside, 1);
        assert_int_equal(store_queue_free(s), 1);
        json_t *o = NULL;
        assert_int_equal(store_alert_get(s, a, &o), 0);
        assert_string_equal(json_string_value(json_object_get(o, "state")), "claimed");
        json_decref(o);

        /* Committed: the slot is free only after the commit, not inside the job. */
        d = (done_job){.s = s, .alert_id = a};
        assert_int_equal(store_write(s, job_alert_done, &d), 0);
        assert_int_equal(d.free_inside, 1);
        assert_int_equal(store_queue_free(s), 2);
        assert_int_equal(store_alert_get(s, a, &o), 0);
        assert_string_equal(json_string_value(json_object_get(o, "state")), "done");
        json_decref(o);

        /* Done twice frees nothing more; an unknown alert is an error. */
        d = (done_job){.s = s, .alert_id = a};
        assert_int_equal(store_write(s, job_alert_done, &d), 0);
        assert_int_equal(store_queue_free(s), 2);
        d = (done_job){.s = s, .alert_id = 999999};
        assert_int_equal(store_write(s, job_alert_done, &d), -ENOENT);

        assert_int_equal(store_enqueue(s, two, 2, ids), 0);
        assert_int_equal(store_queue_free(s), 0);
        assert_int_equal(store_enqueue(s, two, 1, ids), -ENOSPC);
}

static void test_claims_requeued_at_reopen(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t a = enqueue_one(s, 1);
        int64_t b = enqueue_one(s, 2);
        store_claimed c[4];
        assert_int_equal(store_claim(s, 1, 0, c), 1);
        assert_int_equal(c[0].id, a);
        assert_int_equal(c[0].attempts, 1);
        store_claimed_clear(c, 1);

        s = reopen_store(f, 10);
        store_queue_stats st;
        assert_int_equal(store_queue_stats_get(s, &st), 0);
        assert_int_equal(st.queued, 2);
        assert_int_equal(st.in_flight, 0);
        assert_int_equal(store_queue_free(s), 8);
        assert_int_equal(store_claim(s, 4, 0, c), 2);
        assert_int_equal(c[0].id, a);
        assert_int_equal(c[0].attempts, 2);
        assert_int_equal(c[1].id, b);
        assert_int_equal(c[1].attempts, 1);
        store_claimed_clear(c, 2);
}

static void test_expired_lease_is_claimable_again(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t a = enqueue_one(s, 1);
        store_claimed c[2];
        assert_int_equal(store_claim(s, 2, 0, c), 1);
        store_claimed_clear(c, 1);
        assert_int_equal(store_claim(s, 2, 0, c), 0);

        store_set_lease_ms(s, 0);
        assert_int_equal(store_claim(s, 2, 0, c), 1);
        assert_int_equal(c[0].id, a);
        assert_int_equal(c[0].attempts, 2);
        store_claimed_clear(c, 1);
        /* Still one alert in the queue's accounting. */
        assert_int_equal(store_queue_free(s), 9);
}

/* Claims the one queued alert and returns what its holder keeps of the claim
 * (its id and lease stamp), the body freed. */
static store_claimed claim_held(store *s) {
        store_claimed c[2];
        assert_int_equal(store_claim(s, 2, 0, c), 1);
        store_claimed held = {.id = c[0].id, .lease_stamp = c[0].lease_stamp};
        store_claimed_clear(c, 1);
        return held;
}

/* A renewed claim is not handed to another worker; a stale one is. */
static void test_renewed_claim_is_kept(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t a = enqueue_one(s, 1);
        store_claimed c[2];
        store_claimed held = claim_held(s);
        store_set_lease_ms(s, 1000);
        usleep(700 * 1000);
        bool lost = true;
        assert_int_equal(store_claims_renew(s, &held, 1, &lost), 0);
        assert_false(lost);
        usleep(700 * 1000); /* 1.4 s after the claim, 0.7 s after the renewal */
        assert_int_equal(store_claim(s, 2, 0, c), 0);
        usleep(500 * 1000); /* 1.2 s after the renewal */
        assert_int_equal(store_claim(s, 2, 0, c), 1);
        assert_int_equal(c[0].id, a);
        store_claimed_clear(c, 1);
}

/* The wall clock as the store reads it, shifted by a test: a jump. Interposes
 * libc's clock_gettime for this binary; the real clock is the system call. */
static int64_t wall_shift_s;

int clock_gettime(clockid_t id, struct timespec *ts) {
        int r = (int)syscall(SYS_clock_gettime, id, ts);
        if (r == 0 && id == CLOCK_REALTIME)
                ts->tv_sec += wall_shift_s;
        return r;
}

/* Issue 7: a jump of the wall clock (two days ahead, or back) never hands a
 * live claim to a second worker. */
static void test_a_wall_clock_jump_never_expires_a_live_claim(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        enqueue_one(s, 1);
        store_claimed c[2];
        store_claimed held = claim_held(s);
        for (int64_t shift = -2 * 86400; shift <= 2 * 86400; shift += 86400) {
                wall_shift_s = shift;
                assert_int_equal(store_claim(s, 2, 0, c), 0);
        }
        wall_shift_s = 0;
        bool lost = true;
        assert_int_equal(store_claims_renew(s, &held, 1, &lost), 0);
        assert_false(lost);
}

/* A claim that expired and was taken by another worker is fenced: its first
 * holder's renewal reports it lost, the new holder's succeeds. */
static void test_a_lost_claim_is_fenced(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        enqueue_one(s, 1);
        store_claimed first = claim_held(s);
        store_set_lease_ms(s, 0);
        usleep(2000); /* another stamp */
        store_claimed second = claim_held(s);
        store_set_lease_ms(s, (int64_t)BW_CLAIM_LEASE_S * 1000);
        bool lost = false;
        assert_int_equal(store_claims_renew(s, &first, 1, &lost), 0);
        assert_true(lost);
        assert_int_equal(store_claims_renew(s, &second, 1, &lost), 0);
        assert_false(lost);
}

/* One process per store: a second open of the same file is refused while the
 * first holds it, and works once it is closed. */
static void test_one_process_holds_a_store(void **state) {
        fixture *f = *state;
        open_store(f, 10);
        store *other = NULL;
        store_options o = {.path = f->path, .queue_capacity = 10};
        assert_int_equal(store_open(&o, &other), -EBUSY);
        assert_null(other);
        store_close(f->s);
        f->s = NULL;
        assert_int_equal(store_open(&o, &other), 0);
        store_close(other);
}

typedef struct claimer {
        store *s;
        unsigned wait_ms;
        int r;
        store_claimed c[4];
} claimer;

static void *claimer_main(void *arg) {
        claimer *cl = arg;
        cl->r = store_claim(cl->s, 4, cl->wait_ms, cl->c);
        return NULL;
}

static void wait_for_claim_waiter(store *s) {
        while (store_claim_waiters(s) == 0)
                usleep(1000);
}

static void test_claim_woken_by_enqueue(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        /* A minute: the claimer returns early only because the enqueue woke it. */
        claimer cl = {.s = s, .wait_ms = 60000};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, claimer_main, &cl), 0);
        wait_for_claim_waiter(s);
        int64_t id = enqueue_one(s, 42);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(cl.r, 1);
        assert_int_equal(cl.c[0].id, id);
        char body[128];
        alert_body(body, sizeof body, 42);
        assert_string_equal(cl.c[0].json, body);
        store_claimed_clear(cl.c, 1);
}

static void test_wake_claimers_returns_empty(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        claimer cl = {.s = s, .wait_ms = 60000};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, claimer_main, &cl), 0);
        wait_for_claim_waiter(s);
        store_wake_claimers(s);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(cl.r, 0);
        assert_int_equal(store_claim_waiters(s), 0);

        /* A short wait on an empty queue times out with nothing. */
        store_claimed c[1];
        assert_int_equal(store_claim(s, 1, 20, c), 0);
}

typedef struct async_result {
        sem_t done;
        int r;
        size_t n;
        int64_t ids[8];
} async_result;

static void async_cb(void *userdata, int r, const int64_t *ids, size_t n) {
        async_result *ar = userdata;
        ar->r = r;
        ar->n = n;
        if (r == 0)
                memcpy(ar->ids, ids, n * sizeof(*ids));
        sem_post(&ar->done);
}

static void test_enqueue_async_reports_ids(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        async_result ar = {.r = 1};
        assert_int_equal(sem_init(&ar.done, 0, 0), 0);
        char bodies[3][128];
        store_alert_in in[3];
        for (int i = 0; i < 3; i++) {
                alert_body(bodies[i], sizeof bodies[i], 10 + i);
                in[i] = (store_alert_in){
                        .json = bodies[i], .len = strlen(bodies[i]), .type = "t", .received_at_ms = 5};
        }
        assert_int_equal(store_enqueue_async(s, in, 3, async_cb, &ar), 0);
        /* The bodies were copied: the caller may reuse its buffers at once. */
        memset(bodies, 'x', sizeof bodies);
        assert_int_equal(store_queue_free(s), 7);
        assert_int_equal(sem_wait(&ar.done), 0);
        sem_destroy(&ar.done);
        assert_int_equal(ar.r, 0);
        assert_int_equal(ar.n, 3);

        store_claimed c[4];
        assert_int_equal(store_claim(s, 4, 0, c), 3);
        for (int i = 0; i < 3; i++) {
                char want[128];
                alert_body(want, sizeof want, 10 + i);
                assert_int_equal(c[i].id, ar.ids[i]);
                assert_string_equal(c[i].json, want);
        }
        store_claimed_clear(c, 3);
        assert_int_equal(store_enqueue_async(s, in, 0, async_cb, &ar), -EINVAL);
}

/* --- group commit ------------------------------------------------------------------- */

#define GC_THREADS 32
#define GC_JOBS 200

typedef struct gc_thread {
        store *s;
        int64_t alert_id;
        int index;
        int failures;
} gc_thread;

static void *gc_main(void *arg) {
        gc_thread *g = arg;
        for (int j = 0; j < GC_JOBS; j++) {
                char pb[32], key[32];
                snprintf(pb, sizeof pb, "pb-%d", j);
                snprintf(key, sizeof key, "k-%d-%d", g->index, j);
                store_action_plan p = plan("block", key, ACTION_PLANNED);
                exec_job e = {.alert_id = g->alert_id, .playbook = pb, .plans = &p, .n = 1};
                if (store_write(g->s, job_exec_begin, &e) != 0)
                        g->failures++;
        }
        return NULL;
}

static void test_group_commit_many_writers(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 100);
        gc_thread g[GC_THREADS];
        pthread_t t[GC_THREADS];
        for (int i = 0; i < GC_THREADS; i++)
                g[i] = (gc_thread){.s = s, .alert_id = enqueue_one(s, i), .index = i};
        uint64_t commits0 = store_commit_count(s), jobs0 = store_job_count(s);
        for (int i = 0; i < GC_THREADS; i++)
                assert_int_equal(pthread_create(&t[i], NULL, gc_main, &g[i]), 0);
        for (int i = 0; i < GC_THREADS; i++) {
                assert_int_equal(pthread_join(t[i], NULL), 0);
                assert_int_equal(g[i].failures, 0);
        }
        uint64_t jobs = store_job_count(s) - jobs0, commits = store_commit_count(s) - commits0;
        assert_int_equal(jobs, GC_THREADS * GC_JOBS);
        /* Concurrent jobs share transactions: far fewer commits than jobs. */
        assert_true(commits * 4 <= jobs);

        /* Every job is durable: all 6,400 executions are there after a reopen. */
        s = reopen_store(f, 100);
        size_t total = 0;
        int64_t before = 0;
        for (;;) {
                json_t *page = NULL;
                assert_int_equal(store_exec_list(s, before, 1000, &page), 0);
                size_t n = json_array_size(page);
                if (n > 0)
                        before = json_integer_value(json_object_get(json_array_get(page, n - 1), "id"));
                total += n;
                json_decref(page);
                if (n == 0)
                        break;
        }
        assert_int_equal(total, GC_THREADS * GC_JOBS);
        json_t *a = NULL;
        assert_int_equal(store_alert_get(s, g[5].alert_id, &a), 0);
        assert_int_equal(json_array_size(json_object_get(a, "executions")), GC_JOBS);
        json_decref(a);
}

typedef struct blocker {
        store *s;
        atomic_bool running;
} blocker;

/* Holds the writer until two more jobs are queued, so they share the next group. */
static int job_block(store_tx *tx, void *userdata) {
        blocker *b = userdata;
        atomic_store(&b->running, true);
        while (store_pending_jobs(b->s) < 2)
                usleep(1000);
        return 0;
}

typedef struct writer_arg {
        store *s;
        store_job_fn fn;
        void *userdata;
        int r;
} writer_arg;

static void *writer_thread(void *arg) {
        writer_arg *w = arg;
        w->r = store_write(w->s, w->fn, w->userdata);
        return NULL;
}

static void test_failing_job_does_not_roll_back_neighbours(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t alert = enqueue_one(s, 1);
        store_action_plan used = plan("block", "key-taken", ACTION_PLANNED);
        exec_job first = {.alert_id = alert, .playbook = "pb-first", .plans = &used, .n = 1};
        assert_int_equal(store_write(s, job_exec_begin, &first), 0);

        /* The failing job writes its execution, then its action's key collides. */
        store_action_plan clash = plan("block", "key-taken", ACTION_PLANNED);
        store_action_plan fresh = plan("block", "key-fresh", ACTION_PLANNED);
        exec_job bad = {.alert_id = alert, .playbook = "pb-bad", .plans = &clash, .n = 1};
        exec_job good = {.alert_id = alert, .playbook = "pb-good", .plans = &fresh, .n = 1};

        uint64_t commits0 = store_commit_count(s), jobs0 = store_job_count(s);
        blocker b = {.s = s};
        writer_arg wb = {.s = s, .fn = job_block, .userdata = &b};
        writer_arg w1 = {.s = s, .fn = job_exec_begin, .userdata = &bad};
        writer_arg w2 = {.s = s, .fn = job_exec_begin, .userdata = &good};
        pthread_t tb, t1, t2;
        assert_int_equal(pthread_create(&tb, NULL, writer_thread, &wb), 0);
        while (!atomic_load(&b.running))
                usleep(1000);
        assert_int_equal(pthread_create(&t1, NULL, writer_thread, &w1), 0);
        assert_int_equal(pthread_create(&t2, NULL, writer_thread, &w2), 0);
        assert_int_equal(pthread_join(tb, NULL), 0);
        assert_int_equal(pthread_join(t1, NULL), 0);
        assert_int_equal(pthread_join(t2, NULL), 0);

        assert_int_equal(wb.r, 0);
        assert_int_equal(w1.r, -EEXIST);
        assert_int_equal(w2.r, 0);
        /* Two groups: the blocker alone, then the failing and the good job together. */
        assert_int_equal(store_commit_count(s) - commits0, 2);
        assert_int_equal(store_job_count(s) - jobs0, 3);

        s = reopen_store(f, 10);
        json_t *a = NULL;
        assert_int_equal(store_alert_get(s, alert, &a), 0);
        json_t *execs = json_object_get(a, "executions");
        assert_int_equal(json_array_size(execs), 2);
        assert_int_equal(json_integer_value(json_array_get(execs, 0)), first.exec_id);
        assert_int_equal(json_integer_value(json_array_get(execs, 1)), good.exec_id);
        json_decref(a);
        json_t *e = read_exec(s, good.exec_id);
        assert_string_equal(json_string_value(json_object_get(e, "playbook")), "pb-good");
        json_decref(e);
}

static int job_noop(store_tx *tx, void *userdata) {
        return 0;
}

static int job_nested_write(store_tx *tx, void *userdata) {
        return store_write(userdata, job_noop, NULL);
}

static int job_enqueue_inside(store_tx *tx, void *userdata) {
        store *s = userdata;
        char body[] = "{}";
        store_alert_in in = {.json = body, .len = 2, .type = "t"};
        int64_t id;
        return store_enqueue(s, &in, 1, &id);
}

static void test_write_from_inside_a_job_is_refused(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        assert_int_equal(store_write(s, job_nested_write, s), -EDEADLK);
        assert_int_equal(store_write(s, job_enqueue_inside, s), -EDEADLK);
        assert_int_equal(store_queue_free(s), 10);
        uint64_t commits0 = store_commit_count(s);
        assert_int_equal(store_ping(s), 0);
        assert_int_equal(store_commit_count(s), commits0 + 1);
}

/* --- executions and the action journal ------------------------------------------------ */

static void test_exec_begin_is_idempotent(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t alert = enqueue_one(s, 1);
        store_action_plan plans[2] = {plan("block", "idem-1", ACTION_PLANNED),
                                      plan("disable", "idem-2", ACTION_AWAITING_APPROVAL)};
        exec_job e1 = {.alert_id = alert, .playbook = "ssh-block", .plans = plans, .n = 2};
        assert_int_equal(store_write(s, job_exec_begin, &e1), 0);
        assert_true(e1.exec_id > 0);
        assert_int_equal(e1.actions[0].state, ACTION_PLANNED);
        assert_int_equal(e1.actions[1].state, ACTION_AWAITING_APPROVAL);
        assert_string_equal(e1.actions[0].idempotency_key, "idem-1");
        assert_int_equal(e1.actions[0].attempts, 0);

        /* The worker died after recording its intent... */
        assert_int_equal(action_set(s, e1.actions[0].id, ACTION_INTENT, NULL, NULL), 0);

        /* ...and the restarted engine finds the in-doubt action. */
        s = reopen_store(f, 10);
        exec_job e2 = {.alert_id = alert, .playbook = "ssh-block", .plans = plans, .n = 2};
        assert_int_equal(store_write(s, job_exec_begin, &e2), 0);
        assert_int_equal(e2.exec_id, e1.exec_id);
        for (int i = 0; i < 2; i++) {
                assert_int_equal(e2.actions[i].id, e1.actions[i].id);
                assert_string_equal(e2.actions[i].idempotency_key, e1.actions[i].idempotency_key);
        }
        assert_int_equal(e2.actions[0].state, ACTION_INTENT);
        assert_int_equal(e2.actions[0].attempts, 1);
        assert_int_equal(e2.actions[1].state, ACTION_AWAITING_APPROVAL);
        assert_int_equal(e2.actions[1].attempts, 0);

        /* A different plan for the same execution is refused, not mixed in. */
        store_action_plan other[2] = {plan("block", "idem-1", ACTION_PLANNED),
                                      plan("disable", "idem-9", ACTION_PLANNED)};
        exec_job e3 = {.alert_id = alert, .playbook = "ssh-block", .plans = other, .n = 2};
        assert_int_equal(store_write(s, job_exec_begin, &e3), -ESTALE);
        exec_job e4 = {.alert_id = alert, .playbook = "ssh-block", .plans = plans, .n = 1};
        assert_int_equal(store_write(s, job_exec_begin, &e4), -ESTALE);

        json_t *list = NULL;
        assert_int_equal(store_exec_list(s, 0, 10, &list), 0);
        assert_int_equal(json_array_size(list), 1);
        json_decref(list);
}

static void test_exec_begin_validates(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t alert = enqueue_one(s, 1);
        store_action_plan p = plan("block", "v-1", ACTION_PLANNED);
        exec_job e = {.alert_id = alert, .playbook = "pb", .plans = &p, .n = 1};

        p.targets_json = "{\"ip\":\"192.0.2.1\"}";
        assert_int_equal(store_write(s, job_exec_begin, &e), -EINVAL);
        p.targets_json = "[1,2]";
        assert_int_equal(store_write(s, job_exec_begin, &e), -EINVAL);
        p = plan("block", "v-1", ACTION_PLANNED);
        p.params_json = "[]";
        assert_int_equal(store_write(s, job_exec_begin, &e), -EINVAL);
        p = plan("block", "v-1", ACTION_INTENT);
        assert_int_equal(store_write(s, job_exec_begin, &e), -EINVAL);
        p = plan("bad step", "v-1", ACTION_PLANNED);
        assert_int_equal(store_write(s, job_exec_begin, &e), -EINVAL);
        p = plan("block", "", ACTION_PLANNED);
        assert_int_equal(store_write(s, job_exec_begin, &e), -EINVAL);
        e.playbook = "pb/../x";
        p = plan("block", "v-1", ACTION_PLANNED);
        assert_int_equal(store_write(s, job_exec_begin, &e), -EINVAL);

        /* The execution of an unknown alert has nothing to point to. */
        e = (exec_job){.alert_id = alert + 100, .playbook = "pb", .plans = &p, .n = 1};
        assert_int_equal(store_write(s, job_exec_begin, &e), -ENOENT);

        json_t *list = NULL;
        assert_int_equal(store_exec_list(s, 0, 10, &list), 0);
        assert_int_equal(json_array_size(list), 0);
        json_decref(list);
}

typedef struct finish_job {
        int64_t exec_id;
        exec_status status;
        const char *summary;
} finish_job;

static int job_exec_finish(store_tx *tx, void *userdata) {
        finish_job *fj = userdata;
        return store_tx_exec_finish(tx, fj->exec_id, fj->status, fj->summary);
}

static void test_action_state_transitions(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t alert = enqueue_one(s, 1);
        store_action_plan p = plan("block", "t-1", ACTION_PLANNED);
        exec_job e = {.alert_id = alert, .playbook = "pb", .plans = &p, .n = 1};
        assert_int_equal(store_write(s, job_exec_begin, &e), 0);
        int64_t id = e.actions[0].id;

        assert_int_equal(action_set(s, id, ACTION_INTENT, NULL, NULL), 0);
        assert_int_equal(action_set(s, id, ACTION_FAILED, "timeout after 5000 ms", NULL), 0);
        json_t *x = read_exec(s, e.exec_id);
        json_t *act = json_array_get(json_object_get(x, "actions"), 0);
        assert_string_equal(json_string_value(json_object_get(act, "state")), "failed");
        assert_string_equal(json_string_value(json_object_get(act, "detail")), "timeout after 5000 ms");
        assert_int_equal(json_integer_value(json_object_get(act, "attempts")), 1);
        json_decref(x);

        assert_int_equal(action_set(s, id, ACTION_INTENT, NULL, NULL), 0);
        assert_int_equal(action_set(s, id, ACTION_APPLIED, "verified", "{\"added\":2}"), 0);
        /* Applied once, never again; PLANNED is only an initial state. */
        assert_int_equal(action_set(s, id, ACTION_INTENT, NULL, NULL), -EALREADY);
        assert_int_equal(action_set(s, id, ACTION_PLANNED, NULL, NULL), -EINVAL);
        assert_int_equal(action_set(s, id, ACTION_FAILED, NULL, "[1]"), -EINVAL);
        assert_int_equal(action_set(s, id, ACTION_FAILED, "\xff\xfe", NULL), -EINVAL);
        assert_int_equal(action_set(s, id + 1000, ACTION_INTENT, NULL, NULL), -ENOENT);

        finish_job fj = {.exec_id = e.exec_id, .status = EXEC_SUCCEEDED, .summary = "1 applied"};
        assert_int_equal(store_write(s, job_exec_finish, &fj), 0);
        fj.status = EXEC_RUNNING;
        assert_int_equal(store_write(s, job_exec_finish, &fj), -EINVAL);
        fj = (finish_job){.exec_id = e.exec_id + 1000, .status = EXEC_FAILED};
        assert_int_equal(store_write(s, job_exec_finish, &fj), -ENOENT);

        x = read_exec(s, e.exec_id);
        assert_string_equal(json_string_value(json_object_get(x, "status")), "succeeded");
        assert_string_equal(json_string_value(json_object_get(x, "summary")), "1 applied");
        assert_true(json_is_integer(json_object_get(x, "finished_at")));
        act = json_array_get(json_object_get(x, "actions"), 0);
        assert_string_equal(json_string_value(json_object_get(act, "state")), "applied");
        assert_int_equal(json_integer_value(json_object_get(act, "attempts")), 2);
        assert_string_equal(json_string_value(json_object_get(act, "detail")), "verified");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(act, "result"), "added")), 2);
        json_decref(x);
}

static void test_long_detail_is_cut_on_a_character(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t alert = enqueue_one(s, 1);
        store_action_plan p = plan("block", "d-1", ACTION_PLANNED);
        exec_job e = {.alert_id = alert, .playbook = "pb", .plans = &p, .n = 1};
        assert_int_equal(store_write(s, job_exec_begin, &e), 0);

        /* 3,000 bytes of a 3-byte character: no cut may split one. */
        char detail[3001];
        for (int i = 0; i < 1000; i++)
                memcpy(detail + 3 * i, "\xe2\x82\xac", 3);
        detail[3000] = '\0';
        assert_int_equal(action_set(s, e.actions[0].id, ACTION_FAILED, detail, NULL), 0);
        json_t *x = read_exec(s, e.exec_id);
        const char *kept = json_string_value(
                json_object_get(json_array_get(json_object_get(x, "actions"), 0), "detail"));
        assert_non_null(kept);
        assert_int_equal(strlen(kept), 1023);
        assert_true(utf8_valid(kept, strlen(kept)));
        assert_memory_equal(kept, detail, 1023);
        json_decref(x);
}

/* --- reads ----------------------------------------------------------------------------- */

static void test_reads_have_documented_shape(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t alert = enqueue_one(s, 7);
        store_action_plan p[2] = {plan("block", "r-1", ACTION_PLANNED),
                                  plan("notify", "r-2", ACTION_SKIPPED)};
        exec_job e[3] = {
                {.alert_id = alert, .playbook = "pb-a", .plans = &p[0], .n = 1},
                {.alert_id = alert, .playbook = "pb-b", .plans = NULL, .n = 0},
                {.alert_id = alert, .playbook = "pb-c", .plans = &p[1], .n = 1},
        };
        for (int i = 0; i < 3; i++)
                assert_int_equal(store_write(s, job_exec_begin, &e[i]), 0);

        json_t *a = NULL;
        assert_int_equal(store_alert_get(s, alert, &a), 0);
        assert_int_equal(json_object_size(a), 6);
        assert_int_equal(json_integer_value(json_object_get(a, "id")), alert);
        assert_string_equal(json_string_value(json_object_get(a, "state")), "queued");
        assert_int_equal(json_integer_value(json_object_get(a, "received_at")), 1700000000007);
        assert_int_equal(json_integer_value(json_object_get(a, "attempts")), 0);
        char body[128];
        alert_body(body, sizeof body, 7);
        json_t *want = json_loads(body, 0, NULL);
        assert_true(json_equal(json_object_get(a, "alert"), want));
        json_decref(want);
        json_t *execs = json_object_get(a, "executions");
        assert_int_equal(json_array_size(execs), 3);
        for (int i = 0; i < 3; i++)
                assert_int_equal(json_integer_value(json_array_get(execs, i)), e[i].exec_id);
        json_decref(a);

        json_t *list = NULL;
        assert_int_equal(store_exec_list(s, 0, 2, &list), 0);
        assert_int_equal(json_array_size(list), 2);
        json_t *x = json_array_get(list, 0);
        assert_int_equal(json_object_size(x), 9);
        assert_int_equal(json_integer_value(json_object_get(x, "id")), e[2].exec_id);
        assert_int_equal(json_integer_value(json_object_get(x, "alert_id")), alert);
        assert_string_equal(json_string_value(json_object_get(x, "playbook")), "pb-c");
        assert_int_equal(json_integer_value(json_object_get(x, "playbook_version")), 7);
        assert_int_equal(json_integer_value(json_object_get(x, "level")), 3);
        assert_string_equal(json_string_value(json_object_get(x, "status")), "running");
        assert_true(json_is_null(json_object_get(x, "summary")));
        assert_true(json_integer_value(json_object_get(x, "created_at")) > 1600000000000);
        assert_true(json_is_null(json_object_get(x, "finished_at")));
        assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "id")), e[1].exec_id);
        json_decref(list);
        assert_int_equal(store_exec_list(s, e[1].exec_id, 10, &list), 0);
        assert_int_equal(json_array_size(list), 1);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "id")), e[0].exec_id);
        json_decref(list);
        assert_int_equal(store_exec_list(s, 0, 0, &list), -EINVAL);
        assert_int_equal(store_exec_list(s, 0, 1001, &list), -EINVAL);

        x = read_exec(s, e[0].exec_id);
        assert_int_equal(json_object_size(x), 10);
        json_t *acts = json_object_get(x, "actions");
        assert_int_equal(json_array_size(acts), 1);
        json_t *act = json_array_get(acts, 0);
        assert_int_equal(json_object_size(act), 14);
        assert_int_equal(json_integer_value(json_object_get(act, "id")), e[0].actions[0].id);
        assert_string_equal(json_string_value(json_object_get(act, "step_id")), "block");
        assert_string_equal(json_string_value(json_object_get(act, "integration")), "edge-fw");
        assert_string_equal(json_string_value(json_object_get(act, "connector")), "nft");
        assert_string_equal(json_string_value(json_object_get(act, "verb")), "block");
        assert_string_equal(json_string_value(json_object_get(act, "target_kind")), "ip");
        json_t *targets = json_object_get(act, "targets");
        assert_true(json_is_array(targets));
        assert_string_equal(json_string_value(json_array_get(targets, 1)), "198.51.100.2");
        assert_string_equal(json_string_value(json_object_get(json_object_get(act, "params"), "timeout")),
                            "1h");
        assert_string_equal(json_string_value(json_object_get(act, "state")), "planned");
        assert_int_equal(json_integer_value(json_object_get(act, "attempts")), 0);
        assert_true(json_is_null(json_object_get(act, "detail")));
        assert_true(json_is_null(json_object_get(act, "result")));
        assert_string_equal(json_string_value(json_object_get(act, "idempotency_key")), "r-1");
        assert_true(json_is_integer(json_object_get(act, "updated_at")));
        json_decref(x);

        x = read_exec(s, e[1].exec_id);
        assert_int_equal(json_array_size(json_object_get(x, "actions")), 0);
        json_decref(x);
}

static void test_reads_of_missing_ids(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        json_t *o = NULL;
        assert_int_equal(store_alert_get(s, 12345, &o), -ENOENT);
        assert_int_equal(store_exec_get(s, 12345, &o), -ENOENT);
        assert_null(o);
        json_t *list = NULL;
        assert_int_equal(store_exec_list(s, 0, 10, &list), 0);
        assert_int_equal(json_array_size(list), 0);
        json_decref(list);
        store_queue_stats st;
        assert_int_equal(store_queue_stats_get(s, &st), 0);
        assert_int_equal(st.queued + st.in_flight, 0);
}

/* A governor refusal is journalled with its reason; a reason that is not UTF-8
 * is refused with the whole plan. */
static void test_denied_action_keeps_its_reason(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t alert = enqueue_one(s, 1);
        store_action_plan plans[1] = {plan("block", "idem-d", ACTION_DENIED)};
        plans[0].detail = "over_ceiling: 60 ip targets exceed the ceiling of 50 per action; refused whole";
        exec_job e = {.alert_id = alert, .playbook = "ssh-block", .plans = plans, .n = 1};
        assert_int_equal(store_write(s, job_exec_begin, &e), 0);
        assert_int_equal(e.actions[0].state, ACTION_DENIED);
        json_t *o = read_exec(s, e.exec_id);
        json_t *a = json_array_get(json_object_get(o, "actions"), 0);
        assert_string_equal(json_string_value(json_object_get(a, "state")), "denied");
        assert_string_equal(json_string_value(json_object_get(a, "detail")), plans[0].detail);
        json_decref(o);

        int64_t other = enqueue_one(s, 2);
        store_action_plan bad[1] = {plan("block", "idem-e", ACTION_DENIED)};
        bad[0].detail = "\xff\xfe";
        exec_job e2 = {.alert_id = other, .playbook = "ssh-block", .plans = bad, .n = 1};
        assert_int_equal(store_write(s, job_exec_begin, &e2), -EINVAL);
}

typedef struct budget_job {
        const store_budget *b;
        int64_t now_ms;
        uint64_t charge; /* 0: read only */
        uint64_t used;
} budget_job;

static int job_budget(store_tx *tx, void *userdata) {
        budget_job *j = userdata;
        int r = j->charge ? store_tx_budget_charge(tx, j->b, j->now_ms, j->charge) : 0;
        return r < 0 ? r : store_tx_budget_used(tx, j->b, j->now_ms, &j->used);
}

static uint64_t charge(store *s, const store_budget *b, int64_t now_ms, uint64_t n) {
        budget_job j = {.b = b, .now_ms = now_ms, .charge = n};
        assert_int_equal(store_write(s, job_budget, &j), 0);
        return j.used;
}

/* Budgets count what was charged within the last window of now, add up what
 * a transaction charged, and survive a restart (the limit is the governor's:
 * core/governor.c). */
static void test_budgets_count_per_window_and_are_durable(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        store_budget minute = {.key = "global", .window_ms = 60000, .limit = 3};
        int64_t t0 = 1800000000000; /* a multiple of a minute */
        assert_int_equal(charge(s, &minute, t0, 2), 2);
        assert_int_equal(charge(s, &minute, t0 + 59999, 1), 3);
        /* t0's two count for a window and a slice (BW_RATE_SLICES). */
        assert_int_equal(charge(s, &minute, t0 + 60999, 0), 3);
        assert_int_equal(charge(s, &minute, t0 + 61000, 0), 1);
        store_budget other = {.key = "nft.block", .window_ms = 60000, .limit = 3};
        assert_int_equal(charge(s, &other, t0, 5), 5);
        s = reopen_store(f, 10);
        budget_job j = {.b = &minute, .now_ms = t0 + 59999};
        assert_int_equal(store_write(s, job_budget, &j), 0);
        assert_int_equal(j.used, 3); /* still there after a restart */
        store_budget zero = {.key = "", .window_ms = 60000};
        budget_job bad = {.b = &zero, .now_ms = t0, .charge = 1};
        assert_int_equal(store_write(s, job_budget, &bad), -EINVAL);
}

/* A window slides: a burst at the end of one minute still counts at the start
 * of the next (a window fixed on the clock let twice the limit through within
 * a second), and a charge is counted for at least a whole window and at most
 * a window and one slice (BW_RATE_SLICES) after it was made. */
static void test_budgets_slide_across_the_clocks_minute(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        store_budget minute = {.key = "nft.block", .window_ms = 60000, .limit = 3};
        int64_t t0 = 1800000000000 + 59999; /* a millisecond before a minute of the clock */
        assert_int_equal(charge(s, &minute, t0, 3), 3);
        assert_int_equal(charge(s, &minute, t0 + 1, 0), 3);
        assert_int_equal(charge(s, &minute, t0 + 30000, 0), 3);
        assert_int_equal(charge(s, &minute, t0 + minute.window_ms, 0), 3);
        /* t0's slice starts at t0 + 1 - slice: gone once it is a window and a slice old. */
        assert_int_equal(charge(s, &minute, t0 + 1 + minute.window_ms - 1, 0), 3);
        assert_int_equal(charge(s, &minute, t0 + 1 + minute.window_ms, 0), 0);
        /* Slices add up across the window. */
        for (int64_t t = 0; t < minute.window_ms; t += 7000)
                charge(s, &minute, t0 + 2 * minute.window_ms + t, 1);
        assert_int_equal(charge(s, &minute, t0 + 3 * minute.window_ms - 1, 0), 9);
        /* The sweeper's prune keeps every slice a window still counts. */
        int64_t now = t0 + 3 * minute.window_ms - 1;
        assert_int_equal(store_prune(s, now), 0);
        assert_int_equal(charge(s, &minute, now, 0), 9);
}

typedef struct breaker_job {
        const char *reason;
        int opened;
        bool open;
} breaker_job;

static int job_breaker(store_tx *tx, void *userdata) {
        breaker_job *j = userdata;
        j->opened = store_tx_breaker_open(tx, j->reason);
        if (j->opened < 0)
                return j->opened;
        return store_tx_breaker_is_open(tx, &j->open);
}

static void test_breaker_opens_once_and_resets_with_a_reason(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        json_t *b = NULL;
        assert_int_equal(store_breaker_get(s, &b), 0);
        assert_false(json_is_true(json_object_get(b, "open")));
        assert_true(json_is_null(json_object_get(b, "reason")));
        json_decref(b);
        assert_int_equal(store_breaker_reset(s, "admin", "nothing to reset"), -EALREADY);

        breaker_job j = {.reason = "global per minute budget of 10 spent"};
        assert_int_equal(store_write(s, job_breaker, &j), 0);
        assert_int_equal(j.opened, 1);
        assert_true(j.open);
        breaker_job again = {.reason = "another"};
        assert_int_equal(store_write(s, job_breaker, &again), 0);
        assert_int_equal(again.opened, 0); /* already open: the first reason stays */

        s = reopen_store(f, 10);
        assert_int_equal(store_breaker_get(s, &b), 0);
        assert_true(json_is_true(json_object_get(b, "open")));
        assert_string_equal(json_string_value(json_object_get(b, "reason")), j.reason);
        assert_true(json_integer_value(json_object_get(b, "opened_at")) > 0);
        json_decref(b);

        assert_int_equal(store_breaker_reset(s, "admin", ""), -EINVAL);
        assert_int_equal(store_breaker_reset(s, "admin", "false positive storm, budget raised"), 0);
        assert_int_equal(store_breaker_get(s, &b), 0);
        assert_false(json_is_true(json_object_get(b, "open")));
        assert_string_equal(json_string_value(json_object_get(b, "reset_by")), "admin");
        assert_string_equal(json_string_value(json_object_get(b, "reset_reason")),
                            "false positive storm, budget raised");
        json_decref(b);
}

/* A recommendation goes back to PLANNED and its alert back to the queue, once. */
static void test_recommendation_execute_requeues_its_alert(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t alert = enqueue_one(s, 1), got = 0;
        store_claimed c[2];
        assert_int_equal(store_claim(s, 2, 0, c), 1);
        store_claimed_clear(c, 1);
        store_action_plan plans[1] = {plan("block", "idem-r", ACTION_RECOMMENDED)};
        exec_job e = {.alert_id = alert, .playbook = "ssh-block", .plans = plans, .n = 1};
        assert_int_equal(store_write(s, job_exec_begin, &e), 0);
        /* Its alert is still claimed: not yet. */
        assert_int_equal(store_recommendation_execute(s, e.actions[0].id, "analyst", &got), -EBUSY);
        done_job d = {.s = s, .alert_id = alert};
        assert_int_equal(store_write(s, job_alert_done, &d), 0);
        assert_int_equal(store_recommendation_execute(s, 999, "analyst", &got), -ENOENT);
        assert_int_equal(store_recommendation_execute(s, e.actions[0].id, "", &got), -EINVAL);
        assert_int_equal(store_recommendation_execute(s, e.actions[0].id, "analyst", &got), 0);
        assert_int_equal(got, alert);
        json_t *o = read_exec(s, e.exec_id);
        json_t *a = json_array_get(json_object_get(o, "actions"), 0);
        assert_string_equal(json_string_value(json_object_get(a, "state")), "planned");
        assert_non_null(strstr(json_string_value(json_object_get(a, "detail")), "analyst"));
        assert_string_equal(json_string_value(json_object_get(o, "status")), "running");
        json_decref(o);
        assert_int_equal(store_claim(s, 2, 0, c), 1); /* back in the queue */
        assert_int_equal(c[0].id, alert);
        store_claimed_clear(c, 1);
        assert_int_equal(store_recommendation_execute(s, e.actions[0].id, "analyst", &got), -EALREADY);
}

/* --- the notification outbox -------------------------------------------------------- */

static store_notification note(const char *key, int64_t action_id) {
        return (store_notification){
                .integration = "soc",
                .target_kind = "ip",
                .targets_json = "[\"192.0.2.1\"]",
                .params_json = "{\"event\":\"governor.denied\"}",
                .idempotency_key = key,
                .action_id = action_id,
        };
}

typedef struct outbox_job {
        const store_notification *notes;
        size_t n, max_pending;
        int dropped;
        bool fail_after; /* the event's own write fails after the notes were queued */
} outbox_job;

static int job_outbox(store_tx *tx, void *userdata) {
        outbox_job *j = userdata;
        j->dropped = store_tx_outbox_add(tx, j->notes, j->n, j->max_pending);
        return j->dropped < 0 ? j->dropped : j->fail_after ? -EIO : 0;
}

static int outbox_add(store *s, const store_notification *notes, size_t n, size_t max_pending) {
        outbox_job j = {.notes = notes, .n = n, .max_pending = max_pending};
        int r = store_write(s, job_outbox, &j);
        return r < 0 ? r : j.dropped;
}

static uint64_t outbox_count(store *s, outbox_state state) {
        uint64_t counts[_OUTBOX_STATE_MAX];
        assert_int_equal(store_outbox_counts(s, counts), 0);
        return counts[state];
}

/* The keys of the notifications due at now_ms, in order ("k1,k2"). */
static char *due_keys(store *s, int64_t now_ms, char *buf, size_t len) {
        store_outbox_row rows[8];
        int n = store_outbox_due(s, now_ms, 8, rows);
        assert_true(n >= 0);
        buf[0] = '\0';
        for (int i = 0; i < n; i++) {
                size_t used = strlen(buf);
                snprintf(buf + used, len - used, "%s%s", i ? "," : "", rows[i].idempotency_key);
        }
        store_outbox_rows_clear(rows, (size_t)n);
        return buf;
}

/* Notifications are written in the transaction of their event (rolled back
 * with it), the same one still waiting is queued once, and they survive a
 * restart. */
static void test_outbox_is_written_with_its_event_and_survives_reopen(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        store_notification notes[3] = {note("k1", 7), note("k2", 0), note("k1", 7)};
        assert_int_equal(outbox_add(s, notes, 3, 100), 0);
        store_notification lost = note("k3", 9);
        outbox_job failing = {.notes = &lost, .n = 1, .max_pending = 100, .fail_after = true};
        assert_int_equal(store_write(s, job_outbox, &failing), -EIO);
        assert_int_equal(outbox_count(s, OUTBOX_PENDING), 2);

        s = reopen_store(f, 10);
        store_outbox_row rows[4];
        assert_int_equal(store_outbox_due(s, clock_wall_ms(), 4, rows), 2);
        assert_string_equal(rows[0].idempotency_key, "k1");
        assert_string_equal(rows[0].integration, "soc");
        assert_string_equal(rows[0].target_kind, "ip");
        assert_string_equal(rows[0].targets_json, "[\"192.0.2.1\"]");
        assert_string_equal(rows[0].params_json, "{\"event\":\"governor.denied\"}");
        assert_int_equal(rows[0].action_id, 7);
        assert_int_equal(rows[0].attempts, 0);
        assert_string_equal(rows[1].idempotency_key, "k2");
        assert_true(rows[0].id < rows[1].id);
        store_outbox_rows_clear(rows, 2);
        /* Not due before they were queued. */
        assert_int_equal(store_outbox_due(s, 0, 4, rows), 0);
}

static void test_outbox_attempts_retry_then_settle(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        store_notification n1 = note("k1", 1);
        assert_int_equal(outbox_add(s, &n1, 1, 100), 0);
        store_outbox_row row;
        int64_t now = clock_wall_ms();
        assert_int_equal(store_outbox_due(s, now, 1, &row), 1);
        int64_t id = row.id;
        store_outbox_rows_clear(&row, 1);

        /* Failed: due again at its next attempt time, not before. */
        assert_int_equal(store_outbox_attempt(s, id, OUTBOX_PENDING, now + 60000, "HTTP 503"), 0);
        char keys[64];
        assert_string_equal(due_keys(s, now + 59999, keys, sizeof(keys)), "");
        assert_int_equal(store_outbox_due(s, now + 60000, 1, &row), 1);
        assert_int_equal(row.attempts, 1);
        store_outbox_rows_clear(&row, 1);

        assert_int_equal(store_outbox_attempt(s, id, OUTBOX_SENT, 0, NULL), 0);
        assert_string_equal(due_keys(s, INT64_MAX, keys, sizeof(keys)), "");
        assert_int_equal(outbox_count(s, OUTBOX_SENT), 1);
        assert_int_equal(store_outbox_attempt(s, id, OUTBOX_SENT, 0, NULL), -ENOENT);
        assert_int_equal(store_outbox_attempt(s, id, OUTBOX_DROPPED, 0, NULL), -EINVAL);
        assert_int_equal(store_outbox_attempt(s, id, OUTBOX_FAILED, 0, "\xff"), -EINVAL);

        /* Sent, the same message is a new one: queued again. */
        assert_int_equal(outbox_add(s, &n1, 1, 100), 0);
        assert_int_equal(store_outbox_due(s, INT64_MAX, 1, &row), 1);
        assert_true(row.id != id);
        assert_int_equal(store_outbox_attempt(s, row.id, OUTBOX_FAILED, 0, "gave up"), 0);
        store_outbox_rows_clear(&row, 1);
        store_notification n2 = note("k2", 2);
        assert_int_equal(outbox_add(s, &n2, 1, 100), 0);
        assert_int_equal(outbox_count(s, OUTBOX_FAILED), 1);

        /* Pruning removes the settled ones only. */
        assert_int_equal(store_outbox_prune(s, clock_wall_ms() + 1000), 0);
        assert_int_equal(outbox_count(s, OUTBOX_SENT), 0);
        assert_int_equal(outbox_count(s, OUTBOX_FAILED), 0);
        assert_string_equal(due_keys(s, INT64_MAX, keys, sizeof(keys)), "k2");

        /* The integration's others wait out the backoff of a failed attempt. */
        now = clock_wall_ms();
        store_notification n3 = note("k3", 3), other = note("k4", 4);
        other.integration = "pager";
        assert_int_equal(outbox_add(s, &n3, 1, 100), 0);
        assert_int_equal(outbox_add(s, &other, 1, 100), 0);
        assert_int_equal(store_outbox_defer(s, "soc", now + 120000), 2);
        assert_string_equal(due_keys(s, now + 119999, keys, sizeof(keys)), "k4");
        assert_string_equal(due_keys(s, now + 120000, keys, sizeof(keys)), "k4,k2,k3");
        assert_int_equal(store_outbox_defer(s, "soc", now + 1000), 0); /* never earlier */
        assert_int_equal(store_outbox_defer(s, "", now), -EINVAL);
}

/* Beyond max_pending the oldest are dropped, and how many is returned. */
static void test_outbox_backlog_drops_the_oldest(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        store_notification first[3] = {note("k1", 1), note("k2", 2), note("k3", 3)};
        store_notification more[2] = {note("k4", 4), note("k5", 5)};
        assert_int_equal(outbox_add(s, first, 3, 3), 0);
        assert_int_equal(outbox_add(s, more, 2, 3), 2);
        char keys[64];
        assert_string_equal(due_keys(s, INT64_MAX, keys, sizeof(keys)), "k3,k4,k5");
        assert_int_equal(outbox_count(s, OUTBOX_DROPPED), 2);
        assert_int_equal(outbox_count(s, OUTBOX_PENDING), 3);
        /* One sent leaves room for one. */
        store_outbox_row row;
        assert_int_equal(store_outbox_due(s, INT64_MAX, 1, &row), 1);
        assert_int_equal(store_outbox_attempt(s, row.id, OUTBOX_SENT, 0, NULL), 0);
        store_outbox_rows_clear(&row, 1);
        store_notification six = note("k6", 6);
        assert_int_equal(store_outbox_add(s, &six, 1, 3), 0);
        assert_string_equal(due_keys(s, INT64_MAX, keys, sizeof(keys)), "k4,k5,k6");
        s = reopen_store(f, 10); /* the pending count is durable too */
        store_notification seven = note("k7", 7);
        assert_int_equal(store_outbox_add(s, &seven, 1, 3), 1);
        assert_string_equal(due_keys(s, INT64_MAX, keys, sizeof(keys)), "k5,k6,k7");
}

static void test_outbox_refuses_malformed_notes(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        store_notification bad[6];
        for (size_t i = 0; i < 6; i++)
                bad[i] = note("k1", 1);
        bad[0].integration = "";
        bad[1].target_kind = "no spaces";
        bad[2].targets_json = "{}";
        bad[3].params_json = "[1]";
        bad[4].idempotency_key = "";
        bad[5].action_id = -1;
        for (size_t i = 0; i < 6; i++)
                assert_int_equal(store_outbox_add(s, &bad[i], 1, 10), -EINVAL);
        store_notification ok = note("k1", 1);
        assert_int_equal(store_outbox_add(s, &ok, 1, 0), -EINVAL);
        assert_int_equal(outbox_count(s, OUTBOX_PENDING), 0);
        store_outbox_row row;
        assert_int_equal(store_outbox_due(s, 0, 0, &row), -EINVAL);
}

/* Migration 5 on a store of schema 4: its rows stay, the outbox works. */
static void test_migration_5_keeps_a_schema_4_store(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        int64_t id = enqueue_one(s, 1);
        store_close(s);
        f->s = NULL;
        raw_exec(f->path, "DROP TABLE outbox; DROP TABLE outbox_pending; PRAGMA user_version = 4;");
        s = open_store(f, 10);
        assert_int_equal(store_migrations_applied(s), 2);
        assert_int_equal(store_schema_version(s), 6);
        json_t *a = NULL;
        assert_int_equal(store_alert_get(s, id, &a), 0);
        json_decref(a);
        store_notification n = note("k1", 0);
        assert_int_equal(store_outbox_add(s, &n, 1, 10), 0);
        assert_int_equal(outbox_count(s, OUTBOX_PENDING), 1);
}

/* Migration 6 on a store of schema 5: a fixed window's row moves to the
 * window's last slice, so its charges count as long as the latest of them
 * could have, and no longer than a window after that. */
static void test_migration_6_slides_the_fixed_windows(void **state) {
        fixture *f = *state;
        store *s = open_store(f, 10);
        store_close(s);
        f->s = NULL;
        int64_t t0 = 1800000000000; /* a multiple of a minute */
        raw_exec(f->path, "INSERT INTO budgets (key, window_ms, window_start, used)"
                          " VALUES ('global', 60000, 1800000000000, 3); PRAGMA user_version = 5;");
        s = open_store(f, 10);
        assert_int_equal(store_migrations_applied(s), 1);
        assert_int_equal(store_schema_version(s), 6);
        store_budget minute = {.key = "global", .window_ms = 60000, .limit = 3};
        assert_int_equal(charge(s, &minute, t0, 0), 3);
        assert_int_equal(charge(s, &minute, t0 + 59999 + 60000, 0), 3);
        assert_int_equal(charge(s, &minute, t0 + 60000 + 60000, 0), 0);
}

static void test_names(void **state) {
        const char *exec_names[] = {"running", "succeeded",         "failed",   "partial",    "recorded",
                                    "denied",  "awaiting_approval", "rejected", "rolled_back"};
        const char *action_names[] = {"planned",
                                      "intent",
                                      "applied",
                                      "failed",
                                      "skipped",
                                      "recommended",
                                      "awaiting_approval",
                                      "denied",
                                      "rejected",
                                      "satisfied",
                                      "rollback_requested",
                                      "rolled_back",
                                      "rollback_failed"};
        for (int i = 0; i < _EXEC_STATUS_MAX; i++)
                assert_string_equal(exec_status_name((exec_status)i), exec_names[i]);
        for (int i = 0; i < _ACTION_STATE_MAX; i++)
                assert_string_equal(action_state_name((action_state)i), action_names[i]);
        assert_null(exec_status_name(_EXEC_STATUS_MAX));
        assert_null(action_state_name(_ACTION_STATE_MAX));
}

static void test_descriptors_are_cloexec(void **state) {
        fixture *f = *state;
        open_store(f, 10);
        enqueue_one(f->s, 1);
        DIR *d = opendir("/proc/self/fd");
        assert_non_null(d);
        unsigned ours = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                char link[300], target[256];
                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
                ssize_t n = readlink(link, target, sizeof target - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                if (strncmp(target, f->dir, strlen(f->dir)) != 0)
                        continue;
                int64_t fd;
                assert_int_equal(parse_int64(de->d_name, 0, INT32_MAX, &fd), 0);
                assert_true(fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
                ours++;
        }
        closedir(d);
        /* The database (writer and readers), its WAL and its shared memory. */
        assert_true(ours >= 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_migrations_fresh_then_noop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_newer_or_foreign_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_open_rejects_bad_options, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enqueue_survives_reopen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_oldest_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_capacity_reserved_and_released_on_commit, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_claims_requeued_at_reopen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_expired_lease_is_claimable_again, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_woken_by_enqueue, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wake_claimers_returns_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_enqueue_async_reports_ids, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_commit_many_writers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failing_job_does_not_roll_back_neighbours, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_write_from_inside_a_job_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_begin_is_idempotent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_begin_validates, setup, teardown),
                cmocka_unit_test_setup_teardown(test_action_state_transitions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_long_detail_is_cut_on_a_character, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reads_have_documented_shape, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reads_of_missing_ids, setup, teardown),
                cmocka_unit_test_setup_teardown(test_denied_action_keeps_its_reason, setup, teardown),
                cmocka_unit_test_setup_teardown(test_budgets_slide_across_the_clocks_minute, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_budgets_count_per_window_and_are_durable, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_breaker_opens_once_and_resets_with_a_reason, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_wall_clock_jump_never_expires_a_live_claim, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_lost_claim_is_fenced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_one_process_holds_a_store, setup, teardown),
                cmocka_unit_test_setup_teardown(test_renewed_claim_is_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recommendation_execute_requeues_its_alert, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_outbox_is_written_with_its_event_and_survives_reopen,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_outbox_attempts_retry_then_settle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_outbox_backlog_drops_the_oldest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_outbox_refuses_malformed_notes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_migration_5_keeps_a_schema_4_store, setup, teardown),
                cmocka_unit_test_setup_teardown(test_migration_6_slides_the_fixed_windows, setup, teardown),
                cmocka_unit_test(test_names),
                cmocka_unit_test_setup_teardown(test_descriptors_are_cloexec, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
