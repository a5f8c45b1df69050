/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP server: connection limits, request lifecycle (route, authenticate,
 * bound the body, then handle), JSON replies and the suspend/resume hand-off with
 * the store's group commit. Request bytes are untrusted: nothing is read before
 * the route and the token are checked. Runs in the daemon's HTTP threads. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/http.h"
#include "core/actor.h"
#include "core/limits.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"

struct api {
        struct MHD_Daemon *mhd;
        api_shared shared;
        atomic_uint waiting; /* connections suspended for a commit */
};

static size_t body_max(const api_shared *s, body_limit b) {
        switch (b) {
        case BODY_ALERT:
                return s->alert_body_max;
        case BODY_BATCH:
                return BW_BATCH_BODY_MAX;
        case BODY_NONE:
        default:
                return BW_SMALL_BODY_MAX;
        }
}

static enum MHD_Result reply_response(request *req, unsigned status, struct MHD_Response *resp) {
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        enum MHD_Result r = MHD_queue_response(req->conn, status, resp);
        MHD_destroy_response(resp);
        req->handled = true;
        return r;
}

enum MHD_Result reply_text(request *req, unsigned status, const char *content_type, const char *text,
                           size_t len) {
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
        if (resp)
                MHD_add_response_header(resp, "Content-Type", content_type);
        return reply_response(req, status, resp);
}

enum MHD_Result reply_json(request *req, unsigned status, json_t *body) {
        char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (!s)
                return MHD_NO;
        size_t len = strlen(s);
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(s);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", "application/json");
        if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
                char retry[16];
                snprintf(retry, sizeof(retry), "%u", BW_QUEUE_RETRY_AFTER_S);
                MHD_add_response_header(resp, "Retry-After", retry);
        }
        if (status == MHD_HTTP_UNAUTHORIZED)
                MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
        return reply_response(req, status, resp);
}

enum MHD_Result reply_error(request *req, unsigned status, const char *code, const char *field,
                            const char *fmt, ...) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return reply_json(req, status,
                          json_pack("{s{ss ss ss}}", "error", "code", code, "message", msg, "field",
                                    field ? field : ""));
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
                MHD_suspend_connection(req->conn);
                req->suspended = true;
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
                MHD_resume_connection(req->conn);
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

static bool request_authorized(request *req) {
        if (req->route->perm == PERM_PUBLIC)
                return true;
        const char *h =
                MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!h || strncmp(h, "Bearer ", 7) != 0)
                return false;
        const char *token = h + 7;
        size_t len = strnlen(token, BW_TOKEN_MAX_LEN + 1);
        if (len < BW_TOKEN_MIN_LEN || len > BW_TOKEN_MAX_LEN)
                return false;
        /* Compare hashes, so the comparison is constant-time whatever the length. */
        unsigned char hash[32];
        crypto_generichash(hash, sizeof(hash), (const unsigned char *)token, len, NULL, 0);
        /* Every identity is compared, so the time taken does not tell which matched. */
        const api_identity *who = NULL;
        for (size_t i = 0; i < req->api->n_identities; i++)
                if (sodium_memcmp(hash, req->api->identities[i].token_hash, sizeof(hash)) == 0)
                        who = &req->api->identities[i];
        sodium_memzero(hash, sizeof(hash));
        if (who) {
                req->actor = who->name;
                req->roles = who->roles;
        }
        return who != NULL;
}

static request *request_new(struct MHD_Connection *c, api_shared *shared) {
        request *req = calloc(1, sizeof(*req));
        if (!req)
                return NULL;
        req->conn = c;
        req->api = shared;
        pthread_mutex_init(&req->lock, NULL);
        return req;
}

static void request_free(request *req) {
        if (!req)
                return;
        if (req->state_free)
                req->state_free(req->state);
        free(req->ids);
        buf_free(&req->body);
        pthread_mutex_destroy(&req->lock);
        free(req);
}

/* First call for a request: route, authenticate and check the announced size
 * before a single body byte is accepted (tighter limits before authentication).
 * Answers at once (req->handled) when any of them fails. */
static enum MHD_Result request_start(api *a, request *req, const char *url, const char *method,
                                     const char *version) {
        /* MHD gives the target as a C string, so a raw NUL hides what follows it.
         * In the request line MHD ends the target by making the space before the
         * version a NUL: a version that does not start right after the target we
         * saw means bytes were hidden (or the line had no version). */
        const char *control = req->target_control;
        if (!control && version != req->target + req->target_len + 1)
                control = req->target_query ? "query" : "path";
        if (control) {
                log_json(LOG_LEVEL_WARN, "api", "request.bad_target",
                         json_pack("{ss ss}", "method", method, "field", control));
                return reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid", control,
                                   "the request %s holds a NUL or a control character", control);
        }
        bool known = false;
        req->route = routes_match(method, url, &req->path_id, &known);
        if (!req->route) {
                if (known)
                        return reply_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "",
                                           "%s is not allowed on this path", method);
                return reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", "", "no such route");
        }
        if (!request_authorized(req)) {
                if (req->route->perm == PERM_ALERTS_WRITE)
                        atomic_fetch_add_explicit(&a->shared.metrics->alerts_rejected[REJECT_UNAUTHORIZED],
                                                  1, memory_order_relaxed);
                log_json(LOG_LEVEL_WARN, "api", "request.unauthorized",
                         json_pack("{ss ss}", "method", method, "path", url));
                return reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized", "",
                                   "a valid bearer token is required");
        }
        actor_role need = permission_role(req->route->perm);
        if (req->route->perm != PERM_PUBLIC && need < _ROLE_MAX && !(req->roles & (1u << need))) {
                log_json(LOG_LEVEL_WARN, "api", "request.forbidden",
                         json_pack("{ss ss ss ss}", "method", method, "path", url, "actor", req->actor,
                                   "needs", actor_role_names[need]));
                return reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden", "actor", "%s lacks the %s role",
                                   req->actor, actor_role_names[need]);
        }
        size_t max = body_max(&a->shared, req->route->body);
        const char *cl =
                MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t announced;
        if (cl && parse_int64(cl, 0, INT64_MAX, &announced) == 0 && (uint64_t)announced > max) {
                atomic_fetch_add_explicit(&a->shared.metrics->alerts_rejected[REJECT_TOO_LARGE], 1,
                                          memory_order_relaxed);
                return reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "body",
                                   "body of %lld bytes exceeds the limit of %zu", (long long)announced, max);
        }
        buf_init(&req->body, max);
        return MHD_YES;
}

/* The request no longer waits for a commit (see request.waiting). */
static void request_unwait(api *a, request *req) {
        if (req->waiting) {
                req->waiting = false;
                atomic_fetch_sub(&a->waiting, 1);
        }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        api *a = cls;
        request *req = *con_cls;
        if (!req)
                return MHD_NO; /* on_target could not allocate it */
        if (!req->started) {
                req->started = true;
                return request_start(a, req, url, method, version);
        }
        if (req->handled) {
                *upload_data_size = 0; /* answered early (401/413): discard what follows */
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                if (!req->too_large && buf_append(&req->body, upload_data, *upload_data_size) < 0)
                        req->too_large = true; /* chunked body beyond the limit */
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (req->async_done) {
                request_unwait(a, req);
                return req->route->resume(req);
        }
        if (req->too_large) {
                atomic_fetch_add_explicit(&a->shared.metrics->alerts_rejected[REJECT_TOO_LARGE], 1,
                                          memory_order_relaxed);
                return reply_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "body",
                                   "body exceeds the limit of %zu bytes", req->body.max);
        }
        req->t_complete_us = clock_mono_us();
        enum MHD_Result r = req->route->handle(req);
        if (req->suspended) {
                atomic_fetch_add(&a->waiting, 1);
                req->waiting = true;
        }
        return r;
}

/* MHD calls this once per request with the target as received, before it
 * splits off the query and decodes %HH in place; what it returns is the
 * request's *con_cls. The raw target is checked here, while it is still raw;
 * later only its address is used (MHD rewrites the bytes). */
static void *on_target(void *cls, const char *uri, struct MHD_Connection *c) {
        api *a = cls;
        request *req = request_new(c, &a->shared);
        if (req) {
                req->target = uri;
                req->target_len = strlen(uri);
                req->target_control = routes_target_control(uri, req->target_len);
                req->target_query = memchr(uri, '?', req->target_len) != NULL;
        }
        return req;
}

/* MHD calls this for every request it ends, answered or not: a resumed
 * request whose client hung up is closed without on_request seeing it again,
 * and must not stay counted, or shutdown would wait for it forever. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        request *req = *con_cls;
        if (req)
                request_unwait(cls, req);
        request_free(req);
        *con_cls = NULL;
}

static int api_bind_address(const api_options *o, struct sockaddr_storage *ret, unsigned *ret_flags) {
        memset(ret, 0, sizeof(*ret));
        struct sockaddr_in *v4 = (struct sockaddr_in *)ret;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ret;
        if (inet_pton(AF_INET, o->address, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons(o->port);
                *ret_flags = 0;
                return 0;
        }
        if (inet_pton(AF_INET6, o->address, &v6->sin6_addr) == 1) {
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons(o->port);
                *ret_flags = MHD_USE_IPv6;
                return 0;
        }
        return -EINVAL;
}

int api_start(const api_options *o, const api_deps *deps, api **ret) {
        if (o->n_actors == 0 || o->n_actors > BW_ACTORS_MAX + 1)
                return -EINVAL;
        for (size_t i = 0; i < o->n_actors; i++) {
                const char *t = o->actors[i].token;
                if (!t || strlen(t) < BW_TOKEN_MIN_LEN || strlen(t) > BW_TOKEN_MAX_LEN ||
                    !o->actors[i].name || strlen(o->actors[i].name) > BW_NAME_MAX ||
                    actor_name_reserved(o->actors[i].name))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(o->actors[j].token, t) == 0 ||
                            strcmp(o->actors[j].name, o->actors[i].name) == 0)
                                return -EEXIST; /* one token, one actor */
        }
        struct sockaddr_storage sa;
        unsigned family_flag;
        int r = api_bind_address(o, &sa, &family_flag);
        if (r < 0)
                return r;
        api *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->shared = (api_shared){
                .config = deps->config,
                .store = deps->store,
                .pool = deps->pool,
                .metrics = deps->metrics,
                .alert_body_max = o->alert_body_max,
                .queue_capacity = o->queue_capacity,
        };
        for (size_t i = 0; i < o->n_actors; i++) {
                api_identity *id = &a->shared.identities[a->shared.n_identities++];
                str_copy(id->name, sizeof(id->name), o->actors[i].name);
                id->roles = o->actors[i].roles;
                crypto_generichash(id->token_hash, sizeof(id->token_hash),
                                   (const unsigned char *)o->actors[i].token, strlen(o->actors[i].token),
                                   NULL, 0);
        }
        a->mhd = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | family_flag,
                                  o->port, NULL, NULL, on_request, a, MHD_OPTION_SOCK_ADDR,
                                  (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
                                  (unsigned)(o->threads ? o->threads : 1), MHD_OPTION_CONNECTION_LIMIT,
                                  (unsigned)BW_HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                                  (unsigned)BW_HTTP_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                  (size_t)BW_HTTP_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
                                  MHD_OPTION_URI_LOG_CALLBACK, on_target, a,
                                  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
        if (!a->mhd) {
                sodium_memzero(a->shared.identities, sizeof(a->shared.identities));
                free(a);
                return -EADDRNOTAVAIL;
        }
        *ret = a;
        return 0;
}

void api_stop(api *a) {
        if (!a)
                return;
        MHD_quiesce_daemon(a->mhd);
        /* Suspended connections wait for a commit the writer will still make (the
         * store closes after the API), and each commit ends: it succeeds or fails
         * within the store's lock wait (BW_STORE_BUSY_TIMEOUT_MS) and the disk's
         * time. MHD must not be stopped while any is suspended — it aborts, and a
         * late resume would touch freed memory — so this waits until every such
         * request was answered or ended by MHD (its client gone, on_completed). */
        while (atomic_load(&a->waiting) > 0)
                usleep(10000);
        MHD_stop_daemon(a->mhd);
        sodium_memzero(a->shared.identities, sizeof(a->shared.identities));
        free(a);
}
