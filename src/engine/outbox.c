/* SPDX-License-Identifier: Apache-2.0 */
/* The outbox thread (see outbox.h). Runs in the daemon; it reads notifications
 * from the store (built by the engine from validated alerts) and talks to the
 * connector pool only. */
#include "engine/outbox.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/limits.h"
#include "engine/gate.h"
#include "util/clock.h"
#include "util/log.h"

/* Settled notifications older than BW_OUTBOX_KEEP_S are pruned once a minute:
 * nothing depends on it but the store's size. */
#define OUTBOX_PRUNE_EVERY_MS 60000

struct outbox {
        engine_deps deps;
        pthread_t thread;
        int stop_fd; /* eventfd, readable once outbox_stop was called */
        /* Per integration (config order): its last backoff, 0 after a success;
         * whether an attempt failed in the current pass. */
        int64_t *backoff_ms;
        bool *failed;
};

static bool outbox_stopping(const outbox *o) {
        struct pollfd pfd = {.fd = o->stop_fd, .events = POLLIN};
        return poll(&pfd, 1, 0) > 0;
}

/* One notification, as the connector sees it: verb "send" of its notify
 * integration, with its own targets, params and key. */
typedef struct outbox_note {
        connector_action action;
        json_t *targets, *params;
        char **items;
} outbox_note;

static void outbox_note_clear(outbox_note *n) {
        free(n->items);
        json_decref(n->targets);
        json_decref(n->params);
}

static int outbox_note_of(const store_outbox_row *row, outbox_note *ret) {
        outbox_note n = {.targets = json_loads(row->targets_json, 0, NULL),
                         .params = json_loads(row->params_json, 0, NULL)};
        size_t count = json_array_size(n.targets);
        int r = json_is_array(n.targets) && json_is_object(n.params) &&
                                target_kind_from_name(row->target_kind, &n.action.kind) == 0
                        ? 0
                        : -EBADMSG;
        if (r == 0 && count > 0 && !(n.items = calloc(count, sizeof(*n.items))))
                r = -ENOMEM;
        for (size_t i = 0; r == 0 && i < count; i++) {
                const char *t = json_string_value(json_array_get(n.targets, i));
                if (!t)
                        r = -EBADMSG;
                n.items[i] = (char *)t;
        }
        if (r < 0) {
                outbox_note_clear(&n);
                return r;
        }
        n.action.action_id = row->action_id;
        n.action.verb = "send";
        n.action.targets = n.items;
        n.action.n_targets = count;
        n.action.params = n.params;
        n.action.idempotency_key = row->idempotency_key;
        *ret = n;
        return 0;
}

static void outbox_record(const outbox *o, const store_outbox_row *row, outbox_state state, int64_t next_at,
                          const char *why) {
        int r = store_outbox_attempt(o->deps.store, row->id, state, next_at, why);
        if (r < 0)
                log_errno(r, "governor", "notify.record_failed",
                          "the attempt at notification %" PRId64 " was not recorded; it may be sent again",
                          row->id);
}

/* An attempt failed: another after the integration's next backoff, which its
 * other notifications wait out too; after BW_OUTBOX_ATTEMPTS_MAX, given up. */
static void outbox_failed(outbox *o, const store_outbox_row *row, int64_t *backoff, const char *why) {
        *backoff = clock_backoff_next(*backoff, BW_OUTBOX_RETRY_MS_MIN, BW_OUTBOX_RETRY_MS_MAX);
        int64_t next_at = clock_wall_ms() + *backoff;
        bool last = row->attempts + 1 >= BW_OUTBOX_ATTEMPTS_MAX;
        atomic_fetch_add_explicit(&o->deps.metrics->notifications[last ? NOTIFY_FAILED : NOTIFY_RETRIED], 1,
                                  memory_order_relaxed);
        log_json(last ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN, "governor",
                 last ? "notify.failed" : "notify.retry",
                 json_pack("{sI sI ss si ss sI}", "notification_id", (json_int_t)row->id, "action_id",
                           (json_int_t)row->action_id, "integration", row->integration, "attempts",
                           (int)row->attempts + 1, "detail", why, "retry_in_ms",
                           (json_int_t)(last ? 0 : *backoff)));
        outbox_record(o, row, last ? OUTBOX_FAILED : OUTBOX_PENDING, next_at, why);
        int r = store_outbox_defer(o->deps.store, row->integration, next_at);
        if (r < 0)
                log_errno(r, "governor", "notify.defer_failed", "%s: its notifications were not deferred",
                          row->integration);
}

/* A notification that can never be sent as it is: failed at once. Returns 0. */
static int outbox_give_up(outbox *o, const store_outbox_row *row, const char *why) {
        atomic_fetch_add_explicit(&o->deps.metrics->notifications[NOTIFY_FAILED], 1, memory_order_relaxed);
        log_json(LOG_LEVEL_ERROR, "governor", "notify.failed",
                 json_pack("{sI sI ss ss}", "notification_id", (json_int_t)row->id, "action_id",
                           (json_int_t)row->action_id, "integration", row->integration, "detail", why));
        outbox_record(o, row, OUTBOX_FAILED, 0, why);
        return 0;
}

/* Sends one notification. Returns 1 when sent, 0 when the attempt failed (or
 * it was given up), -ECANCELED when the outbox is stopping (it stays pending). */
static int outbox_send(outbox *o, const store_outbox_row *row) {
        const integration_config *ic = config_integration_find(o->deps.config, row->integration);
        if (!ic)
                return outbox_give_up(o, row, "its integration is no longer configured");
        int64_t *backoff = &o->backoff_ms[ic - o->deps.config->integrations];
        outbox_note note;
        int r = outbox_note_of(row, &note);
        if (r == -EBADMSG)
                return outbox_give_up(o, row, "malformed in the store");
        if (r < 0) {
                outbox_failed(o, row, backoff, strerror(-r));
                return 0;
        }
        /* The governor's own message to people: it acts on no system. */
        governor_permit permit;
        const connector_action *a = &note.action;
        connector_result res = {0};
        r = gate_permit_notification(ic->name, a, &permit);
        if (r == 0)
                r = connector_pool_call_cancellable(o->deps.pool, ic->name, CONNECTOR_OP_APPLY, a, &permit,
                                                    ic->timeout_ms, o->stop_fd, &res);
        outbox_note_clear(&note);
        if (r == -ECANCELED)
                return r;
        bool sent = r == 0 && res.ok;
        if (sent) {
                *backoff = 0;
                atomic_fetch_add_explicit(&o->deps.metrics->notifications[NOTIFY_SENT], 1,
                                          memory_order_relaxed);
                outbox_record(o, row, OUTBOX_SENT, 0, NULL);
        } else {
                outbox_failed(o, row, backoff, r < 0 ? strerror(-r) : res.detail);
        }
        connector_result_clear(&res);
        return sent;
}

/* One pass over the due notifications, oldest due first. After a failed
 * attempt the integration's other notifications were deferred with it: the
 * pass skips them. Returns how many it attempted. */
static size_t outbox_pass(outbox *o) {
        store_outbox_row rows[BW_OUTBOX_BATCH];
        int n = store_outbox_due(o->deps.store, clock_wall_ms(), BW_OUTBOX_BATCH, rows);
        if (n < 0) {
                log_errno(n, "governor", "notify.read_failed", "could not read the due notifications");
                return 0;
        }
        memset(o->failed, 0, o->deps.config->n_integrations * sizeof(*o->failed));
        size_t done = 0;
        for (int i = 0; i < n && !outbox_stopping(o); i++) {
                const integration_config *ic = config_integration_find(o->deps.config, rows[i].integration);
                size_t k = ic ? (size_t)(ic - o->deps.config->integrations) : 0;
                if (ic && o->failed[k])
                        continue;
                int r = outbox_send(o, &rows[i]);
                if (r < 0)
                        break;
                if (ic && r == 0)
                        o->failed[k] = true;
                done++;
        }
        store_outbox_rows_clear(rows, (size_t)n);
        return done;
}

static void outbox_prune(outbox *o, int64_t *pruned_at) {
        int64_t now = clock_wall_ms();
        if (now - *pruned_at < OUTBOX_PRUNE_EVERY_MS)
                return;
        int r = store_outbox_prune(o->deps.store, now - (int64_t)BW_OUTBOX_KEEP_S * 1000);
        if (r < 0)
                log_errno(r, "governor", "notify.prune_failed", "could not prune settled notifications");
        *pruned_at = now;
}

static void *outbox_main(void *arg) {
        outbox *o = arg;
        int64_t pruned_at = 0;
        while (!outbox_stopping(o)) {
                size_t done = outbox_pass(o);
                outbox_prune(o, &pruned_at);
                /* Idle, or only notifications waiting out a backoff: look again soon. */
                if (done == 0) {
                        struct pollfd pfd = {.fd = o->stop_fd, .events = POLLIN};
                        poll(&pfd, 1, (int)BW_OUTBOX_POLL_MS);
                }
        }
        return NULL;
}

static void outbox_free(outbox *o) {
        if (o->stop_fd >= 0)
                close(o->stop_fd);
        free(o->backoff_ms);
        free(o->failed);
        free(o);
}

int outbox_start(const engine_deps *deps, outbox **ret) {
        outbox *o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->deps = *deps;
        size_t n = deps->config->n_integrations ? deps->config->n_integrations : 1;
        o->backoff_ms = calloc(n, sizeof(*o->backoff_ms));
        o->failed = calloc(n, sizeof(*o->failed));
        o->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        int r = o->backoff_ms && o->failed ? 0 : -ENOMEM;
        if (r == 0 && o->stop_fd < 0)
                r = -errno;
        if (r == 0)
                r = -pthread_create(&o->thread, NULL, outbox_main, o);
        if (r < 0) {
                outbox_free(o);
                return r;
        }
        *ret = o;
        return 0;
}

void outbox_stop(outbox *o) {
        if (!o)
                return;
        uint64_t one = 1;
        /* An eventfd's counter cannot overflow from one write: it succeeds. */
        while (write(o->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
                ;
        pthread_join(o->thread, NULL);
        outbox_free(o);
}
