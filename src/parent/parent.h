/* SPDX-License-Identifier: Apache-2.0 */
/* The parent: the one process that keeps root's privileges. It has read the
 * configuration and opened the listening socket; it starts core and, when
 * core asks over their link (connectors/spawn.h), each connector worker and
 * the api process, deciding everything about them from its own
 * configuration; it reaps every child and logs how it ended, restarts a core
 * that crashed (ending its children first), and stops cleanly on SIGTERM or
 * SIGINT by passing the signal to core. It never parses a network byte and
 * reads nothing from a worker or the api process: the only input it takes is
 * core's fixed-size requests, each checked field by field. Single-threaded:
 * it forks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/integration.h"

typedef struct parent_options {
        const integration_config *ints; /* worker i runs ints[i] */
        size_t n_ints;
        const char *exe; /* the daemon's binary ("/proc/self/exe"), run with --connector-worker / --api */
        bool confine;    /* false only under --no-sandbox */
        int listen_fd;   /* the api process's socket; -1: no api process (tests) */
} parent_options;

/* The signals the parent takes through a signalfd (SIGCHLD, SIGTERM,
 * SIGINT): blocked in every thread before parent_run. */
void parent_signals(sigset_t *ret);

/* Core's entry: runs core on its end of the link (fd), returns its exit code. */
typedef int (*parent_core_fn)(int link_fd, void *arg);

/* The daemon: starts core (a fork running core(link, arg)) and serves it
 * until it ends. A core that exits ends the daemon with its code; one killed
 * by a signal (a crash, SIGSYS) is restarted after its children are ended, at
 * most BW_CORE_RESTARTS_PER_MIN a minute. The caller blocks parent_signals in
 * every thread (it has one) before calling. Returns the exit
 * code. */
int parent_run(const parent_options *o, parent_core_fn core, void *arg);

/* The api's listening socket on a numeric IPv4 or IPv6 address (IPv6 only,
 * never mapped IPv4). The descriptor, or -EINVAL for an address that is not
 * numeric, or bind's -errno (-EADDRINUSE, -EADDRNOTAVAIL, -EACCES). */
int parent_listen(const char *address, uint16_t port);

/* For tests: forks a parent that serves the caller as its core over *ret_fd
 * until the caller closes it, then ends every child it started and exits.
 * Returns its pid, or a negative errno. */
pid_t parent_fork_server(const parent_options *o, int *ret_fd);
