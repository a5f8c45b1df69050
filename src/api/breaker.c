/* SPDX-License-Identifier: Apache-2.0 */
/* Circuit-breaker routes: GET /v1/breaker (state and why it opened) and POST
 * /v1/breaker/reset (an admin closes it, with a reason). The reset body is
 * untrusted. Runs in the daemon's HTTP threads. */
#include <errno.h>
#include <string.h>

#include "api/http.h"
#include "util/log.h"

enum MHD_Result handle_breaker_get(request *req) {
        json_t *b = NULL;
        if (store_breaker_get(req->api->store, &b) < 0)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "read failed");
        return reply_json(req, MHD_HTTP_OK, b);
}

enum MHD_Result handle_breaker_reset(request *req) {
        const char *reason;
        json_t *body = request_text_body(req, "reason", &reason);
        if (!body)
                return MHD_YES;
        int r = store_breaker_reset(req->api->store, req->actor, reason);
        if (r == 0)
                log_json(LOG_LEVEL_WARN, "governor", "breaker.reset",
                         json_pack("{ss ss}", "actor", req->actor, "reason", reason));
        json_decref(body);
        if (r == -EALREADY)
                return reply_error(req, MHD_HTTP_CONFLICT, "not_open", "",
                                   "the circuit breaker is not open");
        if (r < 0)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "reset failed");
        return handle_breaker_get(req);
}
