/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP API, from core: the api process (front/) parses HTTP as its own
 * confined user and forwards each request; core runs the route's handler
 * (api/dispatch.c) and answers. api_start has the parent start the api
 * process on the listening socket it holds, and restarts it when it dies.
 * Holds the actors' token hashes, never the tokens. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "connectors/pool.h"
#include "core/metrics.h"
#include "store/store.h"

typedef struct api api;

/* An API actor: the name recorded for what its token does, and the token. */
typedef struct api_actor {
        const char *name;
        const char *token; /* bearer token; hashed at start, not kept */
        unsigned roles;    /* bit mask of (1u << actor_role), config/config.h */
} api_actor;

typedef struct api_options {
        unsigned alert_body_max; /* bytes, <= BW_ALERT_BODY_MAX_CEILING */
        unsigned queue_capacity;
        const api_actor *actors; /* at least one; names and tokens distinct */
        size_t n_actors;
        unsigned threads;   /* HTTP threads of the api process (>= 1) */
        spawn_link *parent; /* starts it, on the listening socket the parent holds (borrowed) */
        bool confine;       /* false only under --no-sandbox: its HELLO is not checked */
} api_options;

typedef struct api_deps {
        const bw_config *config;
        store *store;
        connector_pool *pool;
        bw_metrics *metrics;
        const sandbox_status *parent_sandbox; /* as the parent read it before forking core */
        const sandbox_status *core_sandbox;   /* core's, as sandbox_apply left it */
} api_deps;

/* Starts the api process (the parent does: connectors/spawn.h) and its
 * supervisor. Returns 0 and *ret, or a negative errno (-EEXIST for two actors
 * with one token). */
int api_start(const api_options *o, const api_deps *deps, api **ret);

/* What api_status reports of the api process: its pid, restarts, and its
 * confinement as it reported it. */
json_t *api_process_status(api *a);

/* Stops the api process (SIGTERM: it lets core answer what it sent), waits for
 * the acknowledgements still in flight, then stops. Accepts NULL. */
void api_stop(api *a);
