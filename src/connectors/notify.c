/* SPDX-License-Identifier: Apache-2.0 */
/* The notify connector kind: a JSON webhook POST telling a chat or paging
 * system what Bulwark did. Runs in its integration's worker; actions (from
 * alerts) and responses are untrusted. Not reversible. */
#include <jansson.h>

#include "connectors/http_client.h"
#include "connectors/kind.h"

static const setting_spec notify_settings[] = {
        HTTP_CLIENT_SETTINGS,
        {0},
};

static const setting_spec notify_send_params[] = {
        KIND_PARAMS_PASSED_ON("the webhook's JSON body (\"params\")"),
        {0},
};

static const connector_verb notify_verbs[] = {
        {"send", KIND_TARGETS_ANY, false, notify_send_params},
        {0},
};

static int notify_check_settings(const json_t *settings, bw_error *err) {
        return http_client_check_settings(settings, notify_settings, err);
}

static int notify_open(const json_t *settings, void **ret_state, bw_error *err) {
        http_client *c;
        int r = http_client_new(settings, notify_settings, &c, err);
        if (r < 0)
                return r;
        *ret_state = c;
        return 0;
}

static void notify_close(void *state) {
        http_client_free(state);
}

static int notify_confine(void *state, const json_t *settings, sandbox_profile *p) {
        (void)settings;
        return http_client_confine(state, p);
}

static int notify_validate(void *state, const connector_action *a, connector_result *res) {
        return kind_validated(kind_check_action(&notify_kind, a, res), res);
}

static int notify_apply(void *state, const connector_action *a, connector_result *res) {
        return http_client_send_action(state, &notify_kind, a, "bulwark.action", res);
}

const connector_kind notify_kind = {
        .name = "notify",
        .inert = true,
        .verbs = notify_verbs,
        .settings = notify_settings,
        .check_settings = notify_check_settings,
        .open = notify_open,
        .close = notify_close,
        .confine = notify_confine,
        .ops =
                {
                        [CONNECTOR_OP_VALIDATE] = notify_validate,
                        [CONNECTOR_OP_APPLY] = notify_apply,
                },
};
