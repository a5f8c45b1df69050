/* SPDX-License-Identifier: Apache-2.0 */
/* The route table: method, path, permission, body limit and handlers of every
 * route in one place (after Redis's command table). Used by the api process
 * (matching, permission, body limit before the body) and by core (the handlers). */
#include <stdbool.h>
#include <string.h>

#include "api/http.h"
#include "util/strutil.h"

static const route route_table[] = {
        {"POST", "/v1/alerts", PERM_ALERTS_WRITE, BODY_ALERT, handle_alert_post, resume_alert_post},
        {"POST", "/v1/alerts/batch", PERM_ALERTS_WRITE, BODY_BATCH, handle_alert_batch, resume_alert_batch},
        {"GET", "/v1/alerts/{id}", PERM_ALERTS_READ, BODY_NONE, handle_alert_get, NULL},
        {"GET", "/v1/executions", PERM_EXECUTIONS_READ, BODY_NONE, handle_exec_list, NULL},
        {"GET", "/v1/executions/{id}", PERM_EXECUTIONS_READ, BODY_NONE, handle_exec_get, NULL},
        {"POST", "/v1/recommendations/{id}/execute", PERM_RECOMMENDATIONS_EXECUTE, BODY_NONE,
         handle_recommendation_execute, NULL},
        {"POST", "/v1/executions/{id}/rollback", PERM_EXECUTIONS_ROLLBACK, BODY_NONE, handle_exec_rollback,
         NULL},
        {"GET", "/v1/approvals", PERM_APPROVALS_READ, BODY_NONE, handle_approval_list, NULL},
        {"GET", "/v1/approvals/{id}", PERM_APPROVALS_READ, BODY_NONE, handle_approval_get, NULL},
        {"POST", "/v1/approvals/{id}/approve", PERM_APPROVALS_DECIDE, BODY_NONE, handle_approval_approve,
         NULL},
        {"POST", "/v1/approvals/{id}/reject", PERM_APPROVALS_DECIDE, BODY_NONE, handle_approval_reject,
         NULL},
        {"POST", "/v1/approvals/{id}/review", PERM_APPROVALS_DECIDE, BODY_NONE, handle_approval_review,
         NULL},
        {"POST", "/v1/rollback-tests", PERM_ROLLBACK_TEST, BODY_NONE, handle_rollback_drills, NULL},
        {"GET", "/v1/breaker", PERM_BREAKER_READ, BODY_NONE, handle_breaker_get, NULL},
        {"GET", "/v1/budgets", PERM_BREAKER_READ, BODY_NONE, handle_budgets_get, NULL},
        {"POST", "/v1/breaker/reset", PERM_BREAKER_RESET, BODY_NONE, handle_breaker_reset, NULL},
        {"GET", "/healthz", PERM_PUBLIC, BODY_NONE, handle_healthz, NULL},
        {"GET", "/readyz", PERM_PUBLIC, BODY_NONE, handle_readyz, NULL},
        {"GET", "/metrics", PERM_METRICS_READ, BODY_NONE, handle_metrics, NULL},
        {"GET", "/v1/status", PERM_STATUS_READ, BODY_NONE, handle_status, NULL},
};

actor_role permission_role(permission p) {
        switch (p) {
        case PERM_ALERTS_WRITE:
                return ROLE_INGEST;
        case PERM_RECOMMENDATIONS_EXECUTE:
                return ROLE_ANALYST;
        case PERM_APPROVALS_DECIDE:
                return ROLE_APPROVER;
        case PERM_BREAKER_RESET:
        case PERM_EXECUTIONS_ROLLBACK:
        case PERM_ROLLBACK_TEST:
        case PERM_STATUS_READ:
                return ROLE_ADMIN;
        default:
                return _ROLE_MAX; /* reads */
        }
}

#define N_ROUTES (sizeof(route_table) / sizeof(route_table[0]))

const route *routes_at(unsigned index) {
        return index < N_ROUTES ? &route_table[index] : NULL;
}

unsigned route_index(const route *r) {
        return (unsigned)(r - route_table);
}

size_t route_body_max(const route *r, unsigned alert_body_max) {
        switch (r->body) {
        case BODY_ALERT:
                return alert_body_max;
        case BODY_BATCH:
                return BW_BATCH_BODY_MAX;
        case BODY_NONE:
        default:
                return BW_SMALL_BODY_MAX;
        }
}

/* Matches pattern against path; an "{id}" segment matches a decimal id >= 1. */
static bool path_matches(const char *pattern, const char *path, int64_t *ret_id) {
        const char *brace = strstr(pattern, "{id}");
        if (!brace)
                return strcmp(pattern, path) == 0;
        size_t prefix = (size_t)(brace - pattern);
        if (strncmp(pattern, path, prefix) != 0)
                return false;
        const char *segment = path + prefix, *end = strchr(segment, '/');
        size_t len = end ? (size_t)(end - segment) : strlen(segment);
        char digits[24];
        if (len == 0 || len >= sizeof(digits) || strcmp(end ? end : "", brace + 4) != 0)
                return false;
        memcpy(digits, segment, len);
        digits[len] = '\0';
        int64_t id;
        if (parse_int64(digits, 1, INT64_MAX, &id) < 0)
                return false;
        *ret_id = id;
        return true;
}

const route *routes_match(const char *method, const char *path, int64_t *ret_id, bool *ret_path_known) {
        *ret_path_known = false;
        for (size_t i = 0; i < N_ROUTES; i++) {
                int64_t id = 0;
                if (!path_matches(route_table[i].path, path, &id))
                        continue;
                *ret_path_known = true;
                if (strcmp(route_table[i].method, method) == 0) {
                        *ret_id = id;
                        return &route_table[i];
                }
        }
        return NULL;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* libmicrohttpd decodes every '%' followed by two hex digits (a hex digit is
 * never a '%', so no escape hides another): checking each such triple here sees
 * exactly the bytes the decoded target would hold. */
const char *routes_target_control(const char *raw, size_t len) {
        const char *part = "path";
        for (size_t i = 0; i < len; i++) {
                unsigned c = (unsigned char)raw[i];
                if (c == '?')
                        part = "query";
                if (c == '%' && len - i > 2 && hex_value(raw[i + 1]) >= 0 && hex_value(raw[i + 2]) >= 0)
                        c = (unsigned)(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2]));
                if (c < 0x20 || c == 0x7f)
                        return part;
        }
        return NULL;
}
