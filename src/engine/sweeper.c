/* SPDX-License-Identifier: Apache-2.0 */
/* The sweeper thread (see sweeper.h): approval timeouts, expiring actions and
 * pruning, driven by the wall clock. Runs in the daemon; it reads only the store. */
#include "engine/sweeper.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/limits.h"
#include "engine/notify.h"
#include "util/clock.h"
#include "util/log.h"

/* Ended windows and effects are pruned once a minute: nothing depends on it but
 * the store's size. */
#define SWEEPER_PRUNE_EVERY_MS 60000

struct sweeper {
        engine_deps deps;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t wake; /* on CLOCK_MONOTONIC */
        bool stopping;
};

typedef struct expired_notes {
        const engine_deps *deps;
        const int64_t *ids;
        size_t n;
        unsigned dropped;
} expired_notes;

/* The approvers are told, in a write of its own (the expiry was committed by
 * store_approvals_expire). */
static int expired_notes_job(store_tx *tx, void *userdata) {
        expired_notes *j = userdata;
        j->dropped = 0;
        for (size_t i = 0; i < j->n; i++) {
                json_t *params = json_pack("{ss sI}", "event", "approval.expired", "approval_id",
                                           (json_int_t)j->ids[i]);
                char text[64];
                snprintf(text, sizeof(text), "approval.expired %" PRId64, j->ids[i]);
                int r = engine_notify_text(tx, j->deps, engine_approvals_notify(j->deps->config), params,
                                           text);
                json_decref(params);
                if (r < 0)
                        return r;
                j->dropped += (unsigned)r;
        }
        return 0;
}

static void approvals_expire(sweeper *s, int64_t now) {
        int64_t ids[BW_APPROVAL_EXPIRE_BATCH];
        int n = store_approvals_expire(s->deps.store, now, ids, BW_APPROVAL_EXPIRE_BATCH);
        if (n < 0)
                log_errno(n, "sweeper", "approvals.expire_failed", "could not reject due approvals");
        for (int i = 0; i < n; i++)
                log_json(LOG_LEVEL_WARN, "governor", "approval.expired",
                         json_pack("{sI}", "approval_id", (json_int_t)ids[i]));
        if (n <= 0)
                return;
        expired_notes j = {.deps = &s->deps, .ids = ids, .n = (size_t)n};
        int r = store_write(s->deps.store, expired_notes_job, &j);
        if (r < 0)
                log_errno(r, "sweeper", "notify.queue_failed",
                          "the approvers of %d expired approvals are not told", n);
        else
                engine_notify_dropped(&s->deps, j.dropped);
}

static void sweep(sweeper *s, int64_t *pruned_at) {
        int64_t now = clock_wall_ms();
        approvals_expire(s, now);
        int n = store_expired_rollback(s->deps.store, now);
        if (n < 0)
                log_errno(n, "sweeper", "expiry.failed", "could not hand expired actions back");
        else if (n > 0)
                log_json(LOG_LEVEL_INFO, "sweeper", "expiry.rollback_requested",
                         json_pack("{si}", "actions", n));
        if (now - *pruned_at >= SWEEPER_PRUNE_EVERY_MS) {
                int r = store_prune(s->deps.store, now);
                if (r < 0)
                        log_errno(r, "sweeper", "prune.failed", "could not prune ended windows");
                *pruned_at = now;
        }
}

static void *sweeper_main(void *arg) {
        sweeper *s = arg;
        int64_t pruned_at = 0;
        pthread_mutex_lock(&s->lock);
        while (!s->stopping) {
                pthread_mutex_unlock(&s->lock);
                sweep(s, &pruned_at);
                pthread_mutex_lock(&s->lock);
                struct timespec until;
                clock_gettime(CLOCK_MONOTONIC, &until);
                until.tv_nsec += (long)BW_SWEEP_INTERVAL_MS * 1000000L;
                until.tv_sec += until.tv_nsec / 1000000000L;
                until.tv_nsec %= 1000000000L;
                while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
                        ;
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

int sweeper_start(const engine_deps *deps, sweeper **ret) {
        sweeper *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->deps = *deps;
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&s->wake, &attr);
        pthread_condattr_destroy(&attr);
        pthread_mutex_init(&s->lock, NULL);
        int r = pthread_create(&s->thread, NULL, sweeper_main, s);
        if (r != 0) {
                pthread_cond_destroy(&s->wake);
                pthread_mutex_destroy(&s->lock);
                free(s);
                return -r;
        }
        *ret = s;
        return 0;
}

void sweeper_stop(sweeper *s) {
        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
}
