/* SPDX-License-Identifier: Apache-2.0 */
/* The parent (see parent.h): core's requests, the children it starts for
 * core, reaping, core's restarts and the stop. */
#include "parent/parent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connectors/ipc.h"
#include "connectors/spawn.h"
#include "core/limits.h"
#include "util/clock.h"
#include "util/log.h"

typedef enum { CHILD_WORKER, CHILD_API } child_role;

typedef struct child {
        uint32_t id; /* 0: a free slot */
        pid_t pid;
        child_role role;
        uint32_t index; /* CHILD_WORKER: its integration */
} child;

typedef struct parent {
        const parent_options *o;
        child *children; /* one live worker per integration and one api process at most */
        size_t n_children;
        uint32_t next_id;
        pid_t core_pid;  /* 0: none (a test's server) */
        int core_status; /* as waitpid said, once core_pid exited */
        bool core_exited;
        bool stopping;
        int sigfd;
} parent;

static const char *role_name(child_role r) {
        return r == CHILD_API ? "api" : "worker";
}

/* In the child between fork and exec: async-signal-safe calls only. Its
 * sockets are moved above everything it will have, then into place — fds[i]
 * on 3 + i: a worker's socket on 3 (worker.c), the api process's listening
 * socket on 3 and its link on 4 (front.c); it
 * leads its own session (a terminal's ^C reaches the daemon, which stops it
 * in order; the api process's group is killed as one). */
static _Noreturn void exec_child(const char *exe, char *const argv[], const int *fds, int n_fds) {
        char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LANG=C", NULL};
        sigset_t none;
        sigemptyset(&none);
        int high[2];
        for (int i = 0; i < n_fds; i++)
                if ((high[i] = fcntl(fds[i], F_DUPFD, 16)) < 0)
                        _exit(127);
        for (int i = 0; i < n_fds; i++)
                if (dup2(high[i], 3 + i) < 0)
                        _exit(127);
        if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || close_range(3 + (unsigned)n_fds, ~0U, 0) < 0)
                _exit(127);
        setsid();
        execve(exe, argv, envp);
        _exit(127);
}

static child *child_slot(parent *p) {
        for (size_t i = 0; i < p->n_children; i++)
                if (!p->children[i].id)
                        return &p->children[i];
        return NULL;
}

static child *child_find(parent *p, uint32_t id) {
        for (size_t i = 0; id && i < p->n_children; i++)
                if (p->children[i].id == id)
                        return &p->children[i];
        return NULL;
}

static bool child_running(parent *p, child_role role, uint32_t index) {
        for (size_t i = 0; i < p->n_children; i++)
                if (p->children[i].id && p->children[i].role == role &&
                    (role == CHILD_API || p->children[i].index == index))
                        return true;
        return false;
}

static void log_exit(const parent *p, const child *c, pid_t pid, int status) {
        /* A child core stopped (SIGTERM, SIGKILL) is routine; core killed is not. */
        bool trouble = WIFSIGNALED(status)
                               ? !c || (WTERMSIG(status) != SIGTERM && WTERMSIG(status) != SIGKILL)
                               : WEXITSTATUS(status) != 0;
        const char *role = c ? role_name(c->role) : "core";
        char key[16];
        snprintf(key, sizeof(key), "%s_pid", role);
        json_t *f = json_pack("{ss si}", "process", role, key, (int)pid);
        if (c && c->role == CHILD_WORKER)
                json_object_set_new(f, "integration", json_string(p->o->ints[c->index].name));
        log_add_exit(f, status);
        log_json(trouble ? LOG_LEVEL_ERROR : LOG_LEVEL_INFO, "parent", "process.exited", f);
}

/* A child (or core) that waitpid returned: logged, its slot freed. */
static void ended(parent *p, pid_t pid, int status) {
        child *c = NULL;
        for (size_t i = 0; i < p->n_children; i++)
                if (p->children[i].id && p->children[i].pid == pid)
                        c = &p->children[i];
        log_exit(p, c, pid, status);
        if (c)
                *c = (child){0};
        if (pid == p->core_pid) {
                p->core_status = status;
                p->core_exited = true;
        }
}

/* Reaps every child that has ended. */
static void reap(parent *p) {
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                ended(p, pid, status);
}

/* Starts a child on a new socketpair; *ret_fd is the other end. */
static int start(parent *p, child_role role, uint32_t index, int *ret_fd, int *ret_pidfd, child **ret) {
        child *c = child_slot(p);
        if (!c)
                return -EAGAIN;
        int sv[2];
        int type = role == CHILD_WORKER ? SOCK_SEQPACKET : SOCK_STREAM;
        if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        /* AF_UNIX refuses a packet larger than the sender's buffer; one message
         * may be BW_IPC_MSG_MAX bytes (the kernel doubles the value it is given). */
        int sndbuf = (int)BW_IPC_MSG_MAX;
        if (role == CHILD_WORKER &&
            (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0 ||
             setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0)) {
                int r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        char *const worker_argv[] = {(char *)p->o->exe, (char *)"--connector-worker", NULL};
        char *const api_argv[] = {(char *)p->o->exe, (char *)"--api",
                                  p->o->confine ? NULL : (char *)"--no-sandbox", NULL};
        pid_t pid = fork();
        if (pid == 0) {
                if (role == CHILD_WORKER)
                        exec_child(p->o->exe, worker_argv, (int[]){sv[1]}, 1);
                exec_child(p->o->exe, api_argv, (int[]){p->o->listen_fd, sv[1]}, 2);
        }
        int r = pid < 0 ? -errno : 0;
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        if (++p->next_id == 0) /* 0 is a free slot */
                p->next_id = 1;
        *c = (child){.id = p->next_id, .pid = pid, .role = role, .index = index};
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        r = pidfd < 0 ? -errno : 0;
        /* The worker's INIT comes from here: its settings, secrets, uid and
         * confinement are the parent's to decide, never core's. */
        if (r == 0 && role == CHILD_WORKER) {
                const integration_config *ic = &p->o->ints[index];
                json_t *body = ipc_init_pack(&(ipc_init){.name = ic->name,
                                                         .kind = ic->kind,
                                                         .settings = ic->settings,
                                                         .uid = ic->uid,
                                                         .confine = p->o->confine});
                r = body ? ipc_send(sv[0], IPC_INIT, 0, body) : -ENOMEM;
                json_decref(body);
        }
        if (r < 0) {
                kill(pid, SIGKILL); /* reaped with the others */
                if (pidfd >= 0)
                        close(pidfd);
                close(sv[0]);
                return r;
        }
        *ret_fd = sv[0];
        *ret_pidfd = pidfd;
        *ret = c;
        return 0;
}

static int do_signal(parent *p, const spawn_request *q) {
        child *c = child_find(p, q->id);
        if (!c)
                return -ESRCH; /* ended, or never core's */
        if ((q->sig != SIGTERM && q->sig != SIGKILL) || q->group > 1 || (q->group && c->role != CHILD_API))
                return -EINVAL;
        /* Not yet reaped: the pid (and, for the api process, its group's id)
         * is still this child's. */
        return kill(q->group ? -c->pid : c->pid, q->sig) < 0 ? -errno : 0;
}

/* One request from core. A malformed one: -EBADMSG (fatal to core). */
static int serve_one(parent *p, int link) {
        spawn_request q;
        size_t n_fds = 0;
        int r = spawn_recv(link, &q, sizeof(q), NULL, 0, &n_fds);
        if (r < 0)
                return r;
        reap(p); /* a child core saw end (its pidfd) is reaped before anything is started again */
        spawn_reply a = {0};
        int fds[2] = {-1, -1};
        child *c = NULL;
        switch (q.op) {
        case SPAWN_WORKER:
                if (q.index >= p->o->n_ints || q.id || q.sig || q.group)
                        return -EBADMSG;
                a.rc = child_running(p, CHILD_WORKER, q.index)
                               ? -EBUSY
                               : start(p, CHILD_WORKER, q.index, &fds[0], &fds[1], &c);
                break;
        case SPAWN_API:
                if (q.index || q.id || q.sig || q.group)
                        return -EBADMSG;
                a.rc = p->o->listen_fd < 0              ? -ENOTSUP
                       : child_running(p, CHILD_API, 0) ? -EBUSY
                                                        : start(p, CHILD_API, 0, &fds[0], &fds[1], &c);
                break;
        case SPAWN_SIGNAL:
                if (q.index)
                        return -EBADMSG;
                a.rc = do_signal(p, &q);
                break;
        default:
                return -EBADMSG;
        }
        if (c) {
                a.pid = c->pid;
                a.id = c->id;
        }
        r = spawn_send(link, &a, sizeof(a), fds, c ? 2 : 0);
        if (c) {
                close(fds[0]);
                close(fds[1]);
        }
        return r;
}

/* Takes the pending signals and reaps: true when SIGTERM or SIGINT was
 * among them (SIGCHLD alone is not a stop). */
static bool take_signals(parent *p) {
        bool stop = false;
        struct signalfd_siginfo si;
        while (read(p->sigfd, &si, sizeof(si)) == sizeof(si))
                stop |= si.ssi_signo != SIGCHLD;
        reap(p);
        return stop;
}

/* Serves core until it ends (or, without a core, until the link closes).
 * Returns 0, or -EBADMSG when core sent a malformed request. */
static int serve(parent *p, int link) {
        for (;;) {
                if (p->core_pid ? p->core_exited : false)
                        return 0;
                struct pollfd fds[2] = {{.fd = link, .events = POLLIN}, {.fd = p->sigfd, .events = POLLIN}};
                if (poll(fds, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (fds[1].revents && take_signals(p)) {
                        p->stopping = true;
                        if (!p->core_pid)
                                return 0;
                        kill(p->core_pid, SIGTERM); /* it stops its peers, then itself */
                }
                if (fds[0].revents && link >= 0) {
                        int r = serve_one(p, link);
                        if (r == -EBADMSG) {
                                log_json(LOG_LEVEL_ERROR, "parent", "core.malformed",
                                         json_pack("{ss}", "msg",
                                                   "core sent a malformed request: it is ended"));
                                return r;
                        }
                        if (r < 0) { /* core closed its end (it is ending) */
                                close(link);
                                link = -1;
                                if (!p->core_pid)
                                        return 0;
                        }
                }
        }
}

/* Ends every child still running (core too, when kill_core) and reaps them. */
static void end_children(parent *p, bool kill_core) {
        if (kill_core && p->core_pid && !p->core_exited)
                kill(p->core_pid, SIGKILL);
        for (size_t i = 0; i < p->n_children; i++)
                if (p->children[i].id)
                        kill(p->children[i].role == CHILD_API ? -p->children[i].pid : p->children[i].pid,
                             SIGKILL);
        for (;;) {
                bool left = p->core_pid && !p->core_exited;
                for (size_t i = 0; i < p->n_children; i++)
                        left |= p->children[i].id != 0;
                if (!left)
                        return;
                int status;
                pid_t pid = waitpid(-1, &status, 0);
                if (pid < 0 && errno != EINTR)
                        return; /* ECHILD: none left */
                if (pid > 0)
                        ended(p, pid, status);
        }
}

void parent_signals(sigset_t *ret) {
        sigemptyset(ret);
        sigaddset(ret, SIGCHLD);
        sigaddset(ret, SIGTERM);
        sigaddset(ret, SIGINT);
}

static int parent_init(parent *p, const parent_options *o) {
        *p = (parent){.o = o, .n_children = o->n_ints + 1, .sigfd = -1};
        p->children = calloc(p->n_children, sizeof(child));
        sigset_t set;
        parent_signals(&set);
        p->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        if (!p->children || p->sigfd < 0) {
                free(p->children);
                return -ENOMEM;
        }
        return 0;
}

static void parent_fini(parent *p) {
        close(p->sigfd);
        free(p->children);
}

pid_t parent_fork_server(const parent_options *o, int *ret_fd) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (pid == 0) {
                close(sv[0]);
                sigset_t set;
                parent_signals(&set);
                sigprocmask(SIG_BLOCK, &set, NULL);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                parent p;
                if (parent_init(&p, o) < 0)
                        _exit(1);
                serve(&p, sv[1]);
                end_children(&p, false);
                _exit(0);
        }
        close(sv[1]);
        *ret_fd = sv[0];
        return pid;
}

/* A core killed by a signal is restarted, BW_CORE_RESTARTS_PER_MIN times in
 * BW_CORE_RESTART_WINDOW_MS at most: restarts[0..*n) are the recent ones. */
static bool may_restart(int64_t *restarts, size_t *n) {
        int64_t now = clock_mono_ms();
        size_t kept = 0;
        for (size_t i = 0; i < *n; i++)
                if (now - restarts[i] < BW_CORE_RESTART_WINDOW_MS)
                        restarts[kept++] = restarts[i];
        *n = kept;
        if (kept >= BW_CORE_RESTARTS_PER_MIN)
                return false;
        restarts[(*n)++] = now;
        return true;
}

/* Waits BW_CORE_RESTART_DELAY_MS; true when SIGTERM or SIGINT came meanwhile
 * (a SIGCHLD left over from the ended children is not a stop). */
static bool restart_delay(parent *p) {
        int64_t deadline = clock_mono_ms() + BW_CORE_RESTART_DELAY_MS;
        for (int64_t left; (left = deadline - clock_mono_ms()) > 0;) {
                struct pollfd s = {.fd = p->sigfd, .events = POLLIN};
                if (poll(&s, 1, (int)left) > 0 && take_signals(p)) {
                        p->stopping = true;
                        return true;
                }
        }
        return false;
}

int parent_run(const parent_options *o, parent_core_fn core, void *arg) {
        parent p;
        if (parent_init(&p, o) < 0)
                return 1;
        int64_t restarts[BW_CORE_RESTARTS_PER_MIN];
        size_t n_restarts = 0;
        int code = 1;
        for (;;) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                        break;
                pid_t me = getpid(), pid = fork();
                if (pid == 0) {
                        close(sv[0]);
                        close(p.sigfd);
                        if (o->listen_fd >= 0)
                                close(o->listen_fd); /* core has no network socket */
                        /* core dies with the parent; SIGCHLD is the parent's business. */
                        sigset_t chld;
                        sigemptyset(&chld);
                        sigaddset(&chld, SIGCHLD);
                        sigprocmask(SIG_UNBLOCK, &chld, NULL);
                        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != me)
                                _exit(1);
                        _exit(core(sv[1], arg));
                }
                close(sv[1]);
                if (pid < 0) {
                        close(sv[0]);
                        break;
                }
                p.core_pid = pid;
                p.core_exited = false;
                log_json(LOG_LEVEL_INFO, "parent", "core.started", json_pack("{si}", "core_pid", (int)pid));
                bool malformed = serve(&p, sv[0]) == -EBADMSG;
                close(sv[0]);
                end_children(&p, true);
                int st = p.core_status;
                bool crashed = malformed || WIFSIGNALED(st);
                code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
                if (p.stopping || !crashed)
                        break;
                log_json(LOG_LEVEL_ERROR, "parent", "core.restarting",
                         json_pack("{ss}", "msg",
                                   "core ended abnormally: its children were ended and it is "
                                   "started again"));
                if (!may_restart(restarts, &n_restarts)) {
                        log_json(LOG_LEVEL_ERROR, "parent", "core.given_up",
                                 json_pack("{si}", "restarts_per_min", (int)BW_CORE_RESTARTS_PER_MIN));
                        break;
                }
                if (restart_delay(&p))
                        break; /* a stop while waiting */
        }
        parent_fini(&p);
        return code;
}
