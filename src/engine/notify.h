/* SPDX-License-Identifier: Apache-2.0 */
/* The governor's messages to people: refusals, the circuit breaker, approval
 * requests and their expiry. They are queued in the store's outbox inside the
 * write job that records their event, and sent by the outbox thread
 * (engine/outbox.c): a hung webhook never holds an engine or sweeper thread.
 * Internal to engine/. */
#pragma once

#include <jansson.h>

#include "engine/engine.h"

/* Inside the write job of tx: queues params (event name and ids) with the
 * targets concerned for the notify integration named integration ("" = none
 * configured: nothing is queued). Returns how many older notifications the
 * backlog's bound (BW_OUTBOX_BACKLOG_MAX) dropped (>= 0; report them with
 * engine_notify_dropped once the job committed), or a negative errno of the
 * store, which fails the job. A note the store refuses is logged and left out:
 * it never fails the event's own write. */
int engine_notify(store_tx *tx, const engine_deps *deps, const char *integration, json_t *params,
                  target_kind kind, char *const *targets, size_t n, const char *key, int64_t action_id);

/* engine_notify with a key derived from text (the same text, the same key). */
int engine_notify_text(store_tx *tx, const engine_deps *deps, const char *integration, json_t *params,
                       const char *text);

/* Logs and counts n notifications the backlog's bound dropped (no-op for 0). */
void engine_notify_dropped(const engine_deps *deps, unsigned n);

/* The approval webhook: approvals.notify, else governor.notify. */
const char *engine_approvals_notify(const bw_config *cfg);
