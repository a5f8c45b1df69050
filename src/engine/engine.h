/* SPDX-License-Identifier: Apache-2.0 */
/* The engine: worker threads that claim alerts from the durable queue, match
 * playbooks, render steps into actions and run them through the connector pool,
 * journalling intent before apply and the result after, so that a restart never
 * applies an action twice. Runs in the daemon (core). */
#pragma once

#include "config/config.h"
#include "config/playbooks.h"
#include "connectors/pool.h"
#include "core/metrics.h"
#include "store/store.h"

typedef struct engine engine;

typedef struct engine_deps {
        store *store;
        connector_pool *pool;
        const bw_config *config;       /* integrations: kind and timeout */
        const playbook_set *playbooks; /* read-only while the engine runs */
        bw_metrics *metrics;
} engine_deps;

/* Starts config->workers worker threads. Returns 0 and *ret, or a negative errno. */
int engine_start(const engine_deps *deps, engine **ret);

/* Stops the workers after their current batch. Accepts NULL. */
void engine_stop(engine *e);
