/* SPDX-License-Identifier: Apache-2.0 */
/* The governor's messages to people: refusals, the circuit breaker, approval
 * requests and their expiry, sent through a configured notify integration.
 * Internal to engine/; runs in the engine and sweeper threads. */
#pragma once

#include <jansson.h>

#include "engine/engine.h"

/* Sends params (event name and ids) with the targets concerned through the
 * notify integration named integration ("" = none configured: nothing is sent).
 * Failures are logged, never fatal: the store already holds the record. */
void engine_notify(const engine_deps *deps, const char *integration, json_t *params, target_kind kind,
                   char *const *targets, size_t n, const char *key, int64_t action_id);

/* engine_notify with a key derived from text (the same text, the same key). */
void engine_notify_text(const engine_deps *deps, const char *integration, json_t *params, const char *text);

/* The approval webhook: approvals.notify, else governor.notify. */
const char *engine_approvals_notify(const bw_config *cfg);
