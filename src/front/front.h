/* SPDX-License-Identifier: Apache-2.0 */
/* The api process (docs/architecture.md, "Processes"): HTTP in front of core.
 * front_main is its entry; server.c its HTTP server. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/identity.h"
#include "api/wire.h"
#include "sandbox/sandbox.h"

typedef struct front front;

typedef struct front_options {
        int listen_fd; /* listening, from the parent */
        int link_fd;   /* the api end of the socketpair with core */
        unsigned alert_body_max;
        unsigned threads;
        const api_identity *identities;
        size_t n_identities;
} front_options;

/* Serves HTTP on o->listen_fd. 0 and *ret, or a negative errno. */
int front_start(const front_options *o, front **ret);

/* From the reply reader: core's answer to REQUEST seq (dropped when its client
 * is gone). 0 or -ENOMEM. */
int front_reply(front *f, uint32_t seq, const wire_reply *w);

/* core is gone: every request waiting for it is answered 503. */
void front_abandon(front *f);

/* Stops accepting and waits until every request sent to core was answered
 * (or ended by its client). */
void front_drain(front *f);

/* Stops the server and frees. After front_drain, once the reply reader is
 * done. Accepts NULL. */
void front_free(front *f);

/* The api process's confinement: its own uid (and gid), no capabilities, no
 * path of the file system at all, no TCP bind or connect (it only accepts on
 * the socket it was given), SANDBOX_SYSCALLS_API (no socket()), rlimits. */
void front_sandbox_profile(unsigned uid, sandbox_profile *ret);

/* The api process: fds 3 (listening socket) and 4 (link to core). Confines
 * itself as BW_API_UID (unless confine is false: --no-sandbox, the parent's
 * decision), reads its INIT, serves until SIGTERM or until core closes the
 * link. Returns the process exit status. */
int front_main(bool confine);
