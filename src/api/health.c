/* SPDX-License-Identifier: Apache-2.0 */
/* Health routes: GET /healthz (liveness), GET /readyz (store writable, queue
 * below capacity, every connector worker up) and GET /metrics (Prometheus text).
 * Runs in the daemon's HTTP threads. */
#include <errno.h>
#include <stdlib.h>

#include "api/http.h"
#include "core/limits.h"
#include "util/clock.h"

enum MHD_Result handle_healthz(request *req) {
        return reply_json(req, MHD_HTTP_OK, json_pack("{ss}", "status", "ok"));
}

enum MHD_Result handle_readyz(request *req) {
        api_shared *s = req->api;
        int64_t now = clock_mono_ms(), last = atomic_load(&s->ping_at_ms);
        int ping_r;
        if (last != 0 && now - last < 1000) {
                ping_r = atomic_load(&s->ping_r);
        } else {
                ping_r = store_ping(s->store);
                atomic_store(&s->ping_r, ping_r);
                atomic_store(&s->ping_at_ms, now);
        }
        bool store_ok = ping_r == 0;
        json_t *workers = connector_pool_status(s->pool);
        size_t free_slots = store_queue_free(s->store);
        bool workers_ok = connector_pool_all_up(s->pool);
        bool ready = store_ok && free_slots > 0 && workers_ok;
        json_t *body = json_pack("{sb s{ss s{sb sI sI} s{sb so}}}", "ready", ready, "checks", "store",
                                 store_ok            ? "writable"
                                 : ping_r == -EDQUOT ? "NOT WRITABLE: the disk is full"
                                                     : "NOT WRITABLE",
                                 "queue", "ok", free_slots > 0, "free", (json_int_t)free_slots, "capacity",
                                 (json_int_t)s->queue_capacity, "integrations", "ok", workers_ok, "workers",
                                 workers ? workers : json_object());
        return reply_json(req, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

enum MHD_Result handle_metrics(request *req) {
        api_shared *s = req->api;
        store_queue_stats qs = {0};
        store_queue_stats_get(s->store, &qs);
        json_t *workers = connector_pool_status(s->pool);
        unsigned up = 0, total = 0;
        uint64_t restarts = 0;
        const char *name;
        json_t *w;
        json_object_foreach(workers, name, w) {
                total++;
                up += json_is_true(json_object_get(w, "up"));
                restarts += (uint64_t)json_integer_value(json_object_get(w, "restarts"));
        }
        json_decref(workers);
        int64_t now = clock_wall_ms();
        json_t *breaker = NULL;
        bool breaker_open =
                store_breaker_get(s->store, &breaker) == 0 && json_is_true(json_object_get(breaker, "open"));
        json_decref(breaker);
        metrics_gauges g = {
                .queue_depth = qs.queued,
                .queue_in_flight = qs.in_flight,
                .queue_capacity = s->queue_capacity,
                .oldest_queued_age_s =
                        qs.oldest_queued_ms ? (double)(now - qs.oldest_queued_ms) / 1000.0 : 0.0,
                .workers_up = up,
                .workers_total = total,
                .worker_restarts = restarts,
                .breaker_open = breaker_open,
        };
        buf out;
        buf_init(&out, 1024 * 1024);
        int r = metrics_render(s->metrics, &g, &out);
        enum MHD_Result ret =
                r < 0 ? reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "", "render failed")
                      : reply_text(req, MHD_HTTP_OK, "text/plain; version=0.0.4", out.data, out.len);
        buf_free(&out);
        return ret;
}
