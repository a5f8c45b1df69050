/* SPDX-License-Identifier: Apache-2.0 */
/* Circuit-breaker routes: GET /v1/breaker (state and why it opened) and POST
 * /v1/breaker/reset (an admin closes it, with a reason). The reset body is
 * untrusted. Runs in the daemon's HTTP threads. */
#include <errno.h>
#include <string.h>

#include "api/http.h"
#include "util/log.h"
#include "util/strutil.h"

/* A reason is one line of text an auditor will read: 1..512 bytes of UTF-8
 * without control characters. */
#define BREAKER_REASON_MAX 512u

/* Until users exist (access-control issue), the actor is the API token. */
#define BREAKER_ACTOR "api-token"

enum MHD_Result handle_breaker_get(request *req) {
        json_t *b = NULL;
        if (store_breaker_get(req->api->store, &b) < 0)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "read failed");
        return reply_json(req, MHD_HTTP_OK, b);
}

static bool reason_ok(const char *s, size_t len) {
        if (len == 0 || len > BREAKER_REASON_MAX || !utf8_valid(s, len))
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

enum MHD_Result handle_breaker_reset(request *req) {
        json_error_t jerr;
        json_t *body = json_loadb(req->body.data ? req->body.data : "", req->body.len,
                                  JSON_REJECT_DUPLICATES, &jerr);
        const char *reason = NULL;
        size_t len = 0;
        int r = body && json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s%}", "reason", &reason, &len) == 0
                        ? 0
                        : -1;
        if (r < 0 || !reason_ok(reason, len)) {
                json_decref(body);
                return reply_error(
                        req, MHD_HTTP_BAD_REQUEST, "invalid", "reason",
                        "a JSON object {\"reason\": \"...\"} with 1..%u characters of text is required",
                        BREAKER_REASON_MAX);
        }
        r = store_breaker_reset(req->api->store, BREAKER_ACTOR, reason);
        if (r == 0)
                log_json(LOG_LEVEL_WARN, "governor", "breaker.reset",
                         json_pack("{ss ss}", "actor", BREAKER_ACTOR, "reason", reason));
        json_decref(body);
        if (r == -EALREADY)
                return reply_error(req, MHD_HTTP_CONFLICT, "not_open", "",
                                   "the circuit breaker is not open");
        if (r < 0)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "reset failed");
        return handle_breaker_get(req);
}
