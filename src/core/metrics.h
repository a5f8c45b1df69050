/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's metrics: lock-free counters and fixed-bucket latency histograms,
 * rendered in the Prometheus text format for GET /metrics. Pure (no clocks: the
 * callers pass durations). Shared by the api and engine threads of the daemon. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

/* Why an alert was rejected (label "reason" of bulwark_alerts_rejected_total). */
typedef enum {
        REJECT_INVALID,           /* failed validation (400) */
        REJECT_TOO_LARGE,         /* body over its limit (413) */
        REJECT_QUEUE_FULL,        /* 503 */
        REJECT_UNAUTHORIZED,      /* 401 */
        REJECT_STORE_ERROR,       /* 500 */
        REJECT_STORE_UNAVAILABLE, /* 503: the store's disk is full */
        _REJECT_REASON_MAX,
} reject_reason;

/* Why the api process refused a request before its body (label "reason" of
 * bulwark_http_refused_total), on any route. */
typedef enum {
        REFUSE_UNAUTHORIZED, /* 401 */
        REFUSE_FORBIDDEN,    /* 403 */
        REFUSE_BAD_TARGET,   /* 400: a NUL or a control character in the target */
        REFUSE_BUSY,         /* 503: its body does not fit the bodies in flight (BW_HTTP_BODY_BUDGET) */
        _REFUSE_REASON_MAX,
} refuse_reason;

/* Outcome label of bulwark_actions_total. */
typedef enum {
        OUTCOME_APPLIED,
        OUTCOME_FAILED,
        OUTCOME_TIMEOUT,
        OUTCOME_RECOVERED,   /* in doubt after a crash, verify found it applied */
        OUTCOME_NOT_RUN,     /* level 1, 2 or 4: recorded only */
        OUTCOME_DENIED,      /* refused by the governor */
        OUTCOME_ROLLED_BACK, /* a requested rollback restored the snapshot */
        _OUTCOME_MAX,
} action_outcome;

/* Connector label: the kinds are a closed set known at compile time. */
typedef enum {
        METRIC_CONNECTOR_NFT,
        METRIC_CONNECTOR_HTTP,
        METRIC_CONNECTOR_EXEC,
        METRIC_CONNECTOR_NOTIFY,
        METRIC_CONNECTOR_OTHER,
        _METRIC_CONNECTOR_MAX,
} metric_connector;

/* Outcome label of bulwark_notifications_total: what became of an attempt of
 * the outbox, or of a notification the backlog's bound dropped. */
typedef enum {
        NOTIFY_SENT,
        NOTIFY_RETRIED, /* an attempt failed; another comes after a backoff */
        NOTIFY_FAILED,  /* the last attempt failed: given up */
        NOTIFY_DROPPED, /* the backlog was full: dropped unsent */
        _NOTIFY_OUTCOME_MAX,
} notify_outcome;

/* Upper bounds in microseconds; the last bucket is +Inf. */
#define METRICS_HISTOGRAM_BUCKETS 14

typedef struct histogram {
        _Atomic uint64_t buckets[METRICS_HISTOGRAM_BUCKETS + 1];
        _Atomic uint64_t count;
        _Atomic uint64_t sum_us;
} histogram;

typedef struct bw_metrics {
        _Atomic uint64_t alerts_accepted;
        _Atomic uint64_t alerts_rejected[_REJECT_REASON_MAX];
        _Atomic uint64_t http_refused[_REFUSE_REASON_MAX];
        _Atomic uint64_t log_lines_suppressed; /* refusals' lines left out (BW_LOG_REFUSED_PER_S) */
        _Atomic uint64_t alerts_processed;
        _Atomic uint64_t executions;
        _Atomic uint64_t actions[_METRIC_CONNECTOR_MAX][_OUTCOME_MAX];
        _Atomic uint64_t notifications[_NOTIFY_OUTCOME_MAX];
        histogram accept_latency; /* request complete -> durable ack */
        histogram action_latency; /* connector apply call */
        histogram e2e_latency;    /* alert received -> action applied */
} bw_metrics;

void metrics_init(bw_metrics *m);
void histogram_observe(histogram *h, uint64_t us);
metric_connector metric_connector_from_kind(const char *kind);

/* Gauges sampled by the caller at scrape time. */
typedef struct metrics_gauges {
        uint64_t queue_depth;
        uint64_t queue_in_flight;
        uint64_t queue_capacity;
        double oldest_queued_age_s;
        unsigned workers_up, workers_total;
        uint64_t worker_restarts;
        bool breaker_open;
} metrics_gauges;

/* Appends the Prometheus exposition of m and g to out. Returns 0 or -EMSGSIZE/-ENOMEM. */
int metrics_render(const bw_metrics *m, const metrics_gauges *g, buf *out);
