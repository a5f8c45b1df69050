/* SPDX-License-Identifier: Apache-2.0 */
/* The sweeper: one thread that, twice a second, rejects approvals whose time is
 * up, hands expired actions back to the engine for rollback, and prunes ended
 * threshold windows and effects. Everything it does is a store transaction, so
 * it survives restarts. Internal to engine/; runs in the daemon. */
#pragma once

#include "engine/engine.h"

typedef struct sweeper sweeper;

/* Starts the thread. Returns 0 and *ret, or a negative errno. */
int sweeper_start(const engine_deps *deps, sweeper **ret);

/* Stops it after its current round. Accepts NULL. */
void sweeper_stop(sweeper *s);
