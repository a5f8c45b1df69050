/* SPDX-License-Identifier: Apache-2.0 */
/* What route handlers see of an HTTP request, and the helpers they answer
 * with. Handlers run in core (api/dispatch.c), on requests the api process
 * (front/) received, checked and forwarded (api/wire.h): they never see a
 * connection, only the route, the path id, the query arguments, the body and
 * the identity core established itself. Internal to api/ and front/. */
#pragma once

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "api/identity.h"
#include "api/wire.h"
#include "core/limits.h"
#include "util/buf.h"

typedef struct api_shared {
        const bw_config *config;
        store *store;
        connector_pool *pool;
        bw_metrics *metrics;
        unsigned alert_body_max;
        unsigned queue_capacity;
        api_identity identities[BW_ACTORS_MAX + 1];
        size_t n_identities;
        api *api; /* the supervisor of the api process (api/supervise.c) */
        /* The parent's confinement (read before core was forked) and core's
         * own, once confined: core has no system call to read them again. */
        sandbox_status parent_sandbox, core_sandbox;
        bool confined; /* false only under --no-sandbox */
        /* /readyz is public: its durable store ping runs at most once a second,
         * later probes within the second reuse the answer. */
        _Atomic int64_t ping_at_ms;
        atomic_int ping_r; /* what store_ping returned */
} api_shared;

typedef struct request request;
typedef enum MHD_Result (*route_fn)(request *req);

/* Permissions, ahead of the access-control issue: every route names the one it
 * needs; until users exist the bearer token holds all but PERM_PUBLIC. */
typedef enum {
        PERM_PUBLIC,
        PERM_ALERTS_WRITE,
        PERM_ALERTS_READ,
        PERM_EXECUTIONS_READ,
        PERM_METRICS_READ,
        PERM_RECOMMENDATIONS_EXECUTE, /* analyst */
        PERM_BREAKER_READ,
        PERM_BREAKER_RESET, /* admin */
        PERM_APPROVALS_READ,
        PERM_APPROVALS_DECIDE,    /* approver */
        PERM_EXECUTIONS_ROLLBACK, /* admin */
        PERM_ROLLBACK_TEST,       /* admin */
        PERM_STATUS_READ,         /* admin: processes, their confinement */
        _PERM_MAX,
} permission;

typedef enum {
        BODY_NONE,  /* BW_SMALL_BODY_MAX */
        BODY_ALERT, /* the configured alert limit */
        BODY_BATCH, /* BW_BATCH_BODY_MAX */
        _BODY_LIMIT_MAX,
} body_limit;

typedef struct route {
        const char *method;
        const char *path; /* a trailing "{id}" segment matches a positive integer */
        permission perm;
        body_limit body;
        route_fn handle; /* runs once the body is complete */
        route_fn resume; /* runs after an asynchronous completion; may be NULL */
} route;

typedef struct api_link api_link;

struct request {
        const route *route;
        api_shared *api;
        int64_t path_id;
        const wire_arg *args; /* the query arguments, borrowed from payload */
        size_t n_args;
        const char *actor; /* who the bearer token names; NULL on public routes */
        unsigned roles;    /* the actor's roles */
        buf body;          /* a view into payload (not owned) */
        int64_t t_complete_us;
        /* The answer, filled by reply_*: sent to the api process as one REPLY. */
        bool handled;
        unsigned status;
        wire_content content;
        char *reply_body;
        size_t reply_len;
        /* Asynchronous completion (store commits): see request_wait/request_complete. */
        pthread_mutex_t lock;
        bool async_done, suspended;
        int async_r;
        int64_t *ids;
        size_t n_ids;
        void *state; /* handler-owned, released with state_free */
        void (*state_free)(void *state);
        /* Where it came from (api/dispatch.c). */
        api_link *link;
        uint32_t seq;
        buf payload;       /* the REQUEST message, owned */
        wire_request wire; /* decoded from payload (borrows from it) */
        unsigned refs;     /* the dispatch thread's, and the completion's while suspended */
        request *next;     /* in the dispatch queue */
};

/* The role a permission needs; _ROLE_MAX when any authenticated actor may. */
actor_role permission_role(permission p);

/* The route table (routes.c). routes_at: the route of a REQUEST's index, or
 * NULL; route_index is its inverse. */
const route *routes_match(const char *method, const char *path, int64_t *ret_id, bool *ret_path_known);
const route *routes_at(unsigned index);
unsigned route_index(const route *r);

/* The largest body route r accepts. */
size_t route_body_max(const route *r, unsigned alert_body_max);

/* The value of query argument name (NUL-terminated copy in out, at most
 * BW_WIRE_ARG_VALUE_MAX bytes), or NULL when absent. */
const char *request_query(const request *req, const char *name, char *out, size_t out_len);

/* Checks a request target as it was received (raw[0..len), before any %HH is
 * decoded): returns "path" or "query" for the part holding a control byte
 * (0x00-0x1f, 0x7f) raw or %-escaped, or NULL when there is none. Such a target
 * never reaches the router: decoded, a %00 would cut the path short
 * ("/v1/alerts/1%00/x" read as "/v1/alerts/1"). */
const char *routes_target_control(const char *raw, size_t len);

/* Answers with a JSON body (reference stolen). */
enum MHD_Result reply_json(request *req, unsigned status, json_t *body);
/* {"error":{"code","message","field"}}: the one shape of every error, from
 * core (reply_error) and from the api process's own refusals. */
json_t *api_error_vjson(const char *code, const char *field, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

/* Answers {"error":{"code","message","field"}}. */
enum MHD_Result reply_error(request *req, unsigned status, const char *code, const char *field,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Answers with a text body (copied). */
enum MHD_Result reply_text(request *req, unsigned status, wire_content content, const char *text,
                           size_t len);

/* Answers a store write that failed with r: the queue at capacity (-ENOSPC) is
 * 503 queue_full, the store's disk out of space (-EDQUOT) 503 store_unavailable,
 * both with Retry-After; anything else 500 store_error with what ("rollback
 * failed"). The one place these codes are chosen. */
enum MHD_Result reply_store_failed(request *req, int r, const char *what);

/* Reads a body {"<field>": "<text>"} of 1..BW_REASON_MAX bytes of UTF-8 without
 * control characters. Returns the parsed body (json_decref it) with *ret
 * pointing into it, or NULL after answering 400 naming the field. */
json_t *request_text_body(request *req, const char *field, const char **ret);

/* Called by a handler after it started an asynchronous store operation whose
 * callback calls request_complete: the request waits unless the callback
 * already ran, in which case the route's resume handler answers at once. */
enum MHD_Result request_wait(request *req);

/* From the store's writer thread: records the result and hands the request to
 * a dispatch thread, which runs the route's resume handler and sends the
 * reply. ids (may be NULL) are copied into req->ids, which must have room for n. */
void request_complete(request *req, int r, const int64_t *ids, size_t n);

/* Handlers (one file per resource). */
enum MHD_Result handle_alert_post(request *req);
enum MHD_Result resume_alert_post(request *req);
enum MHD_Result handle_alert_batch(request *req);
enum MHD_Result resume_alert_batch(request *req);
enum MHD_Result handle_alert_get(request *req);
enum MHD_Result handle_exec_list(request *req);
enum MHD_Result handle_exec_get(request *req);
enum MHD_Result handle_recommendation_execute(request *req);
enum MHD_Result handle_exec_rollback(request *req);
enum MHD_Result handle_approval_list(request *req);
enum MHD_Result handle_approval_get(request *req);
enum MHD_Result handle_approval_approve(request *req);
enum MHD_Result handle_approval_reject(request *req);
enum MHD_Result handle_approval_review(request *req);
enum MHD_Result handle_rollback_drills(request *req);
enum MHD_Result handle_breaker_get(request *req);
enum MHD_Result handle_budgets_get(request *req);
enum MHD_Result handle_breaker_reset(request *req);
enum MHD_Result handle_healthz(request *req);
enum MHD_Result handle_readyz(request *req);
enum MHD_Result handle_metrics(request *req);
enum MHD_Result handle_status(request *req);
