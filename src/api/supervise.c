/* SPDX-License-Identifier: Apache-2.0 */
/* The api process, seen from core (see api.h): the listening socket is opened
 * here, while the process still may; the api process is started with it and
 * one end of a new socketpair, told what it needs in INIT, and served by
 * api/dispatch.c. A supervisor thread restarts it when it dies (or when it
 * sent a malformed message: it is killed), after a doubling wait while it
 * keeps dying. Runs in core. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/dispatch.h"
#include "connectors/ipc.h"
#include "core/actor.h"
#include "util/accounts.h"
#include "util/clock.h"
#include "util/log.h"

#define API_LISTEN_FD 3
#define API_LINK_FD 4
/* How long the api process has to finish at a stop before it is killed. */
#define API_STOP_GRACE_MS 10000

struct api {
        api_shared shared;
        api_options opts;
        char *exe;
        int listen_fd;
        pid_t pid;
        int pidfd;
        api_link *link;
        int stop_fd; /* eventfd: api_stop was called */
        pthread_t supervisor;
        pthread_mutex_t lock; /* status below */
        unsigned restarts;
        pid_t pid_seen;
        sandbox_status sandbox; /* as its HELLO said */
        bool has_sandbox;
};

static int api_listen(const api_options *o) {
        struct sockaddr_storage sa = {0};
        socklen_t len;
        struct sockaddr_in *v4 = (struct sockaddr_in *)&sa;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&sa;
        if (inet_pton(AF_INET, o->address, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons(o->port);
                len = sizeof(*v4);
        } else if (inet_pton(AF_INET6, o->address, &v6->sin6_addr) == 1) {
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons(o->port);
                len = sizeof(*v6);
        } else {
                return -EINVAL;
        }
        int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            (sa.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
            bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, SOMAXCONN) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* In the child between fork and exec: async-signal-safe calls only. */
static _Noreturn void api_child(const char *exe, int listen_fd, int link_fd) {
        char *const argv[] = {(char *)exe, (char *)"--api", NULL};
        char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LANG=C", NULL};
        sigset_t none;
        sigemptyset(&none);
        /* Above every descriptor it will have, then into place. */
        int l = fcntl(listen_fd, F_DUPFD, 16), k = fcntl(link_fd, F_DUPFD, 16);
        if (l < 0 || k < 0 || sigprocmask(SIG_SETMASK, &none, NULL) < 0 || dup2(l, API_LISTEN_FD) < 0 ||
            dup2(k, API_LINK_FD) < 0 || close_range(API_LINK_FD + 1, ~0U, 0) < 0)
                _exit(127);
        setsid();
        execve(exe, argv, envp);
        _exit(127);
}

static json_t *api_init_message(const api *a) {
        return json_pack("{sI sI sI sb so}", "alert_body_max", (json_int_t)a->opts.alert_body_max, "threads",
                         (json_int_t)(a->opts.threads ? a->opts.threads : 1), "uid", (json_int_t)BW_API_UID,
                         "confine", a->opts.confine, "identities",
                         identities_pack(a->shared.identities, a->shared.n_identities));
}

/* Starts one api process and its link. */
static int api_spawn(api *a) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid == 0)
                api_child(a->exe, a->listen_fd, sv[1]);
        int r = pid < 0 ? -errno : 0;
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        a->pid = pid;
        a->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        json_t *init = api_init_message(a);
        r = a->pidfd < 0 ? -errno : init ? wire_json_send(sv[0], WIRE_INIT, init) : -ENOMEM;
        json_decref(init);
        if (r == 0)
                r = api_link_start(sv[0], &a->shared, BW_API_DISPATCH_THREADS, a->opts.confine, &a->link);
        else
                close(sv[0]);
        if (r < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                if (a->pidfd >= 0)
                        close(a->pidfd);
                a->pid = 0;
                a->pidfd = -1;
                return r;
        }
        pthread_mutex_lock(&a->lock);
        a->pid_seen = pid;
        pthread_mutex_unlock(&a->lock);
        log_json(LOG_LEVEL_INFO, "api", "api.started", json_pack("{si}", "api_pid", (int)pid));
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
                kill(-a->pid, SIGKILL); /* unreaped, the leader's pid is still its group's id */
        api_link_end_reading(a->link);
        api_link_stop(a->link);
        a->link = NULL;
        struct pollfd p = {.fd = a->pidfd, .events = POLLIN};
        if (poll(&p, 1, grace_ms > 0 ? grace_ms : 1000) <= 0)
                kill(a->pid, SIGKILL);
        int status = 0;
        while (waitpid(a->pid, &status, 0) < 0 && errno == EINTR)
                ;
        json_t *f = json_pack("{si ss}", "api_pid", (int)a->pid, "why", why);
        log_add_exit(f, status);
        log_json(strcmp(why, "stopped") == 0 ? LOG_LEVEL_INFO : LOG_LEVEL_ERROR, "api", "api.exited", f);
        close(a->pidfd);
        a->pidfd = -1;
        a->pid = 0;
        pthread_mutex_lock(&a->lock);
        a->pid_seen = 0;
        pthread_mutex_unlock(&a->lock);
}

static void *api_supervise(void *arg) {
        api *a = arg;
        unsigned wait_ms = BW_API_RESTART_MS_MIN;
        int64_t started = clock_mono_ms();
        for (;;) {
                if (a->pid > 0) {
                        struct pollfd p[2] = {{.fd = a->pidfd, .events = POLLIN},
                                              {.fd = a->stop_fd, .events = POLLIN}};
                        /* A link found malformed is checked every 100 ms. */
                        if (poll(p, 2, 100) < 0)
                                continue; /* EINTR; nothing else can fail with these two fds */
                        if (p[1].revents) {
                                kill(a->pid, SIGTERM);
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

/* A host account or group with the api process's id would share it. */
static int api_uid_unowned(void) {
        char name[64];
        const char *owner = host_id_owner(BW_API_UID, name, sizeof(name));
        if (!owner)
                return 0;
        log_json(LOG_LEVEL_ERROR, "api", "api.uid_taken",
                 json_pack("{si ss ss}", "uid", (int)BW_API_UID, owner, name, "msg",
                           "a host account or group has the api process's id"));
        return -EPERM;
}

int api_start(const api_options *o, const api_deps *deps, api **ret) {
        if (o->n_actors == 0 || o->n_actors > BW_ACTORS_MAX + 1 || !o->exe)
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
        if (o->confine && api_uid_unowned() < 0)
                return -EPERM;
        api *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->opts = *o;
        a->opts.actors = NULL;
        a->exe = strdup(o->exe);
        a->pidfd = -1;
        a->listen_fd = -1;
        pthread_mutex_init(&a->lock, NULL);
        a->shared = (api_shared){
                .config = deps->config,
                .store = deps->store,
                .pool = deps->pool,
                .metrics = deps->metrics,
                .alert_body_max = o->alert_body_max,
                .queue_capacity = o->queue_capacity,
                .api = a,
        };
        for (size_t i = 0; i < o->n_actors; i++)
                identity_set(&a->shared.identities[a->shared.n_identities++], o->actors[i].name,
                             o->actors[i].token, o->actors[i].roles);
        a->stop_fd = eventfd(0, EFD_CLOEXEC);
        int r = a->exe && a->stop_fd >= 0 ? 0 : -ENOMEM;
        if (r == 0 && (a->listen_fd = api_listen(o)) < 0)
                r = a->listen_fd == -EADDRINUSE ? -EADDRINUSE : -EADDRNOTAVAIL;
        if (r == 0)
                r = api_spawn(a);
        if (r == 0)
                r = -pthread_create(&a->supervisor, NULL, api_supervise, a);
        if (r < 0) {
                if (a->pid > 0)
                        api_reap(a, 0, "start failed");
                if (a->listen_fd >= 0)
                        close(a->listen_fd);
                if (a->stop_fd >= 0)
                        close(a->stop_fd);
                sodium_memzero(a->shared.identities, sizeof(a->shared.identities));
                free(a->exe);
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
        close(a->listen_fd);
        sodium_memzero(a->shared.identities, sizeof(a->shared.identities));
        pthread_mutex_destroy(&a->lock);
        free(a->exe);
        free(a);
}
