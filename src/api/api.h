/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP API server (libmicrohttpd): authentication, size limits, validation,
 * and the route table of routes.c. Request bytes are untrusted. Runs in the
 * daemon; holds the API token (as a hash). */
#pragma once

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
        const char *address; /* numeric IPv4 or IPv6 */
        uint16_t port;
        unsigned alert_body_max; /* bytes, <= BW_ALERT_BODY_MAX_CEILING */
        unsigned queue_capacity;
        const api_actor *actors; /* at least one; names and tokens distinct */
        size_t n_actors;
        unsigned threads; /* HTTP threads (>= 1) */
} api_options;

typedef struct api_deps {
        const bw_config *config;
        store *store;
        connector_pool *pool;
        bw_metrics *metrics;
} api_deps;

/* Starts listening. Returns 0 and *ret, or a negative errno (e.g. -EADDRINUSE). */
int api_start(const api_options *o, const api_deps *deps, api **ret);

/* Stops accepting, waits for acknowledgements still in flight, then stops.
 * Accepts NULL. */
void api_stop(api *a);
