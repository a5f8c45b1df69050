/* SPDX-License-Identifier: Apache-2.0 */
/* The http connector kind: sends each action as JSON to a REST endpoint (an
 * EDR, a ticketing system) over HTTPS. Runs in its integration's worker; actions
 * (from alerts) and responses are untrusted. Not reversible in this version. */
#include <jansson.h>

#include "connectors/http_client.h"
#include "connectors/kind.h"

static const setting_spec http_settings[] = {
        HTTP_CLIENT_SETTINGS,
        {"method", SETTING_STRING, false, 3, 4, "", "POST or PUT (default POST)"},
        {"path", SETTING_STRING, false, 1, BW_URL_MAX, HTTP_CLIENT_URL_CHARS,
         "appended to url, starts with / (default none)"},
        {"headers", SETTING_STRING_LIST, false, 0, BW_HTTP_HEADERS_MAX, NULL,
         "extra request headers, each \"Name: value\""},
        {"max_response", SETTING_INT, false, 1, BW_CONNECTOR_OUTPUT_MAX, NULL,
         "largest response body accepted, in bytes (default 65536)"},
        {0},
};

static const connector_verb http_verbs[] = {
        {"request", KIND_TARGETS_ANY, false},
        {0},
};

static int http_check_settings(const json_t *settings, bw_error *err) {
        return http_client_check_settings(settings, http_settings, err);
}

static int http_open(const json_t *settings, void **ret_state, bw_error *err) {
        http_client *c;
        int r = http_client_new(settings, http_settings, &c, err);
        if (r < 0)
                return r;
        *ret_state = c;
        return 0;
}

static void http_close(void *state) {
        http_client_free(state);
}

static int http_validate(void *state, const connector_action *a, connector_result *res) {
        return kind_validated(kind_check_action(&http_kind, a, res), res);
}

static int http_apply(void *state, const connector_action *a, connector_result *res) {
        return http_client_send_action(state, &http_kind, a, NULL, res);
}

const connector_kind http_kind = {
        .name = "http",
        .verbs = http_verbs,
        .settings = http_settings,
        .check_settings = http_check_settings,
        .open = http_open,
        .close = http_close,
        .ops =
                {
                        [CONNECTOR_OP_VALIDATE] = http_validate,
                        [CONNECTOR_OP_APPLY] = http_apply,
                },
};
