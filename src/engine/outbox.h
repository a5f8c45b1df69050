/* SPDX-License-Identifier: Apache-2.0 */
/* The outbox thread: sends the notifications the engine and the sweeper queued
 * in the store (engine/notify.h) through their notify integration, with bounded
 * attempts and a backoff, and records each outcome durably. It is the only
 * thread that waits for a webhook, so a hung one delays notifications only,
 * never an action. Internal to engine/; runs in the daemon. */
#pragma once

#include "engine/engine.h"

typedef struct outbox outbox;

/* Starts the thread. Returns 0 and *ret, or a negative errno. */
int outbox_start(const engine_deps *deps, outbox **ret);

/* Stops it at once: an attempt in flight is abandoned (its notification stays
 * pending and is sent after the next start). Accepts NULL. */
void outbox_stop(outbox *o);
