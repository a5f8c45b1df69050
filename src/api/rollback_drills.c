/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/rollback-tests: an administrator runs the rollback test of every
 * staging integration (engine/rollback_drill.h). The body is empty; runs in the
 * core's dispatch threads. The handler blocks its dispatch thread for the whole run,
 * bounded by the staging integrations' connector timeouts (five calls each):
 * the run is rare and deliberate, and its answer is the results themselves. */
#include <errno.h>

#include "api/http.h"
#include "engine/rollback_drill.h"
#include "util/log.h"

enum MHD_Result handle_rollback_drills(request *req) {
        json_t *out = NULL;
        int r = rollback_drill_run(req->api->pool, req->api->config, &out);
        if (r == -EBUSY)
                return reply_error(req, MHD_HTTP_CONFLICT, "busy", "",
                                   "a rollback test is already running; retry when it ends");
        if (r < 0)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "",
                                   "the rollback test could not run");
        /* Who asked: the engine logged each result, not the actor. */
        log_json(LOG_LEVEL_INFO, "api", "rollback_test.run",
                 json_pack("{ss sO sO}", "actor", req->actor, "passed", json_object_get(out, "passed"),
                           "failed", json_object_get(out, "failed")));
        return reply_json(req, MHD_HTTP_OK, out);
}
