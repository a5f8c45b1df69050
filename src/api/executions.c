/* SPDX-License-Identifier: Apache-2.0 */
/* Execution routes: GET /v1/executions (newest first, paginated) and GET
 * /v1/executions/{id} (steps, actions, outcomes). Query strings are untrusted.
 * Runs in the daemon's HTTP threads. */
#include <errno.h>

#include "api/http.h"
#include "util/strutil.h"

/* Reads an optional integer query argument within [min, max]. */
static int query_int(request *req, const char *name, int64_t min, int64_t max, int64_t *value) {
        const char *s = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
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
