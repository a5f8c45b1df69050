/* SPDX-License-Identifier: Apache-2.0 */
/* Approval routes: list and read approval requests, approve or reject them with
 * a reason (separation of duties is enforced by the store, in the same
 * transaction as the decision), and acknowledge the post-action review of a
 * level 4 execution. Bodies and query strings are untrusted. Runs in
 * core's dispatch threads. */
#include <errno.h>
#include <string.h>

#include "api/http.h"
#include "util/log.h"

#define APPROVALS_LIST_MAX 1000u

enum MHD_Result handle_approval_list(request *req) {
        char value[BW_WIRE_ARG_VALUE_MAX + 1];
        const char *state = request_query(req, "state", value, sizeof(value));
        if (!state)
                state = "pending";
        if (strcmp(state, "pending") != 0 && strcmp(state, "approved") != 0 &&
            strcmp(state, "rejected") != 0 && strcmp(state, "all") != 0)
                return reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid", "state",
                                   "state must be pending, approved, rejected or all");
        json_t *list = NULL;
        int r = store_approval_list(req->api->store, strcmp(state, "all") == 0 ? NULL : state,
                                    APPROVALS_LIST_MAX, &list);
        if (r < 0)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "read failed");
        return reply_json(req, MHD_HTTP_OK, json_pack("{so}", "approvals", list));
}

static enum MHD_Result reply_approval(request *req, int r, json_t *approval) {
        switch (r) {
        case 0:
                return reply_json(req, MHD_HTTP_OK, approval);
        case -ENOENT:
                return reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "id", "no approval %lld",
                                   (long long)req->path_id);
        case -EALREADY:
                return reply_error(req, MHD_HTTP_CONFLICT, "not_pending", "id",
                                   "approval %lld was already decided", (long long)req->path_id);
        case -ETIMEDOUT:
                return reply_error(req, MHD_HTTP_CONFLICT, "expired", "id",
                                   "approval %lld expired before this decision: it counts as rejected",
                                   (long long)req->path_id);
        case -EPERM:
                return reply_error(req, MHD_HTTP_FORBIDDEN, "separation_of_duties", "actor",
                                   "%s may not approve this: whoever caused the action to run (the alert's "
                                   "sender, the analyst who ran it, the admin who asked a rollback), the "
                                   "playbook's author and an earlier approver are excluded",
                                   req->actor);
        case -EBUSY:
                return reply_error(req, MHD_HTTP_CONFLICT, "busy", "id",
                                   "the alert of this approval is being processed; retry");
        default:
                return reply_store_failed(req, r, "store failed");
        }
}

enum MHD_Result handle_approval_get(request *req) {
        json_t *out = NULL;
        int r = store_approval_get(req->api->store, req->path_id, &out);
        return reply_approval(req, r, out);
}

static enum MHD_Result decide(request *req, approval_decision d) {
        const char *reason;
        json_t *body = request_text_body(req, "reason", &reason);
        if (!body)
                return MHD_YES;
        json_t *out = NULL;
        int r = store_approval_decide(req->api->store, req->path_id, req->actor, d, reason, &out);
        log_json(r == 0 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO, "governor",
                 r == 0 ? "approval.decided" : "approval.refused",
                 json_pack("{sI ss ss ss si}", "approval_id", (json_int_t)req->path_id, "actor", req->actor,
                           "decision", d == APPROVAL_APPROVE ? "approve" : "reject", "reason", reason,
                           "result", r));
        json_decref(body);
        return reply_approval(req, r, out);
}

enum MHD_Result handle_approval_approve(request *req) {
        return decide(req, APPROVAL_APPROVE);
}

enum MHD_Result handle_approval_reject(request *req) {
        return decide(req, APPROVAL_REJECT);
}

enum MHD_Result handle_approval_review(request *req) {
        const char *note;
        json_t *body = request_text_body(req, "note", &note);
        if (!body)
                return MHD_YES;
        json_t *out = NULL;
        int r = store_approval_review(req->api->store, req->path_id, req->actor, note, &out);
        if (r == 0)
                log_json(LOG_LEVEL_INFO, "governor", "review.acknowledged",
                         json_pack("{sI ss ss}", "approval_id", (json_int_t)req->path_id, "actor",
                                   req->actor, "note", note));
        json_decref(body);
        if (r == -EALREADY)
                return reply_error(req, MHD_HTTP_CONFLICT, "no_review_pending", "id",
                                   "approval %lld has no post-action review waiting",
                                   (long long)req->path_id);
        return reply_approval(req, r, out);
}
