/* SPDX-License-Identifier: Apache-2.0 */
/* Circuit-breaker routes: GET /v1/breaker (state and why it opened), POST
 * /v1/breaker/reset (an admin closes it, with a reason) and GET /v1/budgets (the
 * rate budgets the breaker guards, as used now). The reset body is untrusted.
 * Runs in core's dispatch threads. */
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

/* Every configured rate budget with what its current window has used: what a
 * dry run needs to tell "over budget" (bulwark playbook test --live). */
enum MHD_Result handle_budgets_get(request *req) {
        const governor_policy *gp = &req->api->config->governor;
        json_t *list = json_array();
        for (size_t i = 0; list && i < gp->n_rate_limits; i++)
                for (unsigned w = 0; w < _RATE_WINDOW_MAX; w++) {
                        const governor_rate_limit *rl = &gp->rate_limits[i];
                        if (rl->per[w] == 0)
                                continue;
                        store_budget b = {.key = rl->key,
                                          .window_ms = rate_window_ms((rate_window)w),
                                          .limit = rl->per[w]};
                        uint64_t used;
                        if (store_budget_used(req->api->store, &b, &used) < 0) {
                                json_decref(list);
                                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "",
                                                   "read failed");
                        }
                        json_t *o = json_pack("{ss ss si sI sb}", "key", rl->key, "window",
                                              rate_window_name((rate_window)w), "limit", (int)rl->per[w],
                                              "used", (json_int_t)used, "spent", used >= rl->per[w]);
                        if (!o || json_array_append_new(list, o) < 0) {
                                json_decref(list);
                                list = NULL;
                        }
                }
        json_t *breaker = NULL;
        if (!list || store_breaker_get(req->api->store, &breaker) < 0) {
                json_decref(list);
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "read failed");
        }
        json_t *out =
                json_pack("{so sO}", "budgets", list, "breaker_open", json_object_get(breaker, "open"));
        json_decref(breaker);
        if (!out)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "", "out of memory");
        return reply_json(req, MHD_HTTP_OK, out);
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
                return reply_store_failed(req, r, "reset failed");
        return handle_breaker_get(req);
}
