/* SPDX-License-Identifier: Apache-2.0 */
/* The link between core and the parent (see spawn.h): the packets both sides
 * exchange, and core's side of the conversation. */
#include "connectors/spawn.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SPAWN_FDS_MAX 2

struct spawn_link {
        int fd;
        pthread_mutex_t lock; /* one request and its reply at a time */
};

int spawn_send(int fd, const void *msg, size_t len, const int *fds, size_t n_fds) {
        if (n_fds > SPAWN_FDS_MAX)
                return -EINVAL;
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int) * SPAWN_FDS_MAX)];
        } control = {0};
        struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        if (n_fds) {
                m.msg_control = control.space;
                m.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&m);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        ssize_t n;
        while ((n = sendmsg(fd, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return errno == EPIPE ? -ECONNRESET : -errno;
        return (size_t)n == len ? 0 : -EIO;
}

int spawn_recv(int fd, void *msg, size_t len, int *fds, size_t max_fds, size_t *ret_n_fds) {
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int) * SPAWN_FDS_MAX)];
        } control = {0};
        char packet[64]; /* larger than any message: a longer packet is seen, not cut to size */
        struct iovec iov = {.iov_base = packet, .iov_len = sizeof(packet)};
        struct msghdr m = {.msg_iov = &iov,
                           .msg_iovlen = 1,
                           .msg_control = control.space,
                           .msg_controllen = sizeof(control.space)};
        ssize_t n;
        while ((n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ECONNRESET;
        size_t got = 0;
        int r = (size_t)n == len && len <= sizeof(packet) && !(m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
                        ? 0
                        : -EBADMSG;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
                        r = -EBADMSG;
                        continue;
                }
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int one;
                        memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (got < max_fds)
                                fds[got++] = one;
                        else {
                                close(one); /* more than the message may carry */
                                r = -EBADMSG;
                        }
                }
        }
        if (r < 0) {
                for (size_t i = 0; i < got; i++)
                        close(fds[i]);
                return r;
        }
        memcpy(msg, packet, len);
        *ret_n_fds = got;
        return 0;
}

int spawn_link_new(int fd, spawn_link **ret) {
        spawn_link *l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->fd = fd;
        pthread_mutex_init(&l->lock, NULL);
        *ret = l;
        return 0;
}

void spawn_link_free(spawn_link *l) {
        if (!l)
                return;
        close(l->fd);
        pthread_mutex_destroy(&l->lock);
        free(l);
}

/* One request, one reply; a start's reply brings the child's two descriptors. */
static int spawn_ask(spawn_link *l, const spawn_request *q, spawn_reply *ret, int fds[2]) {
        size_t n_fds = 0;
        pthread_mutex_lock(&l->lock);
        int r = spawn_send(l->fd, q, sizeof(*q), NULL, 0);
        if (r == 0)
                r = spawn_recv(l->fd, ret, sizeof(*ret), fds, fds ? 2 : 0, &n_fds);
        pthread_mutex_unlock(&l->lock);
        if (r < 0)
                return r;
        bool started = fds && ret->rc == 0;
        if (ret->rc > 0 || n_fds != (started ? 2u : 0u) || (started && ret->pid <= 0)) {
                for (size_t i = 0; i < n_fds; i++)
                        close(fds[i]);
                return -EBADMSG;
        }
        return ret->rc;
}

static int spawn_start(spawn_link *l, const spawn_request *q, spawned *ret) {
        spawn_reply a;
        int fds[2];
        int r = spawn_ask(l, q, &a, fds);
        if (r < 0)
                return r;
        *ret = (spawned){.fd = fds[0], .pidfd = fds[1], .pid = a.pid, .id = a.id};
        return 0;
}

int spawn_worker(spawn_link *l, uint32_t index, spawned *ret) {
        return spawn_start(l, &(spawn_request){.op = SPAWN_WORKER, .index = index}, ret);
}

int spawn_api(spawn_link *l, spawned *ret) {
        return spawn_start(l, &(spawn_request){.op = SPAWN_API}, ret);
}

int spawn_signal(spawn_link *l, const spawned *c, int sig, bool group) {
        spawn_reply a;
        return spawn_ask(l, &(spawn_request){.op = SPAWN_SIGNAL, .id = c->id, .sig = sig, .group = group},
                         &a, NULL);
}

int spawned_wait(const spawned *c, int timeout_ms) {
        struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
        for (;;) {
                int n = poll(&p, 1, timeout_ms);
                if (n > 0)
                        return 0;
                if (n == 0)
                        return -ETIMEDOUT;
                if (errno != EINTR)
                        return -errno;
        }
}

void spawn_end(spawn_link *l, const spawned *c, int grace_ms, bool group) {
        if (spawned_wait(c, grace_ms) == 0)
                return;
        spawn_signal(l, c, SIGKILL, group);
        spawned_wait(c, -1); /* SIGKILL, or the parent's end (PR_SET_PDEATHSIG), ends it */
}

void spawned_close(spawned *c) {
        if (c->fd >= 0)
                close(c->fd);
        if (c->pidfd >= 0)
                close(c->pidfd);
        *c = SPAWNED_NONE;
}
