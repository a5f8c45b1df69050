/* SPDX-License-Identifier: Apache-2.0 */
/* The api process's HTTP server (libmicrohttpd on the socket the parent
 * listens on): connection limits, the request's target checked raw, the route,
 * the bearer token and the announced size judged before a single body byte is
 * accepted, the body bounded; then the request goes to core (api/wire.h) and
 * its connection is suspended until core's REPLY comes back — for an alert,
 * after its commit reached the disk. Request bytes are untrusted; this process
 * holds no store, no key and no token (only their hashes).
 *
 * Each HTTP thread runs a loop of its own around one MHD daemon (epoll, no
 * internal thread; all share the listening socket): it waits on MHD's epoll
 * descriptor and on an eventfd, runs MHD, then sends core every REQUEST its
 * handlers wrote in that round with one write. The eventfd is what a reply
 * rings after resuming a connection, so a resumed connection is served in
 * the next round whatever MHD's own wakeup does: with MHD's internal epoll
 * threads (0.9.75), a resume was now and then not acted on until the 30 s
 * connection timeout (bench: one thread's 127 connections stalled). */
#include "front/front.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/http.h"
#include "core/metrics.h"
#include "util/log.h"
#include "util/strutil.h"

/* Requests sent to core and not yet answered, by seq: slots of a table twice
 * the connection limit, so that one free slot is always near. */
#define FRONT_SLOTS (2u * BW_HTTP_MAX_CONNECTIONS)
/* HTTP threads (front_options.threads is at most this). */
#define FRONT_LOOPS_MAX 16u
/* A round's REQUESTs are sent once they reach this many bytes, and at its end. */
#define FRONT_OUT_FLUSH (256u * 1024u)

typedef struct front_loop front_loop;

typedef struct front_request {
        struct MHD_Connection *conn;
        front *f;
        front_loop *loop;
        /* The target as MHD first showed it (see on_target). */
        const char *target;
        size_t target_len;
        const char *target_control;
        bool target_query;
        bool started, handled, too_large, over_budget, sent;
        size_t reserved; /* of f->body_reserved (BW_HTTP_BODY_BUDGET) */
        const route *route;
        int64_t path_id;
        char credential[BW_TOKEN_MAX_LEN + 1];
        size_t credential_len;
        buf body;
        uint32_t seq;
        /* core's answer, filled by the reply reader (under f->lock) */
        bool answered;
        unsigned status;
        wire_content content;
        char *reply;
        size_t reply_len;
} front_request;

/* One HTTP thread. Its daemon, out and sent are the thread's own; wake_fd
 * is rung by any thread. */
struct front_loop {
        front *f;
        struct MHD_Daemon *mhd;
        int epfd;    /* MHD's epoll descriptor and wake_fd */
        int wake_fd; /* eventfd: a connection was resumed, or drain / stop */
        pthread_t thread;
        bool started, quiesced;
        atomic_bool rung;                       /* wake_fd was written since the loop last woke */
        buf out;                                /* this round's REQUESTs, holding credentials */
        uint32_t sent[BW_HTTP_MAX_CONNECTIONS]; /* their seqs */
        size_t n_sent;
};

struct front {
        front_loop loops[FRONT_LOOPS_MAX];
        size_t n_loops;
        atomic_bool draining, stopping;
        atomic_size_t body_reserved; /* bytes of request bodies in flight, reserved */
        int link;
        unsigned alert_body_max;
        api_identity identities[BW_ACTORS_MAX + 1];
        size_t n_identities;
        pthread_mutex_t send_lock; /* writes to link */
        pthread_mutex_t lock;      /* slots, next_seq, waiting */
        front_request *slots[FRONT_SLOTS];
        uint32_t next_seq;
        unsigned waiting; /* requests sent and not answered or ended */
        pthread_cond_t idle;
};

static enum MHD_Result front_respond(front_request *req, unsigned status, wire_content content,
                                     const char *body, size_t len) {
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        MHD_add_response_header(resp, "Content-Type",
                                content == WIRE_CONTENT_PROMETHEUS ? "text/plain; version=0.0.4"
                                                                   : "application/json");
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        if (status == MHD_HTTP_SERVICE_UNAVAILABLE) {
                char retry[16];
                snprintf(retry, sizeof(retry), "%u", BW_QUEUE_RETRY_AFTER_S);
                MHD_add_response_header(resp, "Retry-After", retry);
        }
        if (status == MHD_HTTP_UNAUTHORIZED)
                MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
        enum MHD_Result r = MHD_queue_response(req->conn, status, resp);
        MHD_destroy_response(resp);
        req->handled = true;
        return r;
}

/* The api process's own refusals, before core sees the request. */
static enum MHD_Result front_error(front_request *req, unsigned status, const char *code, const char *field,
                                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static enum MHD_Result front_error(front_request *req, unsigned status, const char *code, const char *field,
                                   const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        json_t *o = api_error_vjson(code, field, fmt, ap);
        va_end(ap);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        enum MHD_Result r = s ? front_respond(req, status, WIRE_CONTENT_JSON, s, strlen(s)) : MHD_NO;
        free(s);
        return r;
}

/* The answer to a request core cannot take (it is gone). */
static const char core_gone_body[] =
        "{\"error\":{\"code\":\"unavailable\",\"message\":\"core is not answering\",\"field\":\"\"}}";
static const wire_reply core_gone = {.status = MHD_HTTP_SERVICE_UNAVAILABLE,
                                     .content = WIRE_CONTENT_JSON,
                                     .body = core_gone_body,
                                     .body_len = sizeof(core_gone_body) - 1};

/* Counted by core (its metrics): sent with the round's REQUESTs. */
static void front_count(front_request *req, wire_count_kind kind, unsigned reason) {
        if (wire_count_append(&req->loop->out, kind, reason) < 0)
                log_msg(LOG_LEVEL_WARN, "api", "count.lost", "out of memory");
}

/* A request refused before its body: counted, and true if it may be logged
 * (at most BW_LOG_REFUSED_PER_S lines a second for each reason), with
 * *ret_suppressed the lines left out before it, which the line says. */
static bool front_refused(front_request *req, refuse_reason why, json_int_t *ret_suppressed) {
        static log_limit lines[_REFUSE_REASON_MAX] = {
                [REFUSE_UNAUTHORIZED] = LOG_LIMIT_INIT(BW_LOG_REFUSED_PER_S),
                [REFUSE_FORBIDDEN] = LOG_LIMIT_INIT(BW_LOG_REFUSED_PER_S),
                [REFUSE_BAD_TARGET] = LOG_LIMIT_INIT(BW_LOG_REFUSED_PER_S),
                [REFUSE_BUSY] = LOG_LIMIT_INIT(BW_LOG_REFUSED_PER_S),
        };
        front_count(req, WIRE_COUNT_HTTP_REFUSED, why);
        uint64_t dropped = 0;
        bool log = log_enabled(LOG_LEVEL_WARN) && log_limit_take(&lines[why], &dropped);
        if (!log)
                front_count(req, WIRE_COUNT_LOG_SUPPRESSED, 0);
        *ret_suppressed = (json_int_t)dropped;
        return log;
}

/* Reserves n more bytes of the budget of bodies in flight for req: false
 * (nothing reserved) when they do not fit. */
static bool body_reserve(front_request *req, size_t n) {
        front *f = req->f;
        size_t was = atomic_fetch_add(&f->body_reserved, n);
        if (was + n > BW_HTTP_BODY_BUDGET) {
                atomic_fetch_sub(&f->body_reserved, n);
                return false;
        }
        req->reserved += n;
        return true;
}

/* 503 for a body the budget has no room for. */
static enum MHD_Result refuse_busy(front_request *req, const char *method, const char *url) {
        json_int_t suppressed;
        if (front_refused(req, REFUSE_BUSY, &suppressed))
                log_json(LOG_LEVEL_WARN, "api", "request.busy",
                         json_pack("{ss ss sI}", "method", method, "path", url, "suppressed", suppressed));
        return front_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", "body",
                           "too many request bodies in flight (%u MiB together): try again",
                           BW_HTTP_BODY_BUDGET >> 20);
}

/* The identity of the request's bearer token, or NULL. The token is kept to
 * be forwarded: core matches it again itself, it does not take a name. */
static const api_identity *front_identify(front_request *req) {
        const char *h =
                MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!h || strncmp(h, "Bearer ", 7) != 0)
                return false;
        const char *token = h + 7;
        size_t len = strnlen(token, BW_TOKEN_MAX_LEN + 1);
        const api_identity *who = identity_find(req->f->identities, req->f->n_identities, token, len);
        if (who) {
                memcpy(req->credential, token, len);
                req->credential[len] = '\0';
                req->credential_len = len;
        }
        return who;
}

/* First call for a request: target, route, token, permission and announced
 * size, before a single body byte is accepted. */
static enum MHD_Result request_start(front *f, front_request *req, const char *url, const char *method,
                                     const char *version) {
        /* MHD gives the target as a C string, so a raw NUL hides what follows it.
         * In the request line MHD ends the target by making the space before the
         * version a NUL: a version that does not start right after the target we
         * saw means bytes were hidden (or the line had no version). */
        const char *control = req->target_control;
        if (!control && version != req->target + req->target_len + 1)
                control = req->target_query ? "query" : "path";
        json_int_t suppressed;
        if (control) {
                if (front_refused(req, REFUSE_BAD_TARGET, &suppressed))
                        log_json(LOG_LEVEL_WARN, "api", "request.bad_target",
                                 json_pack("{ss ss sI}", "method", method, "field", control, "suppressed",
                                           suppressed));
                return front_error(req, MHD_HTTP_BAD_REQUEST, "invalid", control,
                                   "the request %s holds a NUL or a control character", control);
        }
        bool known = false;
        req->route = routes_match(method, url, &req->path_id, &known);
        if (!req->route) {
                if (known)
                        return front_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "",
                                           "%s is not allowed on this path", method);
                return front_error(req, MHD_HTTP_NOT_FOUND, "not_found", "", "no such route");
        }
        const api_identity *who = req->route->perm == PERM_PUBLIC ? NULL : front_identify(req);
        if (req->route->perm != PERM_PUBLIC && !who) {
                if (req->route->perm == PERM_ALERTS_WRITE)
                        front_count(req, WIRE_COUNT_ALERT_REJECTED, REJECT_UNAUTHORIZED);
                if (front_refused(req, REFUSE_UNAUTHORIZED, &suppressed))
                        log_json(LOG_LEVEL_WARN, "api", "request.unauthorized",
                                 json_pack("{ss ss sI}", "method", method, "path", url, "suppressed",
                                           suppressed));
                return front_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized", "",
                                   "a valid bearer token is required");
        }
        actor_role need = permission_role(req->route->perm);
        if (who && need < _ROLE_MAX && !(who->roles & (1u << need))) {
                if (front_refused(req, REFUSE_FORBIDDEN, &suppressed))
                        log_json(LOG_LEVEL_WARN, "api", "request.forbidden",
                                 json_pack("{ss ss ss ss sI}", "method", method, "path", url, "actor",
                                           who->name, "needs", actor_role_names[need], "suppressed",
                                           suppressed));
                return front_error(req, MHD_HTTP_FORBIDDEN, "forbidden", "actor", "%s lacks the %s role",
                                   who->name, actor_role_names[need]);
        }
        size_t max = route_body_max(req->route, f->alert_body_max);
        const char *cl =
                MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        int64_t announced;
        if (cl && parse_int64(cl, 0, INT64_MAX, &announced) == 0 && (uint64_t)announced > max) {
                front_count(req, WIRE_COUNT_ALERT_REJECTED, REJECT_TOO_LARGE);
                return front_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "body",
                                   "body of %lld bytes exceeds the limit of %zu", (long long)announced, max);
        }
        /* Its whole announced body, before a byte of it is accepted. */
        if (cl && announced > 0 && !body_reserve(req, (size_t)announced))
                return refuse_busy(req, method, url);
        buf_init(&req->body, max);
        return MHD_YES;
}

/* Sends core the round's REQUESTs in one write, then overwrites them (they
 * hold bearer tokens). If core is gone each is answered 503, unless
 * front_abandon answered it first. On the loop's thread. */
static void loop_flush(front_loop *l) {
        if (l->out.len == 0)
                return;
        front *f = l->f;
        pthread_mutex_lock(&f->send_lock);
        int r = wire_write(f->link, l->out.data, l->out.len);
        pthread_mutex_unlock(&f->send_lock);
        sodium_memzero(l->out.data, l->out.len);
        buf_reset(&l->out);
        if (l->out.cap > 4 * FRONT_OUT_FLUSH)
                buf_free(&l->out); /* a batch's body: do not keep megabytes idle */
        for (size_t i = 0; r < 0 && i < l->n_sent; i++)
                front_reply(f, l->sent[i], &core_gone);
        l->n_sent = 0;
}

/* Many replies arrive per round: one write wakes the loop for all of them. */
static void loop_ring(front_loop *l) {
        if (atomic_exchange(&l->rung, true))
                return;
        uint64_t one = 1;
        while (write(l->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
                ;
}

/* The decoded query arguments, for core. */
typedef struct front_args {
        wire_request *w;
        bool too_many;
} front_args;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        front_args *a = cls;
        size_t klen = strlen(key), vlen = value ? strlen(value) : 0;
        if (a->w->n_args >= BW_WIRE_ARGS_MAX || klen == 0 || klen > BW_WIRE_ARG_KEY_MAX ||
            vlen > BW_WIRE_ARG_VALUE_MAX) {
                a->too_many = true;
                return MHD_NO;
        }
        a->w->args[a->w->n_args++] =
                (wire_arg){.key = key, .key_len = klen, .value = value ? value : "", .value_len = vlen};
        return MHD_YES;
}

/* Hands the complete request to core and suspends its connection. */
static enum MHD_Result request_forward(front *f, front_request *req) {
        wire_request w = {.route = (uint16_t)route_index(req->route),
                          .path_id = req->path_id,
                          .credential = req->credential_len ? req->credential : NULL,
                          .credential_len = req->credential_len,
                          .body = req->body.data ? req->body.data : "",
                          .body_len = req->body.len};
        front_args args = {.w = &w};
        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
        if (args.too_many)
                return front_error(req, MHD_HTTP_BAD_REQUEST, "invalid", "query",
                                   "at most %u query arguments, names of 1..%u bytes, values of at most %u",
                                   BW_WIRE_ARGS_MAX, BW_WIRE_ARG_KEY_MAX, BW_WIRE_ARG_VALUE_MAX);
        front_loop *l = req->loop;
        if (l->out.len >= FRONT_OUT_FLUSH || l->n_sent == BW_HTTP_MAX_CONNECTIONS)
                loop_flush(l);
        pthread_mutex_lock(&f->lock);
        uint32_t seq = f->next_seq;
        while (f->slots[seq % FRONT_SLOTS])
                seq++;
        f->next_seq = seq + 1;
        f->slots[seq % FRONT_SLOTS] = req;
        req->seq = seq;
        req->sent = true;
        f->waiting++;
        MHD_suspend_connection(req->conn);
        pthread_mutex_unlock(&f->lock);
        int r = wire_request_append(&l->out, seq, &w);
        sodium_memzero(req->credential, sizeof(req->credential));
        if (r < 0)
                front_reply(f, seq, &core_gone); /* unless front_abandon answered it first */
        else
                l->sent[l->n_sent++] = seq;
        return MHD_YES;
}

/* Takes req off the table of requests waiting for core. Under f->lock. */
static void request_unslot(front *f, front_request *req) {
        if (!req->sent)
                return;
        req->sent = false;
        if (f->slots[req->seq % FRONT_SLOTS] == req)
                f->slots[req->seq % FRONT_SLOTS] = NULL;
        if (--f->waiting == 0)
                pthread_cond_broadcast(&f->idle);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        front_loop *l = cls;
        front *f = l->f;
        front_request *req = *con_cls;
        if (!req)
                return MHD_NO; /* on_target could not allocate it */
        if (!req->started) {
                req->started = true;
                return request_start(f, req, url, method, version);
        }
        if (req->handled) {
                *upload_data_size = 0; /* answered early (401/413): discard what follows */
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size, after = req->body.len + n;
                if (!req->too_large && !req->over_budget && after > req->reserved &&
                    !body_reserve(req, after - req->reserved))
                        req->over_budget = true; /* chunked, or more than announced */
                if (!req->too_large && !req->over_budget && buf_append(&req->body, upload_data, n) < 0)
                        req->too_large = true; /* chunked body beyond the limit */
                *upload_data_size = 0;
                return MHD_YES;
        }
        pthread_mutex_lock(&f->lock);
        bool answered = req->answered;
        if (answered)
                request_unslot(f, req);
        pthread_mutex_unlock(&f->lock);
        if (answered)
                return front_respond(req, req->status, req->content, req->reply ? req->reply : "",
                                     req->reply_len);
        if (req->over_budget && !req->too_large)
                return refuse_busy(req, method, url);
        if (req->too_large) {
                front_count(req, WIRE_COUNT_ALERT_REJECTED, REJECT_TOO_LARGE);
                return front_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "body",
                                   "body exceeds the limit of %zu bytes", req->body.max);
        }
        return request_forward(f, req);
}

/* MHD calls this once per request with the target as received, before it
 * splits off the query and decodes %HH in place; what it returns is the
 * request's *con_cls. The raw target is checked here, while it is still raw;
 * later only its address is used (MHD rewrites the bytes). */
static void *on_target(void *cls, const char *uri, struct MHD_Connection *c) {
        front_loop *l = cls;
        front_request *req = calloc(1, sizeof(*req));
        if (req) {
                req->conn = c;
                req->f = l->f;
                req->loop = l;
                req->target = uri;
                req->target_len = strlen(uri);
                req->target_control = routes_target_control(uri, req->target_len);
                req->target_query = memchr(uri, '?', req->target_len) != NULL;
        }
        return req;
}

/* MHD calls this for every request it ends, answered or not: a request whose
 * client hung up while core was still at it leaves the table, and core's late
 * answer is dropped. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        front *f = ((front_loop *)cls)->f;
        front_request *req = *con_cls;
        if (req) {
                pthread_mutex_lock(&f->lock);
                request_unslot(f, req);
                pthread_mutex_unlock(&f->lock);
                atomic_fetch_sub(&f->body_reserved, req->reserved);
                buf_free(&req->body);
                free(req->reply);
                sodium_memzero(req->credential, sizeof(req->credential));
                free(req);
        }
        *con_cls = NULL;
}

int front_reply(front *f, uint32_t seq, const wire_reply *w) {
        char *copy = malloc(w->body_len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, w->body, w->body_len);
        copy[w->body_len] = '\0';
        pthread_mutex_lock(&f->lock);
        front_request *req = f->slots[seq % FRONT_SLOTS];
        bool found = req && req->sent && req->seq == seq && !req->answered;
        front_loop *l = found ? req->loop : NULL;
        if (found) {
                req->answered = true;
                req->status = w->status;
                req->content = w->content;
                req->reply = copy;
                req->reply_len = w->body_len;
        }
        pthread_mutex_unlock(&f->lock);
        /* A suspended connection is never ended by MHD, and only the one who
         * set answered resumes it: req is alive until then (not after). Its
         * loop is rung so that it runs MHD on it in the next round. */
        if (found) {
                MHD_resume_connection(req->conn);
                loop_ring(l);
        } else {
                free(copy); /* its client hung up */
        }
        return 0;
}

/* One HTTP thread: waits for MHD's descriptor or a ring, runs MHD, sends what
 * the round's handlers wrote. */
static void *loop_main(void *arg) {
        front_loop *l = arg;
        front *f = l->f;
        while (!atomic_load(&f->stopping)) {
                MHD_UNSIGNED_LONG_LONG t = 0;
                int timeout = MHD_get_timeout(l->mhd, &t) == MHD_YES ? (t > INT_MAX ? INT_MAX : (int)t) : -1;
                struct epoll_event ev[2];
                int n = epoll_wait(l->epfd, ev, 2, timeout);
                for (int i = 0; i < n; i++)
                        if (ev[i].data.fd == l->wake_fd) {
                                uint64_t count;
                                while (read(l->wake_fd, &count, sizeof(count)) < 0 && errno == EINTR)
                                        ;
                                /* Drained, then cleared, then MHD runs: a ring after the
                                 * read either set the flag after this (and writes again)
                                 * or resumed before this (and MHD sees it below). */
                                atomic_store(&l->rung, false);
                        }
                if (atomic_load(&f->draining) && !l->quiesced) {
                        MHD_quiesce_daemon(l->mhd); /* the socket stays the parent's */
                        l->quiesced = true;
                }
                MHD_run(l->mhd);
                loop_flush(l);
        }
        return NULL;
}

static int loop_start(front *f, front_loop *l, const front_options *o, unsigned connections) {
        *l = (front_loop){.f = f, .epfd = -1, .wake_fd = -1};
        buf_init(&l->out, BW_WIRE_PAYLOAD_MAX + FRONT_OUT_FLUSH);
        l->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, on_request, l,
                                  MHD_OPTION_LISTEN_SOCKET, o->listen_fd, MHD_OPTION_CONNECTION_LIMIT,
                                  connections, MHD_OPTION_CONNECTION_TIMEOUT,
                                  (unsigned)BW_HTTP_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                  (size_t)BW_HTTP_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
                                  MHD_OPTION_URI_LOG_CALLBACK, on_target, l, MHD_OPTION_END);
        if (!l->mhd)
                return -EADDRNOTAVAIL;
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (!info)
                return -EINVAL;
        if (l->epfd < 0 || l->wake_fd < 0)
                return -errno;
        struct epoll_event mhd_ev = {.events = EPOLLIN, .data.fd = info->epoll_fd};
        struct epoll_event wake_ev = {.events = EPOLLIN, .data.fd = l->wake_fd};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, info->epoll_fd, &mhd_ev) < 0 ||
            epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &wake_ev) < 0)
                return -errno;
        int e = pthread_create(&l->thread, NULL, loop_main, l);
        if (e != 0)
                return -e;
        l->started = true;
        return 0;
}

/* After its thread ended (or never started). */
static void loop_free(front_loop *l) {
        /* Quiesced first, so that no daemon closes the listening socket the
         * others share. */
        if (l->mhd && !l->quiesced)
                MHD_quiesce_daemon(l->mhd);
        if (l->mhd)
                MHD_stop_daemon(l->mhd);
        if (l->epfd >= 0)
                close(l->epfd);
        if (l->wake_fd >= 0)
                close(l->wake_fd);
        if (l->out.data)
                sodium_memzero(l->out.data, l->out.cap);
        buf_free(&l->out);
}

/* Ends every loop's thread and frees the loops. */
static void loops_stop(front *f) {
        atomic_store(&f->stopping, true);
        for (size_t i = 0; i < f->n_loops; i++)
                if (f->loops[i].started) {
                        loop_ring(&f->loops[i]);
                        pthread_join(f->loops[i].thread, NULL);
                }
        for (size_t i = 0; i < f->n_loops; i++)
                loop_free(&f->loops[i]);
        f->n_loops = 0;
}

int front_start(const front_options *o, front **ret) {
        unsigned threads = o->threads ? o->threads : 1;
        if (threads > FRONT_LOOPS_MAX)
                return -EINVAL;
        /* MHD accepts on a socket it was given only if it does not block. */
        int fl = fcntl(o->listen_fd, F_GETFL);
        if (fl < 0 || fcntl(o->listen_fd, F_SETFL, fl | O_NONBLOCK) < 0)
                return -errno;
        front *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->link = o->link_fd;
        f->alert_body_max = o->alert_body_max;
        memcpy(f->identities, o->identities, o->n_identities * sizeof(api_identity));
        f->n_identities = o->n_identities;
        pthread_mutex_init(&f->send_lock, NULL);
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->idle, NULL);
        /* The connection limit is the process's: shared between the loops. */
        int r = 0;
        for (unsigned i = 0; i < threads && r == 0; i++) {
                r = loop_start(f, &f->loops[i], o, BW_HTTP_MAX_CONNECTIONS / threads);
                f->n_loops = i + 1;
        }
        if (r < 0) {
                loops_stop(f);
                sodium_memzero(f->identities, sizeof(f->identities));
                free(f);
                return r;
        }
        *ret = f;
        return 0;
}

void front_drain(front *f) {
        atomic_store(&f->draining, true);
        for (size_t i = 0; i < f->n_loops; i++)
                loop_ring(&f->loops[i]);
        /* Suspended connections wait for core's answer, which comes (core
         * answers every request it received) or never will (core is gone:
         * the reader then ends them with front_abandon). MHD must not be
         * stopped while any is suspended. */
        pthread_mutex_lock(&f->lock);
        while (f->waiting > 0)
                pthread_cond_wait(&f->idle, &f->lock);
        pthread_mutex_unlock(&f->lock);
}

void front_free(front *f) {
        if (!f)
                return;
        loops_stop(f);
        sodium_memzero(f->identities, sizeof(f->identities));
        free(f);
}

void front_abandon(front *f) {
        for (uint32_t i = 0; i < FRONT_SLOTS; i++) {
                pthread_mutex_lock(&f->lock);
                front_request *req = f->slots[i];
                uint32_t seq = req ? req->seq : 0;
                pthread_mutex_unlock(&f->lock);
                if (req)
                        front_reply(f, seq, &core_gone);
        }
}
