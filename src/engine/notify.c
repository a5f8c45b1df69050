/* SPDX-License-Identifier: Apache-2.0 */
/* Sending the governor's notifications through a notify integration (see
 * notify.h). Runs in the engine and sweeper threads; params are built here from
 * store records, targets come from alerts (untrusted, already validated). */
#include "engine/notify.h"

#include <string.h>

#include <sodium.h>

#include "connectors/connector.h"
#include "engine/gate.h"
#include "util/log.h"

void engine_notify(const engine_deps *deps, const char *integration, json_t *params, target_kind kind,
                   char *const *targets, size_t n, const char *key, int64_t action_id) {
        const integration_config *ic =
                integration[0] ? config_integration_find(deps->config, integration) : NULL;
        if (!ic || !params)
                return;
        connector_action note = {
                .action_id = action_id,
                .verb = "send",
                .kind = kind,
                .targets = targets,
                .n_targets = n,
                .params = params,
                .idempotency_key = key,
        };
        /* The governor's own message to people: it acts on no system. */
        governor_permit permit;
        connector_result res = {0};
        int r = gate_permit_notification(ic->name, &note, &permit);
        if (r == 0)
                r = connector_pool_call(deps->pool, ic->name, CONNECTOR_OP_APPLY, &note, &permit,
                                        ic->timeout_ms, &res);
        if (r < 0 || !res.ok)
                log_json(LOG_LEVEL_ERROR, "governor", "notify.failed",
                         json_pack("{sI ss ss}", "action_id", (json_int_t)action_id, "integration", ic->name,
                                   "detail", r < 0 ? strerror(-r) : res.detail));
        connector_result_clear(&res);
}

void engine_notify_text(const engine_deps *deps, const char *integration, json_t *params, const char *text) {
        unsigned char hash[32];
        char key[65];
        crypto_generichash(hash, sizeof(hash), (const unsigned char *)text, strlen(text), NULL, 0);
        sodium_bin2hex(key, sizeof(key), hash, sizeof(hash));
        engine_notify(deps, integration, params, TARGET_NONE, NULL, 0, key, 0);
}

const char *engine_approvals_notify(const bw_config *cfg) {
        return cfg->approvals_notify[0] ? cfg->approvals_notify : cfg->governor_notify;
}
