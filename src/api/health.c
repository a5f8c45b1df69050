/* SPDX-License-Identifier: Apache-2.0 */
/* Health routes: GET /healthz (liveness), GET /readyz (ready or not: store
 * writable, queue below capacity, every connector worker up), GET /metrics
 * (Prometheus text) and GET /v1/status (readiness with its checks, each
 * process and its confinement, for admins). Runs in
 * core's dispatch threads. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "api/http.h"
#include "core/limits.h"
#include "util/clock.h"

enum MHD_Result handle_healthz(request *req) {
        return reply_json(req, MHD_HTTP_OK, json_pack("{ss}", "status", "ok"));
}

/* Whether the daemon takes and acts on alerts (store writable, queue below
 * capacity, every connector worker up), and, if checks is not NULL, why:
 * {"store", "queue": {ok, free, capacity}, "integrations": {ok, workers}},
 * workers being connector_pool_status's (borrowed; its "sandbox" entries are
 * removed: confinement is GET /v1/status's "processes"). */
static bool readiness(api_shared *s, json_t *workers, json_t **checks) {
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
        size_t free_slots = store_queue_free(s->store);
        bool workers_ok = connector_pool_all_up(s->pool);
        if (checks) {
                const char *name;
                json_t *w;
                json_object_foreach(workers, name, w) json_object_del(w, "sandbox");
                *checks = json_pack("{ss s{sb sI sI} s{sb sO}}", "store",
                                    store_ok            ? "writable"
                                    : ping_r == -EDQUOT ? "NOT WRITABLE: the disk is full"
                                                        : "NOT WRITABLE",
                                    "queue", "ok", free_slots > 0, "free", (json_int_t)free_slots,
                                    "capacity", (json_int_t)s->queue_capacity, "integrations", "ok",
                                    workers_ok, "workers", workers);
        }
        return store_ok && free_slots > 0 && workers_ok;
}

/* Anyone may ask (a load balancer, systemd): up or down, nothing more. */
enum MHD_Result handle_readyz(request *req) {
        bool ready = readiness(req->api, NULL, NULL);
        return reply_json(req, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                          json_pack("{sb}", "ready", ready));
}

/* Every process of the daemon, the parent and core first: role, pid, and
 * its confinement (connector_sandbox_json). workers: connector_pool_status,
 * borrowed. Returns a new array or NULL. */
static json_t *processes(api_shared *s, json_t *workers) {
        json_t *all = json_array();
        if (!all || !workers ||
            json_array_append_new(all, json_pack("{ss ss si so}", "role", "parent", "process", "parent",
                                                 "pid", (int)getppid(), "sandbox",
                                                 connector_sandbox_json(&s->parent_sandbox, false))) < 0 ||
            json_array_append_new(
                    all, json_pack("{ss ss si so}", "role", "core", "process", "core", "pid", (int)getpid(),
                                   "sandbox", connector_sandbox_json(&s->core_sandbox, s->confined))) < 0) {
                json_decref(all);
                return NULL;
        }
        json_t *front = api_process_status(s->api);
        if (front && json_object_get(front, "sandbox")) {
                json_object_set_new(front, "role", json_string("api"));
                json_object_set_new(front, "process", json_string("api"));
                json_array_append(all, front);
        }
        json_decref(front);
        const char *name;
        json_t *w;
        json_object_foreach(workers, name, w) {
                char process[BW_NAME_MAX + 16];
                snprintf(process, sizeof(process), "worker:%s", name);
                json_t *p = json_pack("{ss ss ss sO sO sO sO sO}", "role", "worker", "process", process,
                                      "integration", name, "kind", json_object_get(w, "kind"), "pid",
                                      json_object_get(w, "pid"), "state", json_object_get(w, "state"),
                                      "restarts", json_object_get(w, "restarts"), "sandbox",
                                      json_object_get(w, "sandbox"));
                if (json_array_append_new(all, p) < 0) {
                        json_decref(all);
                        all = NULL;
                        break;
                }
        }
        return all;
}

enum MHD_Result handle_status(request *req) {
        json_t *workers = connector_pool_status(req->api->pool);
        json_t *all = processes(req->api, workers); /* before readiness drops the sandboxes */
        json_t *checks = NULL;
        bool ready = workers && readiness(req->api, workers, &checks);
        json_decref(workers);
        if (!all || !checks) {
                json_decref(all);
                json_decref(checks);
                return reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "", "out of memory");
        }
        return reply_json(req, MHD_HTTP_OK,
                          json_pack("{sb so si so}", "ready", ready, "checks", checks, "landlock_abi",
                                    req->api->core_sandbox.landlock_abi, "processes", all));
}

/* One info line per process: its confinement as labels. */
static int render_sandbox(buf *out, int landlock_abi, const json_t *all) {
        int r = buf_printf(out,
                           "# HELP bulwark_landlock_abi The kernel's Landlock ABI (0: none).\n"
                           "# TYPE bulwark_landlock_abi gauge\nbulwark_landlock_abi %d\n"
                           "# HELP bulwark_process_sandbox_info Each process and its confinement.\n"
                           "# TYPE bulwark_process_sandbox_info gauge\n",
                           landlock_abi);
        size_t i;
        const json_t *p;
        json_array_foreach(all, i, p) {
                const json_t *sb = json_object_get(p, "sandbox");
                if (r == 0)
                        r = buf_printf(out,
                                       "bulwark_process_sandbox_info{process=\"%s\",confined=\"%d\","
                                       "landlock=\"%d\",seccomp=\"%d\",uid=\"%lld\",caps=\"%s\","
                                       "dumpable=\"%d\"} 1\n",
                                       json_string_value(json_object_get(p, "process")),
                                       json_is_true(json_object_get(sb, "confined")),
                                       json_is_true(json_object_get(sb, "landlock")),
                                       json_is_true(json_object_get(sb, "seccomp")),
                                       (long long)json_integer_value(json_object_get(sb, "uid")),
                                       json_string_value(json_object_get(sb, "caps")),
                                       json_is_true(json_object_get(sb, "dumpable")));
        }
        return r;
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
        json_t *all = processes(s, workers);
        json_decref(workers);
        if (r == 0)
                r = all ? render_sandbox(&out, s->core_sandbox.landlock_abi, all) : -ENOMEM;
        json_decref(all);
        enum MHD_Result ret =
                r < 0 ? reply_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "", "render failed")
                      : reply_text(req, MHD_HTTP_OK, WIRE_CONTENT_PROMETHEUS, out.data, out.len);
        buf_free(&out);
        return ret;
}
