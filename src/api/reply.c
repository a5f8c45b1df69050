/* SPDX-License-Identifier: Apache-2.0 */
/* What handlers answer with (see http.h): the reply is recorded in the
 * request and sent to the api process by api/dispatch.c, which also runs the
 * resume handler of a request that waited for a commit. Runs in core. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dispatch.h"
#include "api/http.h"
#include "core/limits.h"
#include "util/strutil.h"

static enum MHD_Result reply_set(request *req, unsigned status, wire_content content, char *body,
                                 size_t len) {
        if (!body)
                return MHD_NO;
        free(req->reply_body);
        req->status = status;
        req->content = content;
        req->reply_body = body;
        req->reply_len = len;
        req->handled = true;
        return MHD_YES;
}

enum MHD_Result reply_text(request *req, unsigned status, wire_content content, const char *text,
                           size_t len) {
        char *copy = malloc(len + 1);
        if (copy) {
                memcpy(copy, text, len);
                copy[len] = '\0';
        }
        return reply_set(req, status, content, copy, len);
}

enum MHD_Result reply_json(request *req, unsigned status, json_t *body) {
        char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        return reply_set(req, status, WIRE_CONTENT_JSON, s, s ? strlen(s) : 0);
}

json_t *api_error_vjson(const char *code, const char *field, const char *fmt, va_list ap) {
        char msg[512];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        return json_pack("{s{ss ss ss}}", "error", "code", code, "message", msg, "field",
                         field ? field : "");
}

enum MHD_Result reply_error(request *req, unsigned status, const char *code, const char *field,
                            const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        json_t *body = api_error_vjson(code, field, fmt, ap);
        va_end(ap);
        return reply_json(req, status, body);
}

enum MHD_Result reply_store_failed(request *req, int r, const char *what) {
        if (r == -ENOSPC)
                return reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "queue_full", "",
                                   "the queue is full; retry later");
        if (r == -EDQUOT)
                return reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "store_unavailable", "",
                                   "the store's disk is full; nothing was stored; retry later");
        return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "%s", what);
}

enum MHD_Result request_wait(request *req) {
        pthread_mutex_lock(&req->lock);
        bool done = req->async_done;
        if (!done) {
                req->suspended = true;
                req->refs++; /* the completion's */
        }
        pthread_mutex_unlock(&req->lock);
        return done ? req->route->resume(req) : MHD_YES;
}

void request_complete(request *req, int r, const int64_t *ids, size_t n) {
        pthread_mutex_lock(&req->lock);
        req->async_r = r;
        if (r >= 0 && ids && req->ids) {
                memcpy(req->ids, ids, n * sizeof(*ids));
                req->n_ids = n;
        }
        req->async_done = true;
        bool resume = req->suspended;
        pthread_mutex_unlock(&req->lock);
        if (resume)
                dispatch_resume(req);
}

static bool text_ok(const char *s, size_t len) {
        if (len == 0 || len > BW_REASON_MAX || !utf8_valid(s, len))
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

json_t *request_text_body(request *req, const char *field, const char **ret) {
        json_error_t jerr;
        json_t *body = json_loadb(req->body.data ? req->body.data : "", req->body.len,
                                  JSON_REJECT_DUPLICATES, &jerr);
        const char *text = NULL;
        size_t len = 0;
        if (!body || json_unpack_ex(body, &jerr, JSON_STRICT, "{s:s%}", field, &text, &len) < 0 ||
            !text_ok(text, len)) {
                json_decref(body);
                reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid", field,
                            "a JSON object {\"%s\": \"...\"} with 1..%u bytes of text is required", field,
                            BW_REASON_MAX);
                return NULL;
        }
        *ret = text;
        return body;
}

const char *request_query(const request *req, const char *name, char *out, size_t out_len) {
        size_t n = strlen(name);
        for (size_t i = 0; i < req->n_args; i++) {
                const wire_arg *a = &req->args[i];
                if (a->key_len != n || memcmp(a->key, name, n) != 0)
                        continue;
                if (a->value_len >= out_len)
                        return NULL;
                memcpy(out, a->value, a->value_len);
                out[a->value_len] = '\0';
                return out;
        }
        return NULL;
}
