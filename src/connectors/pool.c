/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's side of the connector boundary (see pool.h): spawns one worker
 * process per integration, serialises calls to each, and kills, reaps and
 * restarts a worker that times out, dies or sends a malformed message. Runs in
 * the daemon; every byte from a worker is untrusted. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/limits.h"
#include "connectors/ipc.h"
#include "connectors/pool.h"
#include "connectors/spawn.h"
#include "util/clock.h"
#include "util/log.h"

/* The descriptor the worker finds its socket on (pool.h). */
#define POOL_WORKER_FD 3

typedef struct pool_worker {
        pthread_mutex_t lock;   /* one call in flight; guards everything below except the atomics */
        integration_config cfg; /* own copy; settings deep-copied */
        const connector_kind *kind;
        spawned child; /* SPAWNED_NONE without a worker */
        uint32_t seq;
        int64_t restart_ms[BW_WORKER_RESTARTS_PER_MIN]; /* ring of recent restart times */
        size_t n_restart_ms, next_restart_ms;
        /* Read by status and readiness probes without waiting for a call. */
        _Atomic int pid_seen;
        atomic_bool up;
        atomic_uint restarts;
        /* The restart budget was spent (a half-open circuit): no restart before
         * retry_at_ms, then one; the first call that works after it makes the
         * worker healthy again. backoff_ms is the wait, doubling while the worker
         * keeps failing. */
        atomic_bool degraded;
        _Atomic int64_t retry_at_ms;
        _Atomic unsigned backoff_ms;
        sandbox_status sandbox; /* as its INIT_OK said; guarded by the pool's status_lock */
} pool_worker;

struct connector_pool {
        spawn_link *parent;          /* starts and signals the workers (connectors/spawn.h) */
        bool confine;                /* false only under --no-sandbox */
        pthread_mutex_t status_lock; /* the workers' sandbox statuses */
        pool_worker *workers;
        size_t n; /* initialised entries of workers */
};

static unsigned pool_timeout(const pool_worker *w) {
        return w->cfg.timeout_ms ? w->cfg.timeout_ms : BW_CONNECTOR_TIMEOUT_MS_DEFAULT;
}

static void pool_forget(pool_worker *w) {
        spawned_close(&w->child);
        atomic_store(&w->pid_seen, 0);
        atomic_store(&w->up, false);
}

/* Kills the worker (if still running: the parent signals it by the id of its
 * start, never by a pid that could be reused) and waits for its end; the
 * parent reaps it and logs how it ended, this says why. */
static void pool_reap(connector_pool *p, pool_worker *w, log_level level, const char *why) {
        if (w->child.pid <= 0) {
                pool_forget(w);
                return;
        }
        spawn_end(p->parent, &w->child, 0, false);
        log_json(level, "connectors", "worker.ended",
                 json_pack("{ss si ss}", "integration", w->cfg.name, "worker_pid", (int)w->child.pid, "why",
                           why));
        pool_forget(w);
}

/* Waits for one message until deadline (CLOCK_MONOTONIC ms), or -ECANCELED
 * once cancel_fd (-1: none) is readable. */
static int pool_wait(pool_worker *w, int64_t deadline, int cancel_fd, ipc_msg_type *ret_type,
                     uint32_t *ret_seq, json_t **ret_body) {
        for (;;) {
                int64_t left = deadline - clock_mono_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd pfd[2] = {{.fd = w->child.fd, .events = POLLIN},
                                        {.fd = cancel_fd, .events = POLLIN}};
                int n = poll(pfd, 2, left > INT32_MAX ? INT32_MAX : (int)left);
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n <= 0)
                        continue;
                if (pfd[1].revents)
                        return -ECANCELED;
                if (pfd[0].revents & POLLIN)
                        return ipc_recv(w->child.fd, ret_type, ret_seq, ret_body);
                return -ECONNRESET;
        }
}

/* A freshly started worker's answer to the INIT the parent sent it. */
static int pool_init_worker(connector_pool *p, pool_worker *w, bw_error *err) {
        ipc_msg_type type;
        uint32_t seq;
        json_t *reply = NULL;
        int r = pool_wait(w, clock_mono_ms() + pool_timeout(w), -1, &type, &seq, &reply);
        if (r < 0)
                return r;
        sandbox_status st;
        if (seq != 0)
                r = -EBADMSG;
        else if (type == IPC_INIT_OK)
                r = ipc_init_ok_unpack(reply, &st);
        else if (type != IPC_INIT_ERROR || ipc_init_error_unpack(reply, &r, err) < 0)
                r = -EBADMSG;
        json_decref(reply);
        /* A confined worker must say it runs as its own uid under seccomp,
         * not dumpable: one that does not (a broken kernel feature, a wrong
         * binary) is not used. It has read no untrusted byte yet, so its
         * word is good. */
        if (r == 0 && p->confine && !sandbox_status_confined_as(&st, (uid_t)w->cfg.uid)) {
                bw_error_set(err, "sandbox_failed", "uid", "the worker is not confined as uid %u",
                             w->cfg.uid);
                r = -EPERM;
        }
        if (r == 0) {
                pthread_mutex_lock(&p->status_lock);
                w->sandbox = st;
                pthread_mutex_unlock(&p->status_lock);
        }
        return r;
}

static int pool_spawn_worker(connector_pool *p, pool_worker *w, bw_error *err) {
        int r = spawn_worker(p->parent, (uint32_t)(w - p->workers), &w->child);
        if (r < 0)
                return r;
        w->seq = 0;
        r = pool_init_worker(p, w, err);
        if (r < 0) {
                pool_reap(p, w, LOG_LEVEL_ERROR, "init failed");
                return r;
        }
        atomic_store(&w->pid_seen, (int)w->child.pid);
        atomic_store(&w->up, true);
        return 0;
}

/* The restart budget is spent, or a half-open restart is being tried: no
 * restart before the next backoff (doubled from the last one, bounded). */
static void pool_degrade(pool_worker *w, int64_t now) {
        unsigned next = (unsigned)clock_backoff_next(atomic_load(&w->backoff_ms), BW_WORKER_RETRY_MS_MIN,
                                                     BW_WORKER_RETRY_MS_MAX);
        atomic_store(&w->backoff_ms, next);
        atomic_store(&w->retry_at_ms, now + next);
        if (!atomic_exchange(&w->degraded, true))
                log_json(LOG_LEVEL_ERROR, "connectors", "worker.degraded",
                         json_pack("{ss si si}", "integration", w->cfg.name, "restarts_per_min",
                                   (int)BW_WORKER_RESTARTS_PER_MIN, "retry_in_ms", (int)next));
}

/* A call worked: a degraded worker is healthy again. */
static void pool_healthy(pool_worker *w) {
        if (atomic_exchange(&w->degraded, false))
                log_json(LOG_LEVEL_INFO, "connectors", "worker.recovered",
                         json_pack("{ss si}", "integration", w->cfg.name, "worker_pid", (int)w->child.pid));
}

/* Starts a replacement worker. After BW_WORKER_RESTARTS_PER_MIN restarts
 * within a minute the integration is degraded rather than restarted in a tight
 * loop: calls fail at once until its backoff is over, then one restart is tried
 * (half-open). The next backoff is armed before that try, so whatever fails
 * next — the spawn, or the worker on its first call — waits for it. */
static int pool_restart(connector_pool *p, pool_worker *w) {
        int64_t now = clock_mono_ms();
        bool spent = w->n_restart_ms == BW_WORKER_RESTARTS_PER_MIN &&
                     now - w->restart_ms[w->next_restart_ms] < BW_WORKER_RESTART_WINDOW_MS;
        if (atomic_load(&w->degraded)) {
                if (now < atomic_load(&w->retry_at_ms))
                        return -EHOSTDOWN;
                pool_degrade(w, now);
        } else if (spent) {
                pool_degrade(w, now);
                return -EHOSTDOWN;
        } else {
                atomic_store(&w->backoff_ms, 0); /* within the budget: the next backoff starts afresh */
        }
        w->restart_ms[w->next_restart_ms] = now;
        w->next_restart_ms = (w->next_restart_ms + 1) % BW_WORKER_RESTARTS_PER_MIN;
        if (w->n_restart_ms < BW_WORKER_RESTARTS_PER_MIN)
                w->n_restart_ms++;
        atomic_fetch_add(&w->restarts, 1);
        bw_error err = {0};
        int r = pool_spawn_worker(p, w, &err);
        if (r < 0)
                return log_errno(r, "connectors", "worker.restart_failed", "%s: %s%s%s", w->cfg.name,
                                 err.field, err.field[0] ? ": " : "", err.message);
        log_json(LOG_LEVEL_INFO, "connectors", "worker.restarted",
                 json_pack("{ss si si sb}", "integration", w->cfg.name, "worker_pid", (int)w->child.pid,
                           "restarts", (int)atomic_load(&w->restarts), "half_open",
                           atomic_load(&w->degraded)));
        return 0;
}

/* Before a call: a worker that exited, closed its socket or spoke unasked since
 * the last call is reaped and replaced, so the call does not go to a corpse. */
static int pool_ready(connector_pool *p, pool_worker *w) {
        if (w->child.pid > 0) {
                struct pollfd pfd[2] = {{.fd = w->child.fd, .events = POLLIN},
                                        {.fd = w->child.pidfd, .events = POLLIN}};
                int n = poll(pfd, 2, 0);
                if (n == 0)
                        return 0;
                if (n < 0)
                        return -errno;
                pool_reap(p, w, LOG_LEVEL_WARN,
                          pfd[1].revents ? "exited" : "unsolicited message or closed socket");
        }
        return pool_restart(p, w);
}

static pool_worker *pool_find(connector_pool *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->workers[i].cfg.name, name) == 0)
                        return &p->workers[i];
        return NULL;
}

/* A call failed at the transport: the worker is killed (fatal to it), reaped
 * and replaced; the call's error is returned whatever the restart gives. */
static int pool_fail(connector_pool *p, pool_worker *w, int r, const char *why) {
        pool_reap(p, w, LOG_LEVEL_WARN, why);
        pool_restart(p, w);
        return r;
}

/* Sends body and waits for its reply (*ret_reply, caller's reference). Transport
 * failures kill and restart the worker. */
static int pool_roundtrip(connector_pool *p, pool_worker *w, const json_t *body, unsigned timeout_ms,
                          int cancel_fd, json_t **ret_reply) {
        int r = pool_ready(p, w);
        if (r < 0)
                return r;
        uint32_t seq = ++w->seq;
        if (seq == 0) /* 0 belongs to INIT */
                seq = ++w->seq;
        r = ipc_send(w->child.fd, IPC_REQUEST, seq, body);
        if (r == -EMSGSIZE)
                return r; /* the action is too large; the worker is fine */
        if (r < 0)
                return pool_fail(p, w, -EPIPE, "send failed");
        ipc_msg_type type;
        uint32_t rseq;
        json_t *reply = NULL;
        /* The connector's own timeout fires first and is reported; only a
         * worker silent beyond the margin is hung. */
        r = pool_wait(w, clock_mono_ms() + timeout_ms + BW_POOL_DEADLINE_MARGIN_MS, cancel_fd, &type, &rseq,
                      &reply);
        if (r == -ECANCELED) {
                /* The worker is mid-call: only killing it ends what it runs. It
                 * is restarted by the next call. */
                pool_reap(p, w, LOG_LEVEL_WARN, "call cancelled");
                return r;
        }
        if (r == -ETIMEDOUT)
                return pool_fail(p, w, r, "call timed out");
        if (r == -ECONNRESET)
                return pool_fail(p, w, r, "connection lost");
        if (r < 0)
                return pool_fail(p, w, r == -ENOMEM ? r : -EBADMSG, "malformed message");
        if (type != IPC_REPLY || rseq != seq) {
                json_decref(reply);
                return pool_fail(p, w, -EBADMSG, "malformed reply");
        }
        *ret_reply = reply;
        return 0;
}

static int pool_exchange(connector_pool *p, pool_worker *w, const json_t *body, unsigned timeout_ms,
                         int cancel_fd, connector_result *result) {
        json_t *reply = NULL;
        int r = pool_roundtrip(p, w, body, timeout_ms, cancel_fd, &reply);
        if (r < 0)
                return r;
        int rc = 0;
        connector_result res = {0};
        r = ipc_reply_unpack(reply, &rc, &res);
        json_decref(reply);
        if (r < 0)
                return pool_fail(p, w, -EBADMSG, "malformed reply");
        pool_healthy(w); /* it answered: whatever the op's outcome, the worker works */
        if (rc < 0) {
                connector_result_clear(&res);
                return rc;
        }
        *result = res;
        return 0;
}

permit_subject connector_permit_subject(const char *integration, permit_op op, const connector_action *a) {
        return (permit_subject){
                .action_id = a->action_id,
                .integration = integration,
                .op = op,
                .verb = a->verb,
                .kind = a->kind,
                .targets = a->targets,
                .n_targets = a->n_targets,
                .params = a->params,
                .idempotency_key = a->idempotency_key,
        };
}

/* The one gate: nothing changes a system without the governor's permit for
 * exactly this action, on this integration, for this operation. */
static bool pool_permitted(const char *integration, connector_op op, const connector_action *a,
                           const governor_permit *permit) {
        if (op != CONNECTOR_OP_APPLY && op != CONNECTOR_OP_ROLLBACK)
                return true;
        permit_subject s = connector_permit_subject(
                integration, op == CONNECTOR_OP_APPLY ? PERMIT_APPLY : PERMIT_ROLLBACK, a);
        return governor_permit_valid(permit, &s);
}

/* The worker of integration, if its kind can run op there. */
static int pool_worker_for(connector_pool *p, const char *integration, connector_op op, pool_worker **ret) {
        pool_worker *w = pool_find(p, integration);
        if (!w)
                return -ENOENT;
        if (!connector_kind_has_op(w->kind, w->cfg.settings, op))
                return -EOPNOTSUPP;
        *ret = w;
        return 0;
}

int connector_pool_call(connector_pool *p, const char *integration, connector_op op,
                        const connector_action *a, const governor_permit *permit, unsigned timeout_ms,
                        connector_result *result) {
        return connector_pool_call_cancellable(p, integration, op, a, permit, timeout_ms, -1, result);
}

int connector_pool_call_cancellable(connector_pool *p, const char *integration, connector_op op,
                                    const connector_action *a, const governor_permit *permit,
                                    unsigned timeout_ms, int cancel_fd, connector_result *result) {
        if (!p || !integration || !a || !result || (unsigned)op >= _CONNECTOR_OP_MAX || timeout_ms == 0 ||
            timeout_ms > BW_CONNECTOR_TIMEOUT_MS_MAX)
                return -EINVAL;
        if (!pool_permitted(integration, op, a, permit))
                return -EPERM;
        pool_worker *w;
        int r = pool_worker_for(p, integration, op, &w);
        if (r < 0)
                return r;
        json_t *body = NULL;
        r = ipc_request_pack(op, a, &body);
        if (r < 0)
                return r;
        pthread_mutex_lock(&w->lock);
        r = pool_exchange(p, w, body, timeout_ms, cancel_fd, result);
        pthread_mutex_unlock(&w->lock);
        json_decref(body);
        return r;
}

int connector_pool_call_batch(connector_pool *p, const char *integration, connector_op op,
                              const connector_action *actions, const governor_permit *permits, size_t n,
                              unsigned timeout_ms, int *rcs, connector_result *results) {
        if (!p || !integration || !actions || !rcs || !results || n == 0 || n > BW_CONNECTOR_BATCH_MAX ||
            (unsigned)op >= _CONNECTOR_OP_MAX || timeout_ms == 0 || timeout_ms > BW_CONNECTOR_TIMEOUT_MS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!pool_permitted(integration, op, &actions[i], permits ? &permits[i] : NULL))
                        return -EPERM;
        pool_worker *w;
        int r = pool_worker_for(p, integration, op, &w);
        if (r < 0)
                return r;
        json_t *body = NULL;
        r = ipc_batch_pack(op, actions, n, &body);
        if (r < 0)
                return r;
        json_t *reply = NULL;
        pthread_mutex_lock(&w->lock);
        r = pool_roundtrip(p, w, body, timeout_ms, -1, &reply);
        int rc = 0;
        if (r == 0 && ipc_batch_reply_unpack(reply, n, &rc, rcs, results) < 0)
                r = pool_fail(p, w, -EBADMSG, "malformed batch reply");
        else if (r == 0)
                pool_healthy(w);
        pthread_mutex_unlock(&w->lock);
        json_decref(reply);
        json_decref(body);
        return r < 0 ? r : rc;
}

/* healthy: up and working; degraded: its restart budget spent, waiting for
 * (or trying) a restart after its backoff; down: not running, restarted by the
 * next call. */
static const char *pool_state(pool_worker *w) {
        return atomic_load(&w->degraded) ? "degraded" : atomic_load(&w->up) ? "healthy" : "down";
}

json_t *connector_pool_status(connector_pool *p) {
        json_t *o = json_object();
        int64_t now = clock_mono_ms();
        for (size_t i = 0; o && p && i < p->n; i++) {
                pool_worker *w = &p->workers[i];
                pthread_mutex_lock(&p->status_lock);
                sandbox_status sb = w->sandbox;
                pthread_mutex_unlock(&p->status_lock);
                json_t *s = json_pack("{ss si sb si ss so}", "kind", w->cfg.kind, "pid",
                                      atomic_load(&w->pid_seen), "up", atomic_load(&w->up), "restarts",
                                      (int)atomic_load(&w->restarts), "state", pool_state(w), "sandbox",
                                      connector_sandbox_json(&sb, p->confine));
                if (s && atomic_load(&w->degraded)) {
                        int64_t left = atomic_load(&w->retry_at_ms) - now;
                        json_object_set_new(s, "backoff_ms", json_integer(atomic_load(&w->backoff_ms)));
                        json_object_set_new(s, "retry_in_ms", json_integer(left > 0 ? left : 0));
                }
                if (json_object_set_new(o, w->cfg.name, s) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}

json_t *connector_sandbox_json(const sandbox_status *s, bool confined) {
        char caps[256];
        sandbox_caps_format(s->caps_effective, caps, sizeof(caps));
        return json_pack("{sb si sb sb sI sI ss sb}", "confined", confined, "landlock_abi", s->landlock_abi,
                         "landlock", s->landlock, "seccomp", s->seccomp, "uid", (json_int_t)s->uid, "gid",
                         (json_int_t)s->gid, "caps", caps, "dumpable", s->dumpable);
}

bool connector_pool_all_up(connector_pool *p) {
        if (!p)
                return false;
        for (size_t i = 0; i < p->n; i++)
                if (!atomic_load(&p->workers[i].up) || atomic_load(&p->workers[i].degraded))
                        return false;
        return true;
}

/* Waits up to ms for the workers still running to exit, reaping those that do. */
static void pool_wait_exits(connector_pool *p, unsigned ms, log_level level, const char *why) {
        int64_t deadline = clock_mono_ms() + ms;
        for (;;) {
                struct pollfd pfd[BW_INTEGRATIONS_MAX];
                pool_worker *ws[BW_INTEGRATIONS_MAX];
                nfds_t n = 0;
                for (size_t i = 0; i < p->n; i++)
                        if (p->workers[i].child.pid > 0) {
                                ws[n] = &p->workers[i];
                                pfd[n++] =
                                        (struct pollfd){.fd = p->workers[i].child.pidfd, .events = POLLIN};
                        }
                int64_t left = deadline - clock_mono_ms();
                if (n == 0 || left <= 0)
                        return;
                int k = poll(pfd, n, (int)left);
                if (k < 0 && errno != EINTR)
                        return;
                for (nfds_t i = 0; k > 0 && i < n; i++)
                        if (pfd[i].revents)
                                pool_reap(p, ws[i], level, why);
        }
}

void connector_pool_stop(connector_pool *p) {
        if (!p)
                return;
        /* Calls in flight finish first; none starts afterwards. */
        for (size_t i = 0; i < p->n; i++)
                pthread_mutex_lock(&p->workers[i].lock);
        /* End of stream asks each worker to close its connector and exit. */
        for (size_t i = 0; i < p->n; i++) {
                pool_worker *w = &p->workers[i];
                if (w->child.fd >= 0)
                        close(w->child.fd);
                w->child.fd = -1;
                atomic_store(&w->up, false);
        }
        pool_wait_exits(p, BW_WORKER_STOP_GRACE_MS, LOG_LEVEL_INFO, "stopped");
        for (size_t i = 0; i < p->n; i++)
                if (p->workers[i].child.pid > 0)
                        spawn_signal(p->parent, &p->workers[i].child, SIGTERM, false);
        pool_wait_exits(p, BW_WORKER_STOP_GRACE_MS, LOG_LEVEL_WARN, "stopped by SIGTERM");
        for (size_t i = 0; i < p->n; i++) {
                pool_worker *w = &p->workers[i];
                pool_reap(p, w, LOG_LEVEL_WARN, "stopped by SIGKILL");
                json_decref(w->cfg.settings);
                pthread_mutex_unlock(&w->lock);
                pthread_mutex_destroy(&w->lock);
        }
        free(p->workers);
        free(p);
}

static int pool_add(connector_pool *p, const integration_config *c) {
        const connector_kind *k = connector_kind_find(c->kind);
        if (!k)
                return log_errno(-EINVAL, "connectors", "pool.bad_config", "%s: unknown connector kind %s",
                                 c->name, c->kind);
        if (pool_find(p, c->name))
                return log_errno(-EINVAL, "connectors", "pool.bad_config", "%s: integration named twice",
                                 c->name);
        if (c->timeout_ms > BW_CONNECTOR_TIMEOUT_MS_MAX)
                return log_errno(-EINVAL, "connectors", "pool.bad_config", "%s: timeout_ms above %u",
                                 c->name, BW_CONNECTOR_TIMEOUT_MS_MAX);
        /* What the kind answers from them (which ops it has); the worker's
         * INIT is the parent's to send (spawn.h). */
        json_t *settings = c->settings ? json_deep_copy(c->settings) : json_object();
        if (!json_is_object(settings)) {
                json_decref(settings);
                return log_errno(settings ? -EINVAL : -ENOMEM, "connectors", "pool.bad_config",
                                 "%s: settings must be an object", c->name);
        }
        pool_worker *w = &p->workers[p->n];
        *w = (pool_worker){.cfg = *c, .kind = k, .child = SPAWNED_NONE};
        w->cfg.settings = settings;
        w->cfg.staging_targets = NULL;
        pthread_mutex_init(&w->lock, NULL);
        p->n++;
        return 0;
}

int connector_pool_start(const integration_config *ints, size_t n, spawn_link *parent,
                         pool_confinement confinement, connector_pool **ret) {
        if (!parent || !ret || (n && !ints) || n > BW_INTEGRATIONS_MAX)
                return log_errno(-EINVAL, "connectors", "pool.bad_config", "invalid pool arguments");
        connector_pool *p = calloc(1, sizeof(*p));
        if (!p)
                return log_errno(-ENOMEM, "connectors", "pool.start_failed", "out of memory");
        pthread_mutex_init(&p->status_lock, NULL);
        p->parent = parent;
        p->confine = confinement == POOL_CONFINED;
        p->workers = calloc(n ? n : 1, sizeof(pool_worker));
        int r = p->workers ? 0 : log_errno(-ENOMEM, "connectors", "pool.start_failed", "out of memory");
        for (size_t i = 0; r == 0 && i < n; i++)
                r = pool_add(p, &ints[i]);
        for (size_t i = 0; r == 0 && i < p->n; i++) {
                pool_worker *w = &p->workers[i];
                bw_error err = {0};
                r = pool_spawn_worker(p, w, &err);
                if (r < 0)
                        log_json(LOG_LEVEL_ERROR, "connectors", "worker.start_failed",
                                 json_pack("{ss ss ss ss si}", "integration", w->cfg.name, "kind",
                                           w->cfg.kind, "field", err.field, "msg",
                                           err.message[0] ? err.message : strerror(-r), "errno", -r));
                else
                        log_json(LOG_LEVEL_INFO, "connectors", "worker.started",
                                 json_pack("{ss ss si}", "integration", w->cfg.name, "kind", w->cfg.kind,
                                           "worker_pid", (int)w->child.pid));
        }
        if (r < 0) {
                connector_pool_stop(p);
                return r;
        }
        *ret = p;
        return 0;
}
