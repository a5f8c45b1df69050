/* SPDX-License-Identifier: Apache-2.0 */
/* The api process, seen from core (see api.h): the parent starts it on the
 * listening socket and one end of a new socketpair, whose other end core is
 * given; core tells it what it needs in INIT and serves it (api/dispatch.c). A supervisor thread restarts it
 * when it dies (or when it sent a malformed message: it is killed), after a doubling wait while it keeps
 * dying. Runs in core. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/dispatch.h"
#include "connectors/ipc.h"
#include "connectors/spawn.h"
#include "core/actor.h"
#include "util/clock.h"
#include "util/log.h"

/* How long the api process has to finish at a stop before it is killed. */
#define API_STOP_GRACE_MS 10000

struct api {
        api_shared shared;
        api_options opts;
        spawn_link *parent; /* starts and signals the api process (connectors/spawn.h) */
        spawned child;      /* SPAWNED_NONE without an api process */
        api_link *link;
        int stop_fd; /* eventfd: api_stop was called */
        pthread_t supervisor;
        pthread_mutex_t lock; /* status below */
        unsigned restarts;
        pid_t pid_seen;
        sandbox_status sandbox; /* as its HELLO said */
        bool has_sandbox;
};

static json_t *api_init_message(const api *a) {
        return json_pack("{sI sI so}", "alert_body_max", (json_int_t)a->opts.alert_body_max, "threads",
                         (json_int_t)(a->opts.threads ? a->opts.threads : 1), "identities",
                         identities_pack(a->shared.identities, a->shared.n_identities));
}

/* Starts one api process (the parent does, with the listening socket it
 * holds) and its link. */
static int api_spawn(api *a) {
        int r = spawn_api(a->parent, &a->child);
        if (r < 0)
                return r;
        json_t *init = api_init_message(a);
        r = init ? wire_json_send(a->child.fd, WIRE_INIT, init) : -ENOMEM;
        json_decref(init);
        if (r == 0) {
                r = api_link_start(a->child.fd, &a->shared, BW_API_DISPATCH_THREADS, a->opts.confine,
                                   &a->link);
                a->child.fd = -1; /* the link's now, closed by it if it failed */
        }
        if (r < 0) {
                spawn_end(a->parent, &a->child, 0, true);
                spawned_close(&a->child);
                return r;
        }
        pthread_mutex_lock(&a->lock);
        a->pid_seen = a->child.pid;
        pthread_mutex_unlock(&a->lock);
        log_json(LOG_LEVEL_INFO, "api", "api.started", json_pack("{si}", "api_pid", (int)a->child.pid));
        return 0;
}

/* Ends the api process: waits up to grace_ms for it to close its end of the
 * link (at a stop it does, once core answered what it sent), killing its
 * process group after that, or at once when grace_ms is 0 (malformed) or
 * negative (it died: whatever is left of its group); ends the link, once
 * every request still waiting for a commit was answered; reaps it and logs
 * why. */
static void api_reap(api *a, int grace_ms, const char *why) {
        int64_t deadline = clock_mono_ms() + (grace_ms > 0 ? grace_ms : 0);
        while (grace_ms > 0 && !api_link_dead(a->link) && clock_mono_ms() < deadline)
                usleep(5000);
        /* Its whole process group (it is a session leader and cannot leave
         * it; its allow-list has no fork either): nothing of it survives to
         * hold the link or the listening socket. */
        if (grace_ms <= 0 || !api_link_dead(a->link))
                spawn_signal(a->parent, &a->child, SIGKILL, true); /* the parent: by group, until reaped */
        api_link_end_reading(a->link);
        api_link_stop(a->link);
        a->link = NULL;
        spawn_end(a->parent, &a->child, grace_ms > 0 ? grace_ms : 1000, true);
        log_json(strcmp(why, "stopped") == 0 ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR, "api", "api.ended",
                 json_pack("{si ss}", "api_pid", (int)a->child.pid, "why", why));
        spawned_close(&a->child);
        pthread_mutex_lock(&a->lock);
        a->pid_seen = 0;
        pthread_mutex_unlock(&a->lock);
}

static void *api_supervise(void *arg) {
        api *a = arg;
        unsigned wait_ms = BW_API_RESTART_MS_MIN;
        int64_t started = clock_mono_ms();
        for (;;) {
                if (a->child.pid > 0) {
                        struct pollfd p[2] = {{.fd = a->child.pidfd, .events = POLLIN},
                                              {.fd = a->stop_fd, .events = POLLIN}};
                        /* A link found malformed is checked every 100 ms. */
                        if (poll(p, 2, 100) < 0)
                                continue; /* EINTR; nothing else can fail with these two fds */
                        if (p[1].revents) {
                                spawn_signal(a->parent, &a->child, SIGTERM, false);
                                api_reap(a, API_STOP_GRACE_MS, "stopped");
                                return NULL;
                        }
                        bool dead = p[0].revents != 0;
                        bool broken = !dead && api_link_dead(a->link);
                        if (!dead && !broken)
                                continue;
                        api_reap(a, broken ? 0 : -1, broken ? "malformed message" : "died");
                        wait_ms = clock_mono_ms() - started < BW_API_STABLE_MS
                                          ? (wait_ms * 2 > BW_API_RESTART_MS_MAX ? BW_API_RESTART_MS_MAX
                                                                                 : wait_ms * 2)
                                          : BW_API_RESTART_MS_MIN;
                }
                struct pollfd s = {.fd = a->stop_fd, .events = POLLIN};
                if (poll(&s, 1, (int)wait_ms) > 0)
                        return NULL;
                int r = api_spawn(a);
                if (r < 0) {
                        log_errno(r, "api", "api.start_failed", "cannot start the api process");
                        continue;
                }
                started = clock_mono_ms();
                pthread_mutex_lock(&a->lock);
                a->restarts++;
                pthread_mutex_unlock(&a->lock);
        }
        return NULL;
}

int api_start(const api_options *o, const api_deps *deps, api **ret) {
        if (o->n_actors == 0 || o->n_actors > BW_ACTORS_MAX + 1)
                return -EINVAL;
        for (size_t i = 0; i < o->n_actors; i++) {
                const char *t = o->actors[i].token;
                if (!t || strlen(t) < BW_TOKEN_MIN_LEN || strlen(t) > BW_TOKEN_MAX_LEN ||
                    !o->actors[i].name || strlen(o->actors[i].name) > BW_NAME_MAX ||
                    actor_name_reserved(o->actors[i].name))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(o->actors[j].token, t) == 0 ||
                            strcmp(o->actors[j].name, o->actors[i].name) == 0)
                                return -EEXIST; /* one token, one actor */
        }
        if (!o->parent)
                return -EINVAL;
        api *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->opts = *o;
        a->opts.actors = NULL;
        a->parent = o->parent;
        a->child = SPAWNED_NONE;
        pthread_mutex_init(&a->lock, NULL);
        a->shared = (api_shared){
                .config = deps->config,
                .store = deps->store,
                .pool = deps->pool,
                .metrics = deps->metrics,
                .parent_sandbox = *deps->parent_sandbox,
                .core_sandbox = *deps->core_sandbox,
                .confined = o->confine,
                .alert_body_max = o->alert_body_max,
                .queue_capacity = o->queue_capacity,
                .api = a,
        };
        for (size_t i = 0; i < o->n_actors; i++)
                identity_set(&a->shared.identities[a->shared.n_identities++], o->actors[i].name,
                             o->actors[i].token, o->actors[i].roles);
        a->stop_fd = eventfd(0, EFD_CLOEXEC);
        int r = a->stop_fd >= 0 ? 0 : -ENOMEM;
        if (r == 0)
                r = api_spawn(a);
        if (r == 0)
                r = -pthread_create(&a->supervisor, NULL, api_supervise, a);
        if (r < 0) {
                if (a->child.pid > 0)
                        api_reap(a, 0, "start failed");
                if (a->stop_fd >= 0)
                        close(a->stop_fd);
                sodium_memzero(a->shared.identities, sizeof(a->shared.identities));
                free(a);
                return r;
        }
        *ret = a;
        return 0;
}

json_t *api_process_status(api *a) {
        pthread_mutex_lock(&a->lock);
        json_t *o = json_pack("{si si}", "pid", (int)a->pid_seen, "restarts", (int)a->restarts);
        if (o && a->has_sandbox)
                json_object_set_new(o, "sandbox", connector_sandbox_json(&a->sandbox, a->opts.confine));
        pthread_mutex_unlock(&a->lock);
        return o;
}

void api_hello(api *a, const sandbox_status *st) {
        pthread_mutex_lock(&a->lock);
        a->sandbox = *st;
        a->has_sandbox = true;
        pthread_mutex_unlock(&a->lock);
}

void api_stop(api *a) {
        if (!a)
                return;
        uint64_t one = 1;
        while (write(a->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
                ;
        pthread_join(a->supervisor, NULL);
        close(a->stop_fd);
        sodium_memzero(a->shared.identities, sizeof(a->shared.identities));
        pthread_mutex_destroy(&a->lock);
        free(a);
}
