/* SPDX-License-Identifier: Apache-2.0 */
/* Counters, histograms and their Prometheus text rendering (see metrics.h). */
#include "core/metrics.h"

#include <string.h>

/* Buckets from 50 µs to 5 s: acceptance is sub-millisecond, connector calls can
 * take seconds. */
static const uint64_t bucket_bounds_us[METRICS_HISTOGRAM_BUCKETS] = {
        50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 5000000,
};

static const char *const refuse_names[_REFUSE_REASON_MAX] = {
        [REFUSE_UNAUTHORIZED] = "unauthorized",
        [REFUSE_FORBIDDEN] = "forbidden",
        [REFUSE_BAD_TARGET] = "bad_target",
        [REFUSE_BUSY] = "busy",
};

static const char *const reject_names[_REJECT_REASON_MAX] = {
        [REJECT_INVALID] = "invalid",         [REJECT_TOO_LARGE] = "too_large",
        [REJECT_QUEUE_FULL] = "queue_full",   [REJECT_UNAUTHORIZED] = "unauthorized",
        [REJECT_STORE_ERROR] = "store_error", [REJECT_STORE_UNAVAILABLE] = "store_unavailable",
};

static const char *const outcome_names[_OUTCOME_MAX] = {
        [OUTCOME_APPLIED] = "applied",         [OUTCOME_FAILED] = "failed",   [OUTCOME_TIMEOUT] = "timeout",
        [OUTCOME_RECOVERED] = "recovered",     [OUTCOME_NOT_RUN] = "not_run", [OUTCOME_DENIED] = "denied",
        [OUTCOME_ROLLED_BACK] = "rolled_back",
};

static const char *const notify_names[_NOTIFY_OUTCOME_MAX] = {
        [NOTIFY_SENT] = "sent",
        [NOTIFY_RETRIED] = "retried",
        [NOTIFY_FAILED] = "failed",
        [NOTIFY_DROPPED] = "dropped",
};

static const char *const connector_names[_METRIC_CONNECTOR_MAX] = {
        [METRIC_CONNECTOR_NFT] = "nft",     [METRIC_CONNECTOR_HTTP] = "http",
        [METRIC_CONNECTOR_EXEC] = "exec",   [METRIC_CONNECTOR_NOTIFY] = "notify",
        [METRIC_CONNECTOR_OTHER] = "other",
};

void metrics_init(bw_metrics *m) {
        memset(m, 0, sizeof(*m));
}

void histogram_observe(histogram *h, uint64_t us) {
        size_t i = 0;
        while (i < METRICS_HISTOGRAM_BUCKETS && us > bucket_bounds_us[i])
                i++;
        atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

metric_connector metric_connector_from_kind(const char *kind) {
        for (size_t i = 0; i < METRIC_CONNECTOR_OTHER; i++)
                if (strcmp(kind, connector_names[i]) == 0)
                        return (metric_connector)i;
        return METRIC_CONNECTOR_OTHER;
}

static uint64_t load(const _Atomic uint64_t *v) {
        return atomic_load_explicit(v, memory_order_relaxed);
}

static int render_histogram(buf *out, const char *name, const char *help, const histogram *h) {
        int r = buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
        uint64_t cumulative = 0;
        for (size_t i = 0; r == 0 && i < METRICS_HISTOGRAM_BUCKETS; i++) {
                cumulative += load(&h->buckets[i]);
                r = buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bucket_bounds_us[i] / 1e6,
                               (unsigned long long)cumulative);
        }
        if (r == 0) {
                cumulative += load(&h->buckets[METRICS_HISTOGRAM_BUCKETS]);
                r = buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
                               (unsigned long long)cumulative, name, (double)load(&h->sum_us) / 1e6, name,
                               (unsigned long long)load(&h->count));
        }
        return r;
}

int metrics_render(const bw_metrics *m, const metrics_gauges *g, buf *out) {
        int r = buf_printf(
                out,
                "# HELP bulwark_queue_depth Alerts queued and not yet claimed.\n"
                "# TYPE bulwark_queue_depth gauge\nbulwark_queue_depth %llu\n"
                "# HELP bulwark_queue_in_flight Alerts claimed by a worker, not finished.\n"
                "# TYPE bulwark_queue_in_flight gauge\nbulwark_queue_in_flight %llu\n"
                "# HELP bulwark_queue_capacity Configured queue capacity.\n"
                "# TYPE bulwark_queue_capacity gauge\nbulwark_queue_capacity %llu\n"
                "# HELP bulwark_queue_oldest_age_seconds Age of the oldest queued alert.\n"
                "# TYPE bulwark_queue_oldest_age_seconds gauge\n"
                "bulwark_queue_oldest_age_seconds %.3f\n"
                "# HELP bulwark_connector_workers_up Connector worker processes running.\n"
                "# TYPE bulwark_connector_workers_up gauge\nbulwark_connector_workers_up %u\n"
                "# HELP bulwark_connector_workers Connector worker processes configured.\n"
                "# TYPE bulwark_connector_workers gauge\nbulwark_connector_workers %u\n"
                "# HELP bulwark_connector_worker_restarts_total Worker restarts after a crash or hang.\n"
                "# TYPE bulwark_connector_worker_restarts_total counter\n"
                "bulwark_connector_worker_restarts_total %llu\n"
                "# HELP bulwark_breaker_open 1 while the circuit breaker holds automatic execution.\n"
                "# TYPE bulwark_breaker_open gauge\nbulwark_breaker_open %d\n"
                "# HELP bulwark_alerts_accepted_total Alerts acknowledged durably.\n"
                "# TYPE bulwark_alerts_accepted_total counter\nbulwark_alerts_accepted_total %llu\n"
                "# HELP bulwark_alerts_processed_total Alerts the engine finished.\n"
                "# TYPE bulwark_alerts_processed_total counter\nbulwark_alerts_processed_total %llu\n"
                "# HELP bulwark_executions_total Playbook executions started.\n"
                "# TYPE bulwark_executions_total counter\nbulwark_executions_total %llu\n"
                "# HELP bulwark_alerts_rejected_total Alerts refused, by reason.\n"
                "# TYPE bulwark_alerts_rejected_total counter\n",
                (unsigned long long)g->queue_depth, (unsigned long long)g->queue_in_flight,
                (unsigned long long)g->queue_capacity, g->oldest_queued_age_s, g->workers_up,
                g->workers_total, (unsigned long long)g->worker_restarts, g->breaker_open ? 1 : 0,
                (unsigned long long)load(&m->alerts_accepted),
                (unsigned long long)load(&m->alerts_processed), (unsigned long long)load(&m->executions));
        for (size_t i = 0; r == 0 && i < _REJECT_REASON_MAX; i++)
                r = buf_printf(out, "bulwark_alerts_rejected_total{reason=\"%s\"} %llu\n", reject_names[i],
                               (unsigned long long)load(&m->alerts_rejected[i]));
        if (r == 0)
                r = buf_printf(out,
                               "# HELP bulwark_http_refused_total Requests refused before their body, by "
                               "reason.\n# TYPE bulwark_http_refused_total counter\n");
        for (size_t i = 0; r == 0 && i < _REFUSE_REASON_MAX; i++)
                r = buf_printf(out, "bulwark_http_refused_total{reason=\"%s\"} %llu\n", refuse_names[i],
                               (unsigned long long)load(&m->http_refused[i]));
        if (r == 0)
                r = buf_printf(
                        out,
                        "# HELP bulwark_log_lines_suppressed_total Log lines of refused requests left out "
                        "(at most BW_LOG_REFUSED_PER_S a second).\n"
                        "# TYPE bulwark_log_lines_suppressed_total counter\n"
                        "bulwark_log_lines_suppressed_total %llu\n",
                        (unsigned long long)load(&m->log_lines_suppressed));
        if (r == 0)
                r = buf_printf(out, "# HELP bulwark_actions_total Actions by connector and outcome.\n"
                                    "# TYPE bulwark_actions_total counter\n");
        for (size_t c = 0; r == 0 && c < _METRIC_CONNECTOR_MAX; c++)
                for (size_t o = 0; r == 0 && o < _OUTCOME_MAX; o++)
                        r = buf_printf(out, "bulwark_actions_total{connector=\"%s\",outcome=\"%s\"} %llu\n",
                                       connector_names[c], outcome_names[o],
                                       (unsigned long long)load(&m->actions[c][o]));
        if (r == 0)
                r = buf_printf(out, "# HELP bulwark_notifications_total Outbox notifications by outcome.\n"
                                    "# TYPE bulwark_notifications_total counter\n");
        for (size_t o = 0; r == 0 && o < _NOTIFY_OUTCOME_MAX; o++)
                r = buf_printf(out, "bulwark_notifications_total{outcome=\"%s\"} %llu\n", notify_names[o],
                               (unsigned long long)load(&m->notifications[o]));
        if (r == 0)
                r = render_histogram(out, "bulwark_alert_accept_seconds",
                                     "Time from a complete request to its durable acknowledgement.",
                                     &m->accept_latency);
        if (r == 0)
                r = render_histogram(out, "bulwark_action_apply_seconds",
                                     "Duration of connector apply calls.", &m->action_latency);
        if (r == 0)
                r = render_histogram(out, "bulwark_alert_to_action_seconds",
                                     "Time from an alert's arrival to its action being applied.",
                                     &m->e2e_latency);
        return r;
}
