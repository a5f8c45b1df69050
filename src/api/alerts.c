/* SPDX-License-Identifier: Apache-2.0 */
/* Alert routes: POST /v1/alerts, POST /v1/alerts/batch (NDJSON), GET
 * /v1/alerts/{id}. Bodies are untrusted: each alert is validated by core/alert.c
 * and only its canonical form is stored; the answer is sent only after the
 * store's commit reached the disk. Runs in core's dispatch threads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "core/alert.h"
#include "core/limits.h"
#include "util/clock.h"
#include "util/log.h"

static void count_reject(request *req, reject_reason why) {
        atomic_fetch_add_explicit(&req->api->metrics->alerts_rejected[why], 1, memory_order_relaxed);
}

static void log_rejected(const bw_error *err, long line) {
        json_t *f = json_pack("{ss ss ss}", "code", err->code, "field", err->field, "msg", err->message);
        if (f && line > 0)
                json_object_set_new(f, "line", json_integer(line));
        log_json(LOG_LEVEL_WARN, "api", "alert.rejected", f);
}

static void on_enqueued(void *userdata, int r, const int64_t *ids, size_t n) {
        request_complete(userdata, r, ids, n);
}

/* Answers a failed enqueue (nothing of the request was stored): counted by
 * cause, then reply_store_failed chooses the answer. */
static enum MHD_Result reply_enqueue_failed(request *req, int r, size_t n) {
        count_reject(req, r == -ENOSPC   ? REJECT_QUEUE_FULL
                          : r == -EDQUOT ? REJECT_STORE_UNAVAILABLE
                                         : REJECT_STORE_ERROR);
        if (r != -ENOSPC)
                log_errno(r, "api", "alert.store_failed", "could not store %zu alert(s)", n);
        return reply_store_failed(req, r, "the alert could not be stored");
}

static void record_accepted(request *req, size_t n) {
        atomic_fetch_add_explicit(&req->api->metrics->alerts_accepted, n, memory_order_relaxed);
        histogram_observe(&req->api->metrics->accept_latency,
                          (uint64_t)(clock_mono_us() - req->t_complete_us));
}

enum MHD_Result handle_alert_post(request *req) {
        int64_t now = clock_wall_ms();
        alert *a = NULL;
        bw_error err;
        int r = alert_parse(req->body.data ? req->body.data : "", req->body.len, now, &a, &err);
        if (r < 0) {
                count_reject(req, REJECT_INVALID);
                log_rejected(&err, 0);
                return reply_error(req, MHD_HTTP_BAD_REQUEST, err.code, err.field, "%s", err.message);
        }
        size_t len;
        char *json = alert_dump(a, &len);
        req->ids = calloc(1, sizeof(*req->ids));
        if (!json || !req->ids) {
                free(json);
                alert_free(a);
                return MHD_NO;
        }
        store_alert_in in = {.json = json,
                             .len = len,
                             .type = a->type,
                             .received_at_ms = now,
                             .submitted_by = req->actor};
        r = store_enqueue_async(req->api->store, &in, 1, on_enqueued, req);
        free(json);
        alert_free(a);
        if (r < 0)
                return reply_enqueue_failed(req, r, 1);
        return request_wait(req);
}

enum MHD_Result resume_alert_post(request *req) {
        if (req->async_r < 0)
                return reply_enqueue_failed(req, req->async_r, 1);
        record_accepted(req, 1);
        if (log_enabled(LOG_LEVEL_DEBUG))
                log_json(LOG_LEVEL_DEBUG, "api", "alert.accepted",
                         json_pack("{sI}", "alert_id", (json_int_t)req->ids[0]));
        return reply_json(req, MHD_HTTP_ACCEPTED,
                          json_pack("{sI ss}", "id", (json_int_t)req->ids[0], "status", "queued"));
}

/* Per-line results of a batch, kept until the commit answers. */
typedef struct batch_state {
        json_t *results;        /* array in line order; accepted lines get their id on resume */
        size_t *accepted_index; /* results index of each enqueued alert */
        size_t n_accepted, n_rejected;
} batch_state;

static void batch_state_free(void *p) {
        batch_state *b = p;
        if (!b)
                return;
        json_decref(b->results);
        free(b->accepted_index);
        free(b);
}

/* Splits the NDJSON body into validated canonical alerts (ins) and per-line errors. */
static int batch_parse(request *req, batch_state *b, store_alert_in *ins, int64_t now) {
        const char *p = req->body.data ? req->body.data : "";
        const char *end = p + req->body.len;
        long line = 0;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *stop = nl ? nl : end;
                size_t len = (size_t)(stop - p);
                if (len > 0 && p[len - 1] == '\r')
                        len--;
                line++;
                if (len > 0) {
                        if (b->n_accepted + b->n_rejected >= BW_BATCH_MAX_ALERTS)
                                return -E2BIG;
                        alert *a = NULL;
                        bw_error err;
                        json_t *res;
                        if (len > req->api->alert_body_max)
                                bw_error_set(&err, "too_large", "",
                                             "line of %zu bytes exceeds the alert limit of %u", len,
                                             req->api->alert_body_max);
                        if (len <= req->api->alert_body_max && alert_parse(p, len, now, &a, &err) == 0) {
                                size_t dlen;
                                char *json = alert_dump(a, &dlen);
                                char *type = strdup(a->type);
                                alert_free(a);
                                if (!json || !type) {
                                        free(json);
                                        free(type);
                                        return -ENOMEM;
                                }
                                ins[b->n_accepted] = (store_alert_in){.json = json,
                                                                      .len = dlen,
                                                                      .type = type,
                                                                      .received_at_ms = now,
                                                                      .submitted_by = req->actor};
                                b->accepted_index[b->n_accepted++] = json_array_size(b->results);
                                res = json_pack("{si}", "line", (int)line);
                        } else {
                                count_reject(req, REJECT_INVALID);
                                log_rejected(&err, line);
                                b->n_rejected++;
                                res = json_pack("{si s{ss ss ss}}", "line", (int)line, "error", "code",
                                                err.code, "message", err.message, "field", err.field);
                        }
                        if (!res || json_array_append_new(b->results, res) < 0)
                                return -ENOMEM;
                }
                p = stop + 1;
        }
        return 0;
}

static json_t *batch_reply(batch_state *b, bool with_ids, const int64_t *ids) {
        if (with_ids)
                for (size_t i = 0; i < b->n_accepted; i++)
                        json_object_set_new(json_array_get(b->results, b->accepted_index[i]), "id",
                                            json_integer(ids[i]));
        return json_pack("{sI sI sO}", "accepted", (json_int_t)(with_ids ? b->n_accepted : 0), "rejected",
                         (json_int_t)b->n_rejected, "results", b->results);
}

enum MHD_Result handle_alert_batch(request *req) {
        int64_t now = clock_wall_ms();
        batch_state *b = calloc(1, sizeof(*b));
        store_alert_in *ins = calloc(BW_BATCH_MAX_ALERTS, sizeof(*ins));
        if (b) {
                b->results = json_array();
                b->accepted_index = calloc(BW_BATCH_MAX_ALERTS, sizeof(*b->accepted_index));
        }
        req->ids = calloc(BW_BATCH_MAX_ALERTS, sizeof(*req->ids));
        if (!b || !ins || !b->results || !b->accepted_index || !req->ids) {
                batch_state_free(b);
                free(ins);
                return MHD_NO;
        }
        req->state = b;
        req->state_free = batch_state_free;
        int r = batch_parse(req, b, ins, now);
        enum MHD_Result ret;
        if (r == -E2BIG) {
                count_reject(req, REJECT_TOO_LARGE);
                ret = reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "body",
                                  "a batch holds at most %u alerts", BW_BATCH_MAX_ALERTS);
        } else if (r < 0) {
                ret = MHD_NO;
        } else if (b->n_accepted == 0) {
                ret = reply_json(req, MHD_HTTP_OK, batch_reply(b, false, NULL));
        } else {
                r = store_enqueue_async(req->api->store, ins, b->n_accepted, on_enqueued, req);
                ret = r < 0 ? reply_enqueue_failed(req, r, b->n_accepted) : request_wait(req);
        }
        for (size_t i = 0; i < b->n_accepted; i++) {
                free((char *)ins[i].json);
                free((char *)ins[i].type);
        }
        free(ins);
        return ret;
}

enum MHD_Result resume_alert_batch(request *req) {
        batch_state *b = req->state;
        if (req->async_r < 0)
                return reply_enqueue_failed(req, req->async_r, b->n_accepted);
        record_accepted(req, b->n_accepted);
        return reply_json(req, MHD_HTTP_OK, batch_reply(b, true, req->ids));
}

enum MHD_Result handle_alert_get(request *req) {
        json_t *out = NULL;
        int r = store_alert_get(req->api->store, req->path_id, &out);
        if (r == -ENOENT)
                return reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "id", "no alert %lld",
                                   (long long)req->path_id);
        if (r < 0)
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_error", "", "read failed");
        return reply_json(req, MHD_HTTP_OK, out);
}
