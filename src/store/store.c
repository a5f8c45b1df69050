/* SPDX-License-Identifier: Apache-2.0 */
/* The backend-independent half of the store: one writer thread with group commit,
 * queue capacity and claim wake-ups, dispatching to a backend table; runs in the
 * daemon (core) and takes its input from the engine and the already-validated API. */
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/actor.h"
#include "core/limits.h"
#include "store/backend.h"
#include "store/store_internal.h"
#include "util/clock.h"
#include "util/strutil.h"

/* Automation levels 1 (alert only) to 4 (irreversible, needs approval). */
#define STORE_LEVEL_MAX 4u

typedef struct store_job store_job;
struct store_job {
        store_job *next;
        store_job_fn fn;
        void *userdata;
        /* Alerts carried (1 for other jobs): a group stops at BW_STORE_GROUP_MAX so
         * a few large batches cannot make one commit arbitrarily long. */
        size_t weight;
        int r; /* the job's own result, set by the writer */
        /* Runs on the writer thread after the group's outcome is known; the job's
         * memory may be gone once it returns. */
        void (*complete)(store_job *j, int r);
};

struct store_tx {
        store *s;
        uint64_t released; /* slots that alert_done frees if this job commits */
        uint64_t enqueued; /* alerts this job queued */
};

struct store {
        const store_backend *be;
        struct store_backend_db *db;
        uint64_t capacity;
        _Atomic uint64_t used; /* queued + claimed, reserved before the write */
        _Atomic int64_t lease_ms;

        pthread_mutex_t lock; /* protects the job list and stopping */
        pthread_cond_t work;
        store_job *head, *tail;
        size_t pending;
        bool stopping;
        pthread_t writer;
        bool writer_started;

        pthread_mutex_t claim_lock;
        pthread_cond_t claim_cond; /* on CLOCK_MONOTONIC */
        bool claim_cond_init;
        uint64_t enqueue_gen; /* bumped when a group that queued alerts commits */
        uint64_t wake_gen;    /* bumped by store_wake_claimers */
        unsigned claim_waiters;

        _Atomic uint64_t commits;
        _Atomic uint64_t jobs_run;
};

/* --- names and JSON shapes ----------------------------------------------------- */

static const char *const outbox_state_names[_OUTBOX_STATE_MAX] = {
        [OUTBOX_PENDING] = "pending",
        [OUTBOX_SENT] = "sent",
        [OUTBOX_FAILED] = "failed",
        [OUTBOX_DROPPED] = "dropped",
};

const char *outbox_state_name(outbox_state st) {
        return (unsigned)st < _OUTBOX_STATE_MAX ? outbox_state_names[st] : NULL;
}

int store_outbox_state_from_name(const char *name, outbox_state *ret) {
        for (unsigned i = 0; i < _OUTBOX_STATE_MAX; i++)
                if (strcmp(name, outbox_state_names[i]) == 0) {
                        *ret = (outbox_state)i;
                        return 0;
                }
        return -EBADMSG;
}

static int json_parse_column(const char *text, json_t **ret) {
        json_error_t err;
        json_t *v = json_loads(text, 0, &err);
        if (!v)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int store_alert_row_json(const store_alert_row *row, json_t **ret) {
        json_error_t err;
        json_t *alert = json_loadb(row->body, row->body_len, 0, &err);
        if (!alert)
                return -EBADMSG;
        json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:o, s:[]}", "id", (json_int_t)row->id, "state",
                              row->state, "received_at", (json_int_t)row->received_at, "attempts",
                              (json_int_t)row->attempts, "alert", alert, "executions");
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

int store_exec_row_json(const store_exec_row *row, json_t **ret) {
        json_t *o = json_pack("{s:I, s:I, s:s, s:I, s:I, s:s, s:s?, s:I, s:o}", "id", (json_int_t)row->id,
                              "alert_id", (json_int_t)row->alert_id, "playbook", row->playbook,
                              "playbook_version", (json_int_t)row->playbook_version, "level",
                              (json_int_t)row->level, "status", row->status, "summary", row->summary,
                              "created_at", (json_int_t)row->created_at, "finished_at",
                              row->finished ? json_integer(row->finished_at) : json_null());
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

int store_action_row_json(const store_action_row *row, json_t **ret) {
        json_t *targets = NULL, *params = NULL, *result = NULL;
        int r = json_parse_column(row->targets, &targets);
        if (r >= 0)
                r = json_parse_column(row->params, &params);
        if (r >= 0 && row->result)
                r = json_parse_column(row->result, &result);
        if (r < 0) {
                json_decref(targets);
                json_decref(params);
                return r;
        }
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:I, s:s?, s:o, s:s, s:I}",
                              "id", (json_int_t)row->id, "step_id", row->step_id, "integration",
                              row->integration, "connector", row->connector, "verb", row->verb,
                              "target_kind", row->target_kind, "targets", targets, "params", params, "state",
                              row->state, "attempts", (json_int_t)row->attempts, "detail", row->detail,
                              "result", result ? result : json_null(), "idempotency_key",
                              row->idempotency_key, "updated_at", (json_int_t)row->updated_at);
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

/* --- validation ---------------------------------------------------------------- */

static bool name_ok(const char *s) {
        return s && str_charset_ok(s, strlen(s), BW_NAME_MAX, "._-");
}

static bool idempotency_key_ok(const char *s) {
        if (!s)
                return false;
        size_t len = strlen(s);
        if (len == 0 || len > BW_STORE_IDEMPOTENCY_KEY_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (s[i] < 0x21 || s[i] > 0x7e)
                        return false;
        return true;
}

/* Returns the byte length to keep of a short text, or -EINVAL if it is not UTF-8.
 * Cutting a valid string before a continuation byte keeps it valid. */
static int text_keep_len(const char *s, size_t *ret_len) {
        size_t len = strlen(s);
        if (!utf8_valid(s, len))
                return -EINVAL;
        if (len > BW_STORE_TEXT_MAX) {
                len = BW_STORE_TEXT_MAX;
                while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
                        len--;
        }
        *ret_len = len;
        return 0;
}

/* A short human text given by an actor (a reason, a note): non-empty UTF-8 that
 * fits as it is. */
static bool short_text_ok(const char *t) {
        size_t len;
        return t && t[0] && text_keep_len(t, &len) == 0 && len == strlen(t);
}

/* JSON handed to the store must already be what the readers will return. */
static bool json_text_ok(const char *text, json_type want, bool strings_only) {
        if (!text)
                return false;
        size_t len = strlen(text);
        if (len > BW_STORE_JSON_MAX)
                return false;
        json_error_t err;
        json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
        if (!v)
                return false;
        bool ok = json_typeof(v) == want;
        if (ok && strings_only) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) if (!json_is_string(e)) ok = false;
        }
        json_decref(v);
        return ok;
}

static bool plan_ok(const store_action_plan *p) {
        switch (p->initial_state) {
        case ACTION_PLANNED:
        case ACTION_SKIPPED:
        case ACTION_RECOMMENDED:
        case ACTION_AWAITING_APPROVAL:
        case ACTION_DENIED:
                break;
        default:
                return false;
        }
        size_t detail_len;
        if (p->detail && (text_keep_len(p->detail, &detail_len) < 0 || detail_len != strlen(p->detail)))
                return false;
        return name_ok(p->step_id) && name_ok(p->integration) && name_ok(p->connector) && name_ok(p->verb) &&
               name_ok(p->target_kind) && idempotency_key_ok(p->idempotency_key) &&
               json_text_ok(p->targets_json, JSON_ARRAY, true) &&
               json_text_ok(p->params_json, JSON_OBJECT, false);
}

/* --- the writer ---------------------------------------------------------------- */

static void release_slots(store *s, uint64_t n) {
        if (n > 0)
                atomic_fetch_sub(&s->used, n);
}

static bool reserve_slots(store *s, uint64_t n) {
        uint64_t cur = atomic_load(&s->used);
        do {
                /* used may exceed a capacity lowered since the alerts were queued. */
                if (cur >= s->capacity || s->capacity - cur < n)
                        return false;
        } while (!atomic_compare_exchange_weak(&s->used, &cur, cur + n));
        return true;
}

/* Runs one job under its savepoint. Returns the job's own result in *ret_job_r, and
 * a negative errno when the group transaction itself is lost. */
static int writer_run_job(store *s, store_job *j, store_tx *group, int *ret_job_r) {
        store_tx tx = {.s = s};
        int r = s->be->job_begin(s->db);
        if (r < 0) {
                *ret_job_r = r;
                return r;
        }
        int jr = j->fn(&tx, j->userdata);
        if (jr < 0) {
                *ret_job_r = jr;
                /* If the transaction is gone, the job's error is the group's cause. */
                return s->be->job_rollback(s->db) < 0 ? jr : 0;
        }
        r = s->be->job_release(s->db);
        if (r < 0) {
                *ret_job_r = r;
                return r;
        }
        group->released += tx.released;
        group->enqueued += tx.enqueued;
        *ret_job_r = 0;
        return 0;
}

static void writer_run_group(store *s, store_job *head) {
        store_tx group = {.s = s};
        size_t n = 0;
        int r = s->be->tx_begin(s->db);
        for (store_job *j = head; j && r >= 0; j = j->next, n++)
                r = writer_run_job(s, j, &group, &j->r);
        if (r >= 0)
                r = s->be->tx_commit(s->db);
        if (r < 0)
                s->be->tx_rollback(s->db);
        else {
                atomic_fetch_add(&s->commits, 1);
                atomic_fetch_add(&s->jobs_run, n);
                release_slots(s, group.released);
                if (group.enqueued > 0) {
                        pthread_mutex_lock(&s->claim_lock);
                        s->enqueue_gen++;
                        if (s->claim_waiters > 0)
                                pthread_cond_broadcast(&s->claim_cond);
                        pthread_mutex_unlock(&s->claim_lock);
                }
        }
        for (store_job *j = head, *next; j; j = next) {
                next = j->next;
                /* Jobs after a lost transaction never ran: they fail with it. */
                j->complete(j, r < 0 ? r : j->r);
        }
}

static void *writer_main(void *arg) {
        store *s = arg;
        for (;;) {
                pthread_mutex_lock(&s->lock);
                while (!s->head && !s->stopping)
                        pthread_cond_wait(&s->work, &s->lock);
                if (!s->head) {
                        pthread_mutex_unlock(&s->lock);
                        return NULL;
                }
                store_job *head = s->head, *last = head;
                size_t weight = head->weight, taken = 1;
                while (last->next && weight + last->next->weight <= BW_STORE_GROUP_MAX) {
                        last = last->next;
                        weight += last->weight;
                        taken++;
                }
                s->head = last->next;
                if (!s->head)
                        s->tail = NULL;
                s->pending -= taken;
                last->next = NULL;
                pthread_mutex_unlock(&s->lock);
                writer_run_group(s, head);
        }
}

static int store_submit(store *s, store_job *j) {
        j->next = NULL;
        pthread_mutex_lock(&s->lock);
        if (s->stopping) {
                pthread_mutex_unlock(&s->lock);
                return -ESHUTDOWN;
        }
        if (s->tail)
                s->tail->next = j;
        else
                s->head = j;
        s->tail = j;
        s->pending++;
        pthread_cond_signal(&s->work);
        pthread_mutex_unlock(&s->lock);
        return 0;
}

static bool on_writer(store *s) {
        return s->writer_started && pthread_equal(pthread_self(), s->writer);
}

typedef struct sync_job {
        store_job job; /* first: the writer sees a store_job */
        sem_t done;
        int r;
} sync_job;

static void sync_job_complete(store_job *j, int r) {
        sync_job *sj = (sync_job *)j;
        sj->r = r;
        sem_post(&sj->done);
}

int store_write(store *s, store_job_fn fn, void *userdata) {
        if (!s || !fn)
                return -EINVAL;
        if (on_writer(s))
                return -EDEADLK;
        sync_job sj = {.job = {.fn = fn, .userdata = userdata, .weight = 1, .complete = sync_job_complete}};
        if (sem_init(&sj.done, 0, 0) < 0)
                return -errno;
        int r = store_submit(s, &sj.job);
        if (r >= 0) {
                while (sem_wait(&sj.done) < 0 && errno == EINTR)
                        ;
                r = sj.r;
        }
        sem_destroy(&sj.done);
        return r;
}

/* --- open and close ------------------------------------------------------------ */

static void store_destroy(store *s) {
        if (s->writer_started) {
                pthread_mutex_lock(&s->lock);
                s->stopping = true;
                pthread_cond_signal(&s->work);
                pthread_mutex_unlock(&s->lock);
                pthread_join(s->writer, NULL);
        }
        if (s->db)
                s->be->close(s->db);
        if (s->claim_cond_init)
                pthread_cond_destroy(&s->claim_cond);
        pthread_mutex_destroy(&s->claim_lock);
        pthread_cond_destroy(&s->work);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

static int writer_start(store *s) {
        sigset_t all, old;
        /* Signals belong to the daemon's main loop, never to the writer. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&s->writer, NULL, writer_main, s);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0)
                return -rc;
        s->writer_started = true;
        pthread_setname_np(s->writer, "bw-store-writer");
        return 0;
}

int store_open(const store_options *o, store **ret) {
        if (!o || !o->path || !ret || o->queue_capacity == 0 || o->queue_capacity > BW_QUEUE_CAPACITY_MAX)
                return -EINVAL;
        store *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->be = &store_backend_sqlite;
        s->capacity = o->queue_capacity;
        atomic_init(&s->lease_ms, (int64_t)BW_CLAIM_LEASE_S * 1000);
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->work, NULL);
        pthread_mutex_init(&s->claim_lock, NULL);

        pthread_condattr_t attr;
        int r = -pthread_condattr_init(&attr);
        if (r >= 0) {
                r = -pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
                if (r >= 0)
                        r = -pthread_cond_init(&s->claim_cond, &attr);
                pthread_condattr_destroy(&attr);
        }
        if (r < 0)
                goto fail;
        s->claim_cond_init = true;

        uint64_t active;
        r = s->be->open(o->path, &s->db, &active);
        if (r < 0)
                goto fail;
        atomic_init(&s->used, active);
        r = writer_start(s);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        store_destroy(s);
        return r;
}

void store_close(store *s) {
        if (s)
                store_destroy(s);
}

int store_schema_version(store *s) {
        if (!s)
                return -EINVAL;
        return s->be->schema_version(s->db);
}

/* --- the durable queue ---------------------------------------------------------- */

typedef struct enqueue_job {
        store_job job; /* first: the writer sees a store_job */
        store *s;
        store_enqueue_cb cb;
        void *userdata;
        const store_alert_in *alerts; /* the caller's, or the copy after ids */
        size_t n;
        int64_t ids[]; /* n ids, then for async jobs n store_alert_in and their bytes */
} enqueue_job;

static int enqueue_job_run(store_tx *tx, void *userdata) {
        enqueue_job *ej = userdata;
        int r = tx->s->be->alerts_insert(tx->s->db, ej->alerts, ej->n, ej->ids);
        if (r < 0)
                return r;
        tx->enqueued += ej->n;
        return 0;
}

static void enqueue_job_complete(store_job *j, int r) {
        enqueue_job *ej = (enqueue_job *)j;
        if (r < 0) {
                release_slots(ej->s, ej->n);
                ej->cb(ej->userdata, r, NULL, ej->n);
        } else
                ej->cb(ej->userdata, 0, ej->ids, ej->n);
        free(ej);
}

/* One allocation per call whatever n is: the job, the ids and, when the caller
 * does not wait, a copy of every body. */
static int enqueue_submit(store *s, const store_alert_in *alerts, size_t n, bool copy, store_enqueue_cb cb,
                          void *userdata) {
        if (!s || !alerts || n == 0 || !cb)
                return -EINVAL;
        size_t size, bytes = 0;
        if (__builtin_mul_overflow(n, sizeof(int64_t) + (copy ? sizeof(store_alert_in) : 0), &size) ||
            __builtin_add_overflow(size, sizeof(enqueue_job), &size))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!alerts[i].json || alerts[i].len == 0 || !alerts[i].type)
                        return -EINVAL;
                size_t tlen = strnlen(alerts[i].type, BW_ALERT_NAME_MAX + 1);
                if (tlen == 0 || tlen > BW_ALERT_NAME_MAX)
                        return -EINVAL;
                if (alerts[i].submitted_by && !name_ok(alerts[i].submitted_by))
                        return -EINVAL;
                size_t blen = alerts[i].submitted_by ? strlen(alerts[i].submitted_by) + 1 : 0;
                if (copy && (__builtin_add_overflow(bytes, alerts[i].len, &bytes) ||
                             __builtin_add_overflow(bytes, tlen + 1 + blen, &bytes)))
                        return -ENOMEM;
        }
        if (__builtin_add_overflow(size, bytes, &size))
                return -ENOMEM;
        if (!reserve_slots(s, n))
                return -ENOSPC;

        enqueue_job *ej = malloc(size);
        if (!ej) {
                release_slots(s, n);
                return -ENOMEM;
        }
        *ej = (enqueue_job){
                .job = {.fn = enqueue_job_run, .weight = n, .complete = enqueue_job_complete},
                .s = s,
                .cb = cb,
                .userdata = userdata,
                .alerts = alerts,
                .n = n,
        };
        ej->job.userdata = ej;
        if (copy) {
                store_alert_in *a = (store_alert_in *)(ej->ids + n);
                char *p = (char *)(a + n);
                for (size_t i = 0; i < n; i++) {
                        size_t tlen = strlen(alerts[i].type) + 1;
                        memcpy(p, alerts[i].json, alerts[i].len);
                        memcpy(p + alerts[i].len, alerts[i].type, tlen);
                        a[i] = (store_alert_in){.json = p,
                                                .len = alerts[i].len,
                                                .type = p + alerts[i].len,
                                                .received_at_ms = alerts[i].received_at_ms};
                        p += alerts[i].len + tlen;
                        if (alerts[i].submitted_by) {
                                size_t blen = strlen(alerts[i].submitted_by) + 1;
                                memcpy(p, alerts[i].submitted_by, blen);
                                a[i].submitted_by = p;
                                p += blen;
                        }
                }
                ej->alerts = a;
        }
        int r = store_submit(s, &ej->job);
        if (r < 0) {
                release_slots(s, n);
                free(ej);
        }
        return r;
}

int store_enqueue_async(store *s, const store_alert_in *alerts, size_t n, store_enqueue_cb cb,
                        void *userdata) {
        return enqueue_submit(s, alerts, n, true, cb, userdata);
}

typedef struct enqueue_wait {
        sem_t done;
        int r;
        int64_t *ret_ids;
} enqueue_wait;

static void enqueue_wait_cb(void *userdata, int r, const int64_t *ids, size_t n) {
        enqueue_wait *w = userdata;
        if (r >= 0)
                memcpy(w->ret_ids, ids, n * sizeof(*ids));
        w->r = r;
        sem_post(&w->done);
}

int store_enqueue(store *s, const store_alert_in *alerts, size_t n, int64_t *ret_ids) {
        if (!s || !ret_ids)
                return -EINVAL;
        /* The writer would wait for itself; an async enqueue from a callback is fine. */
        if (on_writer(s))
                return -EDEADLK;
        enqueue_wait w = {.ret_ids = ret_ids};
        if (sem_init(&w.done, 0, 0) < 0)
                return -errno;
        /* The caller's bodies outlive the job: no copy. */
        int r = enqueue_submit(s, alerts, n, false, enqueue_wait_cb, &w);
        if (r >= 0) {
                while (sem_wait(&w.done) < 0 && errno == EINTR)
                        ;
                r = w.r;
        }
        sem_destroy(&w.done);
        return r;
}

size_t store_queue_free(store *s) {
        if (!s)
                return 0;
        uint64_t used = atomic_load(&s->used);
        return used >= s->capacity ? 0 : (size_t)(s->capacity - used);
}

typedef struct claim_ctx {
        size_t max;
        store_claimed *ret;
        size_t n;
} claim_ctx;

static int claim_job(store_tx *tx, void *userdata) {
        claim_ctx *c = userdata;
        /* Leases run on the monotonic clock: a jump of the wall clock never
         * hands a live claim to a second worker. Claims do not outlive the
         * process (store_open requeues them) and one process holds the store. */
        int r = tx->s->be->alerts_claim(tx->s->db, c->max, clock_mono_ms(), atomic_load(&tx->s->lease_ms),
                                        c->ret);
        if (r < 0)
                return r;
        c->n = (size_t)r;
        return 0;
}

static int claimed_cmp(const void *a, const void *b) {
        const store_claimed *x = a, *y = b;
        return (x->id > y->id) - (x->id < y->id);
}

static struct timespec deadline_after(unsigned ms) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        return ts;
}

int store_claim(store *s, size_t max, unsigned wait_ms, store_claimed *ret) {
        if (!s || (!ret && max > 0))
                return -EINVAL;
        if (max == 0)
                return 0;
        if (max > INT_MAX)
                max = INT_MAX;
        struct timespec deadline = deadline_after(wait_ms);
        for (;;) {
                pthread_mutex_lock(&s->claim_lock);
                uint64_t gen = s->enqueue_gen, wake = s->wake_gen;
                pthread_mutex_unlock(&s->claim_lock);

                claim_ctx c = {.max = max, .ret = ret};
                int r = store_write(s, claim_job, &c);
                if (r < 0) {
                        store_claimed_clear(ret, c.n);
                        return r;
                }
                if (c.n > 0) {
                        /* RETURNING gives no order; callers expect oldest first. */
                        qsort(ret, c.n, sizeof(*ret), claimed_cmp);
                        return (int)c.n;
                }

                /* An enqueue that committed after the generation was read bumps it,
                 * so no wake-up is lost between the empty claim and the wait. */
                bool retry = false;
                pthread_mutex_lock(&s->claim_lock);
                s->claim_waiters++;
                while (gen == s->enqueue_gen && wake == s->wake_gen)
                        if (pthread_cond_timedwait(&s->claim_cond, &s->claim_lock, &deadline) == ETIMEDOUT)
                                break;
                retry = gen != s->enqueue_gen && wake == s->wake_gen;
                s->claim_waiters--;
                pthread_mutex_unlock(&s->claim_lock);
                if (!retry)
                        return 0;
        }
}

typedef struct rec_job {
        int64_t action_id;
        const char *actor;
        char detail[160];
        int64_t alert_id;
} rec_job;

static int rec_run(store_tx *tx, void *userdata) {
        rec_job *j = userdata;
        int r = tx->s->be->recommendation_requeue(tx->s->db, j->action_id, j->detail, clock_wall_ms(),
                                                  &j->alert_id);
        /* The analyst caused this run: not one who may approve it. */
        if (r == 0)
                r = tx->s->be->response->exec_requester_add(tx->s->db, 0, j->action_id, j->actor);
        if (r == 0)
                tx->enqueued++; /* wakes the engine's claimers after the commit */
        return r;
}

int store_recommendation_execute(store *s, int64_t action_id, const char *actor, int64_t *ret_alert_id) {
        if (!s || action_id <= 0 || !name_ok(actor) || !ret_alert_id)
                return -EINVAL;
        if (!reserve_slots(s, 1))
                return -ENOSPC;
        rec_job j = {.action_id = action_id, .actor = actor};
        snprintf(j.detail, sizeof(j.detail), "recommendation executed at the request of %s", actor);
        int r = store_write(s, rec_run, &j);
        if (r < 0) {
                release_slots(s, 1);
                return r;
        }
        *ret_alert_id = j.alert_id;
        return 0;
}

typedef struct renew_job {
        store_claimed *claims;
        size_t n;
        bool *lost;
        int64_t now_ms;
} renew_job;

static int renew_run(store_tx *tx, void *userdata) {
        renew_job *j = userdata;
        return tx->s->be->claims_renew(tx->s->db, j->claims, j->n, j->now_ms, j->lost);
}

int store_claims_renew(store *s, store_claimed *claims, size_t n, bool *ret_lost) {
        if (!s || (n > 0 && (!claims || !ret_lost)))
                return -EINVAL;
        if (n == 0)
                return 0;
        renew_job j = {.claims = claims, .n = n, .lost = ret_lost, .now_ms = clock_mono_ms()};
        int r = store_write(s, renew_run, &j);
        for (size_t i = 0; r == 0 && i < n; i++)
                if (!ret_lost[i])
                        claims[i].lease_stamp = j.now_ms;
        return r;
}

void store_claimed_clear(store_claimed *c, size_t n) {
        for (size_t i = 0; c && i < n; i++) {
                free(c[i].json);
                c[i] = (store_claimed){0};
        }
}

void store_wake_claimers(store *s) {
        if (!s)
                return;
        pthread_mutex_lock(&s->claim_lock);
        s->wake_gen++;
        pthread_cond_broadcast(&s->claim_cond);
        pthread_mutex_unlock(&s->claim_lock);
}

int store_queue_stats_get(store *s, store_queue_stats *ret) {
        if (!s || !ret)
                return -EINVAL;
        return s->be->queue_stats(s->db, ret);
}

/* --- executions and the action journal ----------------------------------------- */

int store_tx_exec_begin(store_tx *tx, int64_t alert_id, const char *playbook, int64_t playbook_version,
                        unsigned level, const store_action_plan *plans, size_t n, int64_t *ret_exec_id,
                        store_action *ret_actions) {
        if (!tx || !ret_exec_id || (n > 0 && (!plans || !ret_actions)) || !name_ok(playbook) || level == 0 ||
            level > STORE_LEVEL_MAX || playbook_version < 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!plan_ok(&plans[i]))
                        return -EINVAL;
        return tx->s->be->exec_begin(tx->s->db, alert_id, playbook, playbook_version, level, plans, n,
                                     clock_wall_ms(), ret_exec_id, ret_actions);
}

int store_tx_action_set(store_tx *tx, int64_t action_id, action_state state, const char *detail,
                        const char *result_json) {
        /* PLANNED is only ever an initial state. */
        if (!tx || (unsigned)state >= _ACTION_STATE_MAX || state == ACTION_PLANNED)
                return -EINVAL;
        size_t detail_len = 0;
        if (detail && text_keep_len(detail, &detail_len) < 0)
                return -EINVAL;
        if (result_json && !json_text_ok(result_json, JSON_OBJECT, false))
                return -EINVAL;
        action_state cur;
        int r = tx->s->be->action_state_get(tx->s->db, action_id, &cur);
        if (r < 0)
                return r;
        if (!action_transition_allowed(cur, state))
                return -EALREADY;
        return tx->s->be->action_set(tx->s->db, action_id, state, detail, detail_len, result_json,
                                     clock_wall_ms());
}

int store_tx_action_snapshot(store_tx *tx, int64_t action_id, const char *result_json) {
        if (!tx || action_id <= 0 || !json_text_ok(result_json, JSON_OBJECT, false))
                return -EINVAL;
        action_state cur;
        int r = tx->s->be->action_state_get(tx->s->db, action_id, &cur);
        if (r < 0)
                return r;
        if (cur != ACTION_INTENT)
                return -EALREADY;
        return tx->s->be->action_result_keep(tx->s->db, action_id, result_json, clock_wall_ms());
}

int store_tx_exec_finish(store_tx *tx, int64_t exec_id, exec_status status, const char *summary) {
        if (!tx || (unsigned)status >= _EXEC_STATUS_MAX || status == EXEC_RUNNING)
                return -EINVAL;
        size_t summary_len = 0;
        if (summary && text_keep_len(summary, &summary_len) < 0)
                return -EINVAL;
        return tx->s->be->exec_finish(tx->s->db, exec_id, status, summary, summary_len, clock_wall_ms());
}

int store_tx_alert_done(store_tx *tx, int64_t alert_id, unsigned matched) {
        if (!tx)
                return -EINVAL;
        int r = tx->s->be->alert_done(tx->s->db, alert_id, matched);
        if (r < 0)
                return r;
        tx->released += (uint64_t)r;
        return 0;
}

/* A JSON array of ids for one set-based statement (json_each): [id, ...], or
 * [[id, with[i]], ...] when with is given. NULL when out of memory. */
static char *ids_json(const int64_t *ids, const unsigned *with, size_t n) {
        /* At most 20 digits and a sign per id, 10 per value, and the punctuation. */
        size_t cap = n * 36 + 3, used = 0;
        char *out = malloc(cap);
        if (!out)
                return NULL;
        out[used++] = '[';
        for (size_t i = 0; i < n; i++)
                used += (size_t)(with ? snprintf(out + used, cap - used, "%s[%" PRId64 ",%u]", i ? "," : "",
                                                 ids[i], with[i])
                                      : snprintf(out + used, cap - used, "%s%" PRId64, i ? "," : "",
                                                 ids[i]));
        out[used++] = ']';
        out[used] = '\0';
        return out;
}

int store_tx_alerts_done(store_tx *tx, const int64_t *alert_ids, const unsigned *matched, size_t n) {
        if (!tx || (n > 0 && (!alert_ids || !matched)))
                return -EINVAL;
        if (n == 0)
                return 0;
        char *pairs = ids_json(alert_ids, matched, n);
        if (!pairs)
                return -ENOMEM;
        uint64_t done = 0;
        int r = tx->s->be->alerts_done(tx->s->db, pairs, &done);
        free(pairs);
        if (r < 0)
                return r;
        tx->released += done;
        return 0;
}

/* --- rate budgets and the circuit breaker ---------------------------------------- */

static bool budget_ok(const store_budget *b) {
        return b && b->key && b->key[0] && b->window_ms > 0;
}

int store_tx_budget_used(store_tx *tx, const store_budget *b, int64_t now_ms, uint64_t *ret) {
        if (!tx || !budget_ok(b) || now_ms < 0 || !ret)
                return -EINVAL;
        return tx->s->be->budget_used_tx(tx->s->db, b, now_ms, ret);
}

int store_tx_budget_charge(store_tx *tx, const store_budget *b, int64_t now_ms, uint64_t n) {
        if (!tx || !budget_ok(b) || now_ms < 0 || n == 0 || n > INT64_MAX)
                return -EINVAL;
        return tx->s->be->budget_charge(tx->s->db, b, now_ms, n);
}

int store_tx_breaker_is_open(store_tx *tx, bool *ret_open) {
        if (!tx || !ret_open)
                return -EINVAL;
        return tx->s->be->breaker_is_open(tx->s->db, ret_open);
}

int store_tx_breaker_open(store_tx *tx, const char *reason) {
        size_t len;
        if (!tx || !reason || text_keep_len(reason, &len) < 0 || len != strlen(reason))
                return -EINVAL;
        return tx->s->be->breaker_open(tx->s->db, reason, clock_wall_ms());
}

typedef struct breaker_reset_job {
        const char *actor, *reason;
} breaker_reset_job;

static int breaker_reset_run(store_tx *tx, void *userdata) {
        breaker_reset_job *j = userdata;
        return tx->s->be->breaker_reset(tx->s->db, j->actor, j->reason, clock_wall_ms());
}

int store_breaker_reset(store *s, const char *actor, const char *reason) {
        if (!s || !short_text_ok(actor) || !short_text_ok(reason))
                return -EINVAL;
        breaker_reset_job j = {.actor = actor, .reason = reason};
        return store_write(s, breaker_reset_run, &j);
}

int store_budget_used(store *s, const store_budget *b, uint64_t *ret) {
        if (!s || !budget_ok(b) || !ret)
                return -EINVAL;
        return s->be->budget_used(s->db, b, clock_wall_ms(), ret);
}

int store_breaker_get(store *s, json_t **ret) {
        if (!s || !ret)
                return -EINVAL;
        return s->be->breaker_get(s->db, ret);
}

/* --- approvals, reviews, rollback, expiry, folding, thresholds ------------------- */

static bool actors_ok(const approval_actors *a) {
        if (!a || a->n > BW_APPROVAL_REQUESTERS_MAX)
                return false;
        for (size_t i = 0; i < a->n; i++)
                if (!name_ok(a->names[i]))
                        return false;
        return true;
}

int store_tx_approval_request(store_tx *tx, const store_approval_request *r, int64_t *ret_id) {
        if (!tx || !r || !ret_id || r->exec_id <= 0 || !actors_ok(r->requesters) ||
            (r->author && r->author[0] && !name_ok(r->author)) ||
            !json_text_ok(r->reasons_json, JSON_ARRAY, true) || r->required < 1 || r->required > 2 ||
            r->requested_at_ms <= 0 || r->expires_at_ms < r->requested_at_ms)
                return -EINVAL;
        return tx->s->be->response->approval_request(tx->s->db, r, r->requested_at_ms, ret_id);
}

int store_tx_approval_get(store_tx *tx, int64_t exec_id, approval_record *ret, int64_t *ret_id) {
        if (!tx || exec_id <= 0 || !ret)
                return -EINVAL;
        store_approval_row row;
        int r = tx->s->be->response->approval_load(tx->s->db, 0, exec_id, &row);
        if (r < 0)
                return r;
        *ret = row.record;
        if (ret_id)
                *ret_id = row.id;
        return 0;
}

int store_tx_exec_requesters(store_tx *tx, int64_t exec_id, approval_actors *ret) {
        if (!tx || exec_id <= 0 || !ret)
                return -EINVAL;
        return tx->s->be->response->exec_requesters(tx->s->db, exec_id, ret);
}

typedef struct decide_job {
        int64_t id;
        const char *actor, *reason;
        approval_decision d;
        int64_t requeued;
} decide_job;

/* The rules are core/approval.c's; the backend loads and stores the row. */
static int decide_run(store_tx *tx, void *userdata) {
        decide_job *j = userdata;
        const store_backend_response *be = tx->s->be->response;
        int64_t now = clock_wall_ms();
        store_approval_row row;
        int r = be->approval_load(tx->s->db, j->id, 0, &row);
        if (r < 0)
                return r;
        r = approval_may_decide(&row.record, j->actor, j->d, now);
        /* The engine holds the alert: its view of the execution would overwrite
         * the decision when it finishes. */
        if (r == 0 && !row.alert_idle)
                r = -EBUSY;
        if (r < 0)
                return r;
        if (j->d == APPROVAL_REJECT)
                return be->approval_close(tx->s->db, &row, APPROVAL_REJECTED, j->actor, j->reason, now);
        r = approval_actors_add(&row.record.approved_by, j->actor);
        if (r < 0)
                return r;
        if (row.record.approved_by.n < row.record.required)
                return be->approval_vote(tx->s->db, &row);
        r = be->approval_close(tx->s->db, &row, APPROVAL_APPROVED, j->actor, j->reason, now);
        if (r == 0) {
                j->requeued = row.alert_id;
                tx->enqueued++;
        }
        return r;
}

int store_approval_decide(store *s, int64_t id, const char *actor, approval_decision d, const char *reason,
                          json_t **ret) {
        if (!s || id <= 0 || !name_ok(actor) || (unsigned)d >= _APPROVAL_DECISION_MAX ||
            !short_text_ok(reason) || !ret)
                return -EINVAL;
        /* An approval may put its alert back in the queue: it needs a slot. */
        if (!reserve_slots(s, 1))
                return -ENOSPC;
        decide_job j = {.id = id, .actor = actor, .reason = reason, .d = d};
        int r = store_write(s, decide_run, &j);
        if (r < 0 || !j.requeued)
                release_slots(s, 1);
        return r < 0 ? r : s->be->response->approval_get(s->db, id, ret);
}

typedef struct expire_job {
        int64_t now_ms;
        int64_t ids[BW_APPROVAL_EXPIRE_BATCH];
        size_t n;
} expire_job;

static int expire_run(store_tx *tx, void *userdata) {
        expire_job *j = userdata;
        const store_backend_response *be = tx->s->be->response;
        int n = be->approvals_due(tx->s->db, j->now_ms, j->ids, BW_APPROVAL_EXPIRE_BATCH);
        if (n < 0)
                return n;
        j->n = 0;
        for (int i = 0; i < n; i++) {
                store_approval_row row;
                int r = be->approval_load(tx->s->db, j->ids[i], 0, &row);
                if (r == 0 &&
                    approval_may_decide(&row.record, ACTOR_ENGINE, APPROVAL_REJECT, j->now_ms) != -ETIMEDOUT)
                        continue; /* not due by the rule: left alone */
                if (r == 0)
                        r = be->approval_close(tx->s->db, &row, APPROVAL_REJECTED, ACTOR_ENGINE,
                                               "not decided before it expired", j->now_ms);
                if (r < 0)
                        return r;
                j->ids[j->n++] = j->ids[i];
        }
        return 0;
}

int store_approvals_expire(store *s, int64_t now_ms, int64_t *ret_ids, size_t max) {
        if (!s || (max > 0 && !ret_ids))
                return -EINVAL;
        expire_job *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->now_ms = now_ms;
        int r = store_write(s, expire_run, j);
        if (r == 0) {
                for (size_t i = 0; i < j->n && i < max; i++)
                        ret_ids[i] = j->ids[i];
                r = (int)j->n;
        }
        free(j);
        return r;
}

int store_tx_review_open(store_tx *tx, int64_t exec_id) {
        if (!tx || exec_id <= 0)
                return -EINVAL;
        return tx->s->be->response->review_open(tx->s->db, exec_id);
}

typedef struct review_job {
        int64_t id;
        const char *actor, *note;
} review_job;

static int review_run(store_tx *tx, void *userdata) {
        review_job *j = userdata;
        return tx->s->be->response->review_ack(tx->s->db, j->id, j->actor, j->note, clock_wall_ms());
}

int store_approval_review(store *s, int64_t id, const char *actor, const char *note, json_t **ret) {
        if (!s || id <= 0 || !name_ok(actor) || !short_text_ok(note) || !ret)
                return -EINVAL;
        review_job j = {.id = id, .actor = actor, .note = note};
        int r = store_write(s, review_run, &j);
        return r < 0 ? r : s->be->response->approval_get(s->db, id, ret);
}

int store_approval_list(store *s, const char *state, unsigned limit, json_t **ret) {
        if (!s || !ret || limit == 0 || limit > 1000)
                return -EINVAL;
        return s->be->response->approval_list(s->db, state, limit, ret);
}

int store_approval_get(store *s, int64_t id, json_t **ret) {
        if (!s || !ret)
                return -EINVAL;
        return s->be->response->approval_get(s->db, id, ret);
}

typedef struct rollback_job {
        int64_t exec_id;
        const char *actor;
        char detail[BW_STORE_TEXT_MAX + 2 * BW_NAME_MAX];
        int64_t alert_id;
        unsigned n;
} rollback_job;

static int rollback_run(store_tx *tx, void *userdata) {
        rollback_job *j = userdata;
        int r = tx->s->be->response->exec_rollback(tx->s->db, j->exec_id, j->detail, clock_wall_ms(),
                                                   &j->alert_id, &j->n);
        if (r == 0)
                r = tx->s->be->response->exec_requester_add(tx->s->db, j->exec_id, 0, j->actor);
        if (r == 0)
                tx->enqueued++;
        return r;
}

int store_exec_rollback(store *s, int64_t exec_id, const char *actor, const char *reason,
                        int64_t *ret_alert_id, unsigned *ret_n) {
        if (!s || exec_id <= 0 || !name_ok(actor) || !short_text_ok(reason) || !ret_alert_id || !ret_n)
                return -EINVAL;
        if (!reserve_slots(s, 1))
                return -ENOSPC;
        rollback_job j = {.exec_id = exec_id, .actor = actor};
        snprintf(j.detail, sizeof(j.detail), "rollback requested by %s: %s", actor, reason);
        int r = store_write(s, rollback_run, &j);
        if (r < 0) {
                release_slots(s, 1);
                return r;
        }
        *ret_alert_id = j.alert_id;
        *ret_n = j.n;
        return 0;
}

typedef struct expired_job {
        int64_t now_ms;
        size_t slots;
        uint64_t requeued;
        int n;
} expired_job;

static int expired_run(store_tx *tx, void *userdata) {
        expired_job *j = userdata;
        int n = tx->s->be->response->expired_rollback(tx->s->db, j->now_ms, j->slots, &j->requeued);
        if (n < 0)
                return n;
        j->n = n;
        tx->enqueued += j->requeued;
        return 0;
}

int store_expired_rollback(store *s, int64_t now_ms) {
        if (!s)
                return -EINVAL;
        /* Each due action may put its alert back in the queue: as many slots as free. */
        size_t slots = store_queue_free(s);
        if (slots > BW_EXPIRY_BATCH)
                slots = BW_EXPIRY_BATCH;
        if (slots == 0 || !reserve_slots(s, slots))
                return 0;
        expired_job j = {.now_ms = now_ms, .slots = slots};
        int r = store_write(s, expired_run, &j);
        release_slots(s, r < 0 ? slots : slots - j.requeued);
        return r < 0 ? r : j.n;
}

int store_tx_action_result(store_tx *tx, int64_t action_id, char **ret) {
        if (!tx || !ret)
                return -EINVAL;
        return tx->s->be->response->action_result(tx->s->db, action_id, ret);
}

int store_tx_action_expiry(store_tx *tx, int64_t action_id, int64_t until_ms, bool revert) {
        if (!tx || action_id <= 0 || until_ms <= 0)
                return -EINVAL;
        return tx->s->be->response->action_expiry(tx->s->db, action_id, until_ms, revert);
}

int store_tx_effects_cover(store_tx *tx, const char *integration, const char *verb, char *const *targets,
                           size_t n, int64_t until_ms, int64_t *ret_by) {
        if (!tx || !name_ok(integration) || !name_ok(verb) || (n > 0 && !targets) || !ret_by)
                return -EINVAL;
        /* Live means ending after this instant: now, or the end the new action wants. */
        int64_t now = clock_wall_ms();
        int64_t after = until_ms > now ? until_ms - 1 : now;
        return tx->s->be->response->effects_cover(tx->s->db, integration, verb, targets, n, after, ret_by);
}

int store_tx_effects_held(store_tx *tx, const char *integration, const char *verb, char *const *targets,
                          size_t n, int64_t action_id, bool *held, int64_t *ret_by) {
        if (!tx || !name_ok(integration) || !name_ok(verb) || (n > 0 && (!targets || !held)) || !ret_by)
                return -EINVAL;
        return tx->s->be->response->effects_held(tx->s->db, integration, verb, targets, n, action_id,
                                                 clock_wall_ms(), held, ret_by);
}

int store_tx_threshold_add(store_tx *tx, const char *playbook, const char *key, unsigned threshold,
                           int64_t window_ms, int64_t at_ms, unsigned n, unsigned *ret_fires_at) {
        if (!tx || !name_ok(playbook) || !key || strlen(key) > BW_THRESHOLD_KEY_MAX || threshold == 0 ||
            window_ms <= 0 || n == 0 || !ret_fires_at)
                return -EINVAL;
        return tx->s->be->response->threshold_add(tx->s->db, playbook, key, threshold, window_ms, at_ms, n,
                                                  ret_fires_at);
}

int store_tx_threshold_hit(store_tx *tx, const char *playbook, const char *key, unsigned threshold,
                           int64_t window_ms, int64_t at_ms) {
        unsigned at;
        return store_tx_threshold_add(tx, playbook, key, threshold, window_ms, at_ms, 1, &at);
}

int store_tx_alerts_counted(store_tx *tx, const int64_t *alert_ids, size_t n) {
        if (!tx || (n > 0 && !alert_ids))
                return -EINVAL;
        if (n == 0)
                return 0;
        char *ids = ids_json(alert_ids, NULL, n);
        if (!ids)
                return -ENOMEM;
        int r = tx->s->be->response->alerts_counted(tx->s->db, ids);
        free(ids);
        return r;
}

int store_tx_exec_exists(store_tx *tx, int64_t alert_id, const char *playbook, bool *ret) {
        if (!tx || !name_ok(playbook) || !ret)
                return -EINVAL;
        return tx->s->be->response->exec_exists(tx->s->db, alert_id, playbook, ret);
}

typedef struct prune_job {
        int64_t now_ms;
} prune_job;

static int prune_run(store_tx *tx, void *userdata) {
        const prune_job *j = userdata;
        return tx->s->be->response->prune(tx->s->db, j->now_ms);
}

int store_prune(store *s, int64_t now_ms) {
        if (!s)
                return -EINVAL;
        prune_job j = {.now_ms = now_ms};
        return store_write(s, prune_run, &j);
}

/* --- the notification outbox ----------------------------------------------------- */

static bool notification_ok(const store_notification *n) {
        return name_ok(n->integration) && name_ok(n->target_kind) &&
               idempotency_key_ok(n->idempotency_key) && n->action_id >= 0 &&
               json_text_ok(n->targets_json, JSON_ARRAY, true) &&
               json_text_ok(n->params_json, JSON_OBJECT, false);
}

int store_tx_outbox_add(store_tx *tx, const store_notification *notes, size_t n, size_t max_pending) {
        if (!tx || (n > 0 && !notes) || max_pending == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!notification_ok(&notes[i]))
                        return -EINVAL;
        if (n == 0)
                return 0;
        const store_backend_outbox *ob = tx->s->be->outbox;
        int64_t now = clock_wall_ms();
        uint64_t pending = 0;
        int r = ob->add(tx->s->db, notes, n, now);
        if (r == 0)
                r = ob->pending(tx->s->db, &pending);
        if (r < 0 || pending <= max_pending)
                return r;
        uint64_t excess = pending - max_pending;
        r = ob->drop_oldest(tx->s->db, excess, now);
        return r < 0 ? r : excess > INT_MAX ? INT_MAX : (int)excess;
}

typedef struct outbox_add_job {
        const store_notification *notes;
        size_t n, max_pending;
        int dropped;
} outbox_add_job;

static int outbox_add_run(store_tx *tx, void *userdata) {
        outbox_add_job *j = userdata;
        j->dropped = store_tx_outbox_add(tx, j->notes, j->n, j->max_pending);
        return j->dropped < 0 ? j->dropped : 0;
}

int store_outbox_add(store *s, const store_notification *notes, size_t n, size_t max_pending) {
        if (!s)
                return -EINVAL;
        outbox_add_job j = {.notes = notes, .n = n, .max_pending = max_pending};
        int r = store_write(s, outbox_add_run, &j);
        return r < 0 ? r : j.dropped;
}

int store_outbox_due(store *s, int64_t now_ms, size_t max, store_outbox_row *ret) {
        if (!s || max == 0 || !ret)
                return -EINVAL;
        return s->be->outbox->due(s->db, now_ms, max, ret);
}

void store_outbox_rows_clear(store_outbox_row *rows, size_t n) {
        for (size_t i = 0; rows && i < n; i++) {
                free(rows[i].targets_json);
                free(rows[i].params_json);
                rows[i].targets_json = rows[i].params_json = NULL;
        }
}

typedef struct outbox_attempt_job {
        int64_t id, next_at_ms;
        outbox_state state;
        const char *error;
        size_t error_len;
} outbox_attempt_job;

static int outbox_attempt_run(store_tx *tx, void *userdata) {
        const outbox_attempt_job *j = userdata;
        return tx->s->be->outbox->attempt(tx->s->db, j->id, j->state, j->next_at_ms, j->error, j->error_len,
                                          clock_wall_ms());
}

int store_outbox_attempt(store *s, int64_t id, outbox_state state, int64_t next_at_ms, const char *error) {
        outbox_attempt_job j = {.id = id, .next_at_ms = next_at_ms, .state = state, .error = error};
        if (!s || id <= 0 || (unsigned)state >= _OUTBOX_STATE_MAX || state == OUTBOX_DROPPED ||
            (error && text_keep_len(error, &j.error_len) < 0))
                return -EINVAL;
        return store_write(s, outbox_attempt_run, &j);
}

typedef struct outbox_defer_job {
        const char *integration;
        int64_t until_ms;
        int moved;
} outbox_defer_job;

static int outbox_defer_run(store_tx *tx, void *userdata) {
        outbox_defer_job *j = userdata;
        j->moved = tx->s->be->outbox->defer(tx->s->db, j->integration, j->until_ms);
        return j->moved < 0 ? j->moved : 0;
}

int store_outbox_defer(store *s, const char *integration, int64_t until_ms) {
        if (!s || !name_ok(integration))
                return -EINVAL;
        outbox_defer_job j = {.integration = integration, .until_ms = until_ms};
        int r = store_write(s, outbox_defer_run, &j);
        return r < 0 ? r : j.moved;
}

int store_outbox_counts(store *s, uint64_t ret[_OUTBOX_STATE_MAX]) {
        if (!s || !ret)
                return -EINVAL;
        return s->be->outbox->counts(s->db, ret);
}

static int outbox_prune_run(store_tx *tx, void *userdata) {
        const int64_t *before = userdata;
        return tx->s->be->outbox->prune(tx->s->db, *before);
}

int store_outbox_prune(store *s, int64_t before_ms) {
        if (!s)
                return -EINVAL;
        return store_write(s, outbox_prune_run, &before_ms);
}

/* --- reads ---------------------------------------------------------------------- */

int store_alert_get(store *s, int64_t id, json_t **ret) {
        if (!s || !ret)
                return -EINVAL;
        return s->be->alert_get(s->db, id, ret);
}

int store_exec_list(store *s, int64_t before_id, unsigned limit, json_t **ret) {
        if (!s || !ret || limit == 0 || limit > 1000)
                return -EINVAL;
        return s->be->exec_list(s->db, before_id, limit, ret);
}

int store_exec_get(store *s, int64_t id, json_t **ret) {
        if (!s || !ret)
                return -EINVAL;
        return s->be->exec_get(s->db, id, ret);
}

static int ping_job(store_tx *tx, void *userdata) {
        return tx->s->be->ping(tx->s->db, clock_wall_ms());
}

int store_ping(store *s) {
        return store_write(s, ping_job, NULL);
}

/* --- introspection for tests (store_internal.h) --------------------------------- */

uint64_t store_commit_count(store *s) {
        return atomic_load(&s->commits);
}

uint64_t store_job_count(store *s) {
        return atomic_load(&s->jobs_run);
}

size_t store_pending_jobs(store *s) {
        pthread_mutex_lock(&s->lock);
        size_t n = s->pending;
        pthread_mutex_unlock(&s->lock);
        return n;
}

unsigned store_claim_waiters(store *s) {
        pthread_mutex_lock(&s->claim_lock);
        unsigned n = s->claim_waiters;
        pthread_mutex_unlock(&s->claim_lock);
        return n;
}

unsigned store_migrations_applied(store *s) {
        return s->be->migrations_applied(s->db);
}

int store_schema_latest(void) {
        return store_backend_sqlite.schema_latest;
}

void store_set_lease_ms(store *s, int64_t lease_ms) {
        atomic_store(&s->lease_ms, lease_ms);
}
