/* SPDX-License-Identifier: Apache-2.0 */
/* Queueing the governor's notifications in the outbox (see notify.h). Runs in
 * the engine and sweeper threads, inside their write jobs; params are built
 * from store records, targets come from alerts (untrusted, already validated). */
#include "engine/notify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/limits.h"
#include "util/log.h"

static char *targets_dump(char *const *targets, size_t n) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++)
                if (json_array_append_new(list, json_string(targets[i])) < 0) {
                        json_decref(list);
                        return NULL;
                }
        char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
        json_decref(list);
        return text;
}

int engine_notify(store_tx *tx, const engine_deps *deps, const char *integration, json_t *params,
                  target_kind kind, char *const *targets, size_t n, const char *key, int64_t action_id) {
        const integration_config *ic =
                integration[0] ? config_integration_find(deps->config, integration) : NULL;
        if (!ic || !params)
                return 0;
        char *targets_json = targets_dump(targets, n);
        char *params_json = json_dumps(params, JSON_COMPACT);
        int r = -ENOMEM;
        if (targets_json && params_json) {
                store_notification note = {
                        .integration = ic->name,
                        .target_kind = target_kind_name(kind),
                        .targets_json = targets_json,
                        .params_json = params_json,
                        .idempotency_key = key,
                        .action_id = action_id,
                };
                r = store_tx_outbox_add(tx, &note, 1, BW_OUTBOX_BACKLOG_MAX);
        }
        if (r == -EINVAL) {
                log_json(LOG_LEVEL_ERROR, "governor", "notify.refused",
                         json_pack("{sI ss ss}", "action_id", (json_int_t)action_id, "integration", ic->name,
                                   "params", params_json ? params_json : ""));
                r = 0;
        }
        free(targets_json);
        free(params_json);
        return r;
}

int engine_notify_text(store_tx *tx, const engine_deps *deps, const char *integration, json_t *params,
                       const char *text) {
        unsigned char hash[32];
        char key[65];
        crypto_generichash(hash, sizeof(hash), (const unsigned char *)text, strlen(text), NULL, 0);
        sodium_bin2hex(key, sizeof(key), hash, sizeof(hash));
        return engine_notify(tx, deps, integration, params, TARGET_NONE, NULL, 0, key, 0);
}

void engine_notify_dropped(const engine_deps *deps, unsigned n) {
        if (n == 0)
                return;
        atomic_fetch_add_explicit(&deps->metrics->notifications[NOTIFY_DROPPED], n, memory_order_relaxed);
        log_json(LOG_LEVEL_WARN, "governor", "notify.dropped",
                 json_pack("{si si}", "dropped", (int)n, "backlog_max", (int)BW_OUTBOX_BACKLOG_MAX));
}

const char *engine_approvals_notify(const bw_config *cfg) {
        return cfg->approvals_notify[0] ? cfg->approvals_notify : cfg->governor_notify;
}
