/* SPDX-License-Identifier: Apache-2.0 */
/* The http connector kind: sends each action as JSON to a REST endpoint (an
 * EDR, a ticketing system) over HTTPS; with snapshot_url and rollback_url it is
 * reversible. Runs in its integration's worker; actions (from alerts) and
 * responses are untrusted. */
#include <errno.h>
#include <jansson.h>

#include "connectors/http_client.h"
#include "connectors/kind.h"

static const setting_spec http_settings[] = {
        HTTP_CLIENT_SETTINGS,
        {"method", SETTING_STRING, false, 3, 4, "", "POST or PUT (default POST)"},
        {"path", SETTING_STRING, false, 1, BW_URL_MAX, HTTP_CLIENT_URL_CHARS,
         "appended to url, starts with / (default none)"},
        {"headers", SETTING_STRING_LIST, false, 0, BW_HTTP_HEADERS_MAX, NULL,
         "extra request headers, each \"Name: value\" (secret: only its worker holds them)"},
        {"max_response", SETTING_INT, false, 1, BW_CONNECTOR_OUTPUT_MAX, NULL,
         "largest response body accepted, in bytes (default 65536)"},
        {"snapshot_url", SETTING_STRING, false, 9, BW_URL_MAX, HTTP_CLIENT_URL_CHARS,
         "full URL (checked as url is) fetched with GET, with the same headers and token, before each "
         "action: a 2xx JSON object answer is the snapshot; requires rollback_url"},
        {"rollback_url", SETTING_STRING, false, 9, BW_URL_MAX, HTTP_CLIENT_URL_CHARS,
         "full URL (checked as url is) sent {\"action\": ..., \"snapshot\": ...} when apply or verify "
         "fails; a 2xx answer = restored; requires snapshot_url"},
        {"rollback_method", SETTING_STRING, false, 3, 6, "",
         "POST, PUT, PATCH or DELETE for rollback_url (default POST)"},
        {0},
};

static const setting_spec http_request_params[] = {
        KIND_PARAMS_PASSED_ON("the JSON body (\"params\")"),
        {0},
};

static const connector_verb http_verbs[] = {
        {"request", KIND_TARGETS_ANY, true,
         http_request_params}, /* when snapshot_url and rollback_url are configured */
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

static int http_confine(void *state, const json_t *settings, sandbox_profile *p) {
        (void)settings;
        return http_client_confine(state, p);
}

static int http_validate(void *state, const connector_action *a, connector_result *res) {
        return kind_validated(kind_check_action(&http_kind, a, res), res);
}

static int http_snapshot(void *state, const connector_action *a, connector_result *res) {
        int r = kind_check_action(&http_kind, a, res);
        return r < 0 ? r : http_client_snapshot(state, res);
}

static int http_apply(void *state, const connector_action *a, connector_result *res) {
        return http_client_send_action(state, &http_kind, a, NULL, res);
}

/* Sends the action as apply sent it, with the snapshot it restores. */
static int http_rollback(void *state, const connector_action *a, connector_result *res) {
        int r = kind_check_action(&http_kind, a, res);
        if (r < 0)
                return r;
        if (!json_is_object(a->snapshot))
                return kind_invalid(res, "snapshot: missing (the object snapshot_url answered)");
        json_t *body = json_pack("{so sO}", "action", kind_action_json(a, NULL), "snapshot", a->snapshot);
        if (!body)
                return -ENOMEM;
        r = http_client_rollback(state, body, a->idempotency_key, res);
        json_decref(body);
        return r;
}

/* Snapshot and rollback exist only where snapshot_url and rollback_url (a pair,
 * see http_client_check_settings) are configured. */
static bool http_has_op(const json_t *settings, connector_op op) {
        if (op == CONNECTOR_OP_SNAPSHOT)
                return json_object_get(settings, "snapshot_url") != NULL;
        if (op == CONNECTOR_OP_ROLLBACK)
                return json_object_get(settings, "rollback_url") != NULL;
        return true;
}

static const char *const http_secret_settings[] = {"headers", NULL};

const connector_kind http_kind = {
        .name = "http",
        .verbs = http_verbs,
        .settings = http_settings,
        .secret_settings = http_secret_settings,
        .check_settings = http_check_settings,
        .open = http_open,
        .close = http_close,
        .confine = http_confine,
        .ops =
                {
                        [CONNECTOR_OP_VALIDATE] = http_validate,
                        [CONNECTOR_OP_SNAPSHOT] = http_snapshot,
                        [CONNECTOR_OP_APPLY] = http_apply,
                        [CONNECTOR_OP_ROLLBACK] = http_rollback,
                },
        .has_op = http_has_op,
};
