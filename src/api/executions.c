/* SPDX-License-Identifier: Apache-2.0 */
/* Execution routes: GET /v1/executions (newest first, paginated) and GET
 * /v1/executions/{id} (steps, actions, outcomes). Query strings are untrusted.
 * Runs in core's dispatch threads. */
#include <errno.h>

#include "api/http.h"
#include "util/log.h"
#include "util/strutil.h"

/* Reads an optional integer query argument within [min, max]. */
static int query_int(request *req, const char *name, int64_t min, int64_t max, int64_t *value) {
        char text[BW_WIRE_ARG_VALUE_MAX + 1];
        const char *s = request_query(req, name, text, sizeof(text));
        if (!s)
                return 0;
        return parse_int64(s, min, max, value);
}

enum MHD_Result handle_exec_list(request *req) {
        int64_t limit = 50, before = 0;
        if (query_int(req, "limit", 1, 1000, &limit) < 0)
                return reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid", "limit", "limit must be 1..1000");
        if (query_int(req, "before", 1, INT64_MAX, &before) < 0)
                return reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid", "before",
                                   "before must be an execution id");
        json_t *list = NULL;
        int r = store_exec_list(req->api->store, before, (unsigned)limit, &list);
        if (r < 0)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "read failed");
        return reply_json(req, MHD_HTTP_OK, json_pack("{so}", "executions", list));
}

enum MHD_Result handle_recommendation_execute(request *req) {
        int64_t alert_id = 0;
        int r = store_recommendation_execute(req->api->store, req->path_id, req->actor, &alert_id);
        switch (r) {
        case 0:
                log_json(LOG_LEVEL_INFO, "engine", "recommendation.execute",
                         json_pack("{sI sI ss}", "action_id", (json_int_t)req->path_id, "alert_id",
                                   (json_int_t)alert_id, "actor", req->actor));
                return reply_json(req, MHD_HTTP_ACCEPTED,
                                  json_pack("{sI sI ss}", "action_id", (json_int_t)req->path_id, "alert_id",
                                            (json_int_t)alert_id, "status", "queued"));
        case -ENOENT:
                return reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "id", "no action %lld",
                                   (long long)req->path_id);
        case -EALREADY:
                return reply_error(req, MHD_HTTP_CONFLICT, "not_recommended", "id",
                                   "action %lld is not a recommendation (or was already executed)",
                                   (long long)req->path_id);
        case -EBUSY:
                return reply_error(req, MHD_HTTP_CONFLICT, "busy", "id",
                                   "the alert of this action is being processed; retry");
        default:
                return reply_store_failed(req, r, "execute failed");
        }
}

enum MHD_Result handle_exec_rollback(request *req) {
        const char *reason;
        json_t *body = request_text_body(req, "reason", &reason);
        if (!body)
                return MHD_YES;
        int64_t alert_id = 0;
        unsigned n = 0;
        int r = store_exec_rollback(req->api->store, req->path_id, req->actor, reason, &alert_id, &n);
        if (r == 0)
                log_json(LOG_LEVEL_WARN, "governor", "rollback.requested",
                         json_pack("{sI sI ss ss si}", "exec_id", (json_int_t)req->path_id, "alert_id",
                                   (json_int_t)alert_id, "actor", req->actor, "reason", reason, "actions",
                                   (int)n));
        json_decref(body);
        switch (r) {
        case 0:
                return reply_json(req, MHD_HTTP_ACCEPTED,
                                  json_pack("{sI sI si ss}", "exec_id", (json_int_t)req->path_id, "alert_id",
                                            (json_int_t)alert_id, "actions", (int)n, "status", "queued"));
        case -ENOENT:
                return reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "id", "no execution %lld",
                                   (long long)req->path_id);
        case -EALREADY:
                return reply_error(req, MHD_HTTP_CONFLICT, "nothing_to_roll_back", "id",
                                   "execution %lld has no applied action with a snapshot",
                                   (long long)req->path_id);
        case -EBUSY:
                return reply_error(req, MHD_HTTP_CONFLICT, "busy", "id",
                                   "the alert of this execution is being processed; retry");
        default:
                return reply_store_failed(req, r, "rollback failed");
        }
}

enum MHD_Result handle_exec_get(request *req) {
        json_t *out = NULL;
        int r = store_exec_get(req->api->store, req->path_id, &out);
        if (r == -ENOENT)
                return reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "id", "no execution %lld",
                                   (long long)req->path_id);
        if (r < 0)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "read failed");
        return reply_json(req, MHD_HTTP_OK, out);
}
