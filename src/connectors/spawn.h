/* SPDX-License-Identifier: Apache-2.0 */
/* The link between core and the parent (parent/parent.c), declared in one
 * place. Core runs without the privileges that starting a worker or the api
 * process takes (another uid, CAP_NET_ADMIN), so it asks the parent, which
 * decides everything about the child from its own configuration: which
 * integration index i is, its settings and secrets (the parent sends the
 * worker its INIT itself: core never holds them), its uid, whether it is
 * confined. Core can ask for three things only: start worker i, start the api
 * process, signal a child it was given (by the id of that start, never by a
 * pid that could have been reused). The parent never parses a network byte.
 *
 * One message is one SOCK_SEQPACKET packet of a fixed size; the parent checks
 * the size and every field, and a malformed request is fatal to core (the
 * parent ends it and every child). Requests are answered in order, one at a
 * time. Runs in core (the client below) and in the parent. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
        SPAWN_WORKER = 1, /* start the worker of integration index */
        SPAWN_API = 2,    /* start the api process */
        SPAWN_SIGNAL = 3, /* send sig (SIGTERM or SIGKILL) to child id, its group too if group */
} spawn_op;

typedef struct spawn_request {
        uint32_t op;
        uint32_t index; /* SPAWN_WORKER: the integration's index in the configuration */
        uint32_t id;    /* SPAWN_SIGNAL: the child, as its start's reply named it */
        int32_t sig;    /* SPAWN_SIGNAL: SIGTERM or SIGKILL */
        uint32_t group; /* SPAWN_SIGNAL: 1: its whole process group (only the api process has one) */
} spawn_request;

/* The answer to every request. A start that worked (rc 0) carries two
 * descriptors: core's end of the child's socket, then a pidfd of the child
 * (readable once it exits; the parent reaps it and logs how it ended). */
typedef struct spawn_reply {
        int32_t rc; /* 0 or a negative errno */
        int32_t pid;
        uint32_t id; /* names the child in SPAWN_SIGNAL */
} spawn_reply;

/* A child core was given. */
typedef struct spawned {
        int fd;    /* core's end of its socket; -1 without a child */
        int pidfd; /* readable once it exits; -1 without a child */
        pid_t pid; /* for logs and status only */
        uint32_t id;
} spawned;

#define SPAWNED_NONE ((spawned){.fd = -1, .pidfd = -1})

typedef struct spawn_link spawn_link;

/* Core's end of the link, over fd (which it owns from now on). Thread-safe:
 * one request at a time. */
int spawn_link_new(int fd, spawn_link **ret);
void spawn_link_free(spawn_link *l);

/* Starts worker index / the api process. 0 and *ret, or a negative errno: the
 * parent's (-EINVAL for an index it has no integration for), or -ECONNRESET
 * when the parent is gone. */
int spawn_worker(spawn_link *l, uint32_t index, spawned *ret);
int spawn_api(spawn_link *l, spawned *ret);

/* Signals a child that has not been waited for (spawned_wait). */
int spawn_signal(spawn_link *l, const spawned *c, int sig, bool group);

/* Waits up to timeout_ms (< 0: forever) for the child to exit: 0, or
 * -ETIMEDOUT. */
int spawned_wait(const spawned *c, int timeout_ms);

/* Ends a child: waits up to grace_ms for it to exit, then has the parent
 * SIGKILL it (its process group too when group) and waits for its end. */
void spawn_end(spawn_link *l, const spawned *c, int grace_ms, bool group);

/* Closes what core holds of a child (after it exited): *c is SPAWNED_NONE. */
void spawned_close(spawned *c);

/* Both sides: one message of exactly len bytes, with up to max_fds
 * descriptors (received close-on-exec). -EBADMSG for a short, long or
 * truncated packet or more descriptors than allowed, -ECONNRESET at the end. */
int spawn_send(int fd, const void *msg, size_t len, const int *fds, size_t n_fds);
int spawn_recv(int fd, void *msg, size_t len, int *fds, size_t max_fds, size_t *ret_n_fds);
