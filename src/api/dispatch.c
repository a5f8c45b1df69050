/* SPDX-License-Identifier: Apache-2.0 */
/* Core's side of the api process (docs/architecture.md, "Processes"). The api
 * process parses HTTP and forwards each complete request (api/wire.h); here
 * core trusts none of it: the route index, the sizes and the body are checked
 * again, and the bearer credential is matched against the identities by core
 * itself (api/identity.c), so an api process that is taken over cannot act as
 * anyone whose token it has not seen. A malformed message is fatal to the
 * link: the supervisor (api/supervise.c) ends that api process and starts
 * another. Runs in core. */
#include "api/dispatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connectors/ipc.h"
#include "util/clock.h"
#include "util/log.h"

#define DISPATCH_THREADS_MAX 8u

struct api_link {
        int fd;
        api_shared *shared;
        pthread_mutex_t send_lock; /* one REPLY at a time on the stream */
        pthread_t reader;
        pthread_t resumer; /* answers the requests whose commit ended */
        bool resumer_started;
        pthread_t threads[DISPATCH_THREADS_MAX]; /* run the routes that may block */
        unsigned n_threads;
        /* The queue of new requests to run (FIFO). */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        request *head, *tail;
        request *resumes; /* requests whose commit ended, answered in one write */
        pthread_cond_t resume_cond;
        bool stopping;
        unsigned in_flight; /* requests received and not yet answered; under lock */
        pthread_cond_t idle;
        atomic_bool dead;
        bool confined; /* the api process must report its confinement */
        bool hello;    /* it did: once, before its first request */
};

static void link_push(api_link *l, request *req) {
        pthread_mutex_lock(&l->lock);
        req->next = NULL;
        /* A thread that finds work drains the queue: wake one only for the first. */
        bool was_empty = !l->head;
        if (l->tail)
                l->tail->next = req;
        else
                l->head = req;
        l->tail = req;
        if (was_empty)
                pthread_cond_signal(&l->cond);
        pthread_mutex_unlock(&l->lock);
}

void dispatch_resume(request *req) {
        api_link *l = req->link;
        pthread_mutex_lock(&l->lock);
        bool was_idle = !l->resumes;
        req->next = l->resumes;
        l->resumes = req;
        if (was_idle)
                pthread_cond_signal(&l->resume_cond);
        pthread_mutex_unlock(&l->lock);
}

static void request_release(request *req) {
        pthread_mutex_lock(&req->lock);
        unsigned left = --req->refs;
        pthread_mutex_unlock(&req->lock);
        if (left > 0)
                return;
        api_link *l = req->link;
        if (req->state_free)
                req->state_free(req->state);
        free(req->ids);
        free(req->reply_body);
        buf_free(&req->payload);
        pthread_mutex_destroy(&req->lock);
        free(req);
        pthread_mutex_lock(&l->lock);
        if (--l->in_flight == 0)
                pthread_cond_broadcast(&l->idle);
        pthread_mutex_unlock(&l->lock);
}

/* Encoded replies go out in one write once this many bytes are gathered. */
#define DISPATCH_FLUSH_BYTES (64u * 1024u)

/* Sends what out holds. The api process may be gone: its clients then never
 * had their answers, and nothing is lost that was acknowledged. */
static void link_flush(api_link *l, buf *out) {
        if (out->len == 0)
                return;
        pthread_mutex_lock(&l->send_lock);
        int r = wire_write(l->fd, out->data, out->len);
        pthread_mutex_unlock(&l->send_lock);
        if (r < 0 && r != -EPIPE && r != -ECONNRESET)
                log_errno(r, "api", "reply.send_failed", "%zu bytes of replies", out->len);
        buf_reset(out);
}

/* Encodes req's answer at the end of out. A handler that could not build one
 * (out of memory), or an answer that cannot be encoded, is answered with a
 * fixed 500 that needs no memory: every request sent is answered, or its
 * client would wait forever. */
static void request_encode(request *req, buf *out) {
        static const char oom[] =
                "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\",\"field\":\"\"}}";
        static const wire_reply fallback = {.status = MHD_HTTP_INTERNAL_SERVER_ERROR,
                                            .content = WIRE_CONTENT_JSON,
                                            .body = oom,
                                            .body_len = sizeof(oom) - 1};
        wire_reply w = fallback;
        if (req->handled && req->reply_body)
                w = (wire_reply){.status = (uint16_t)req->status,
                                 .content = req->content,
                                 .body = req->reply_body,
                                 .body_len = req->reply_len};
        /* A failed append leaves out as it was: the replies gathered before it stay. */
        if (wire_reply_append(out, req->seq, &w) == 0)
                return;
        log_errno(-ENOMEM, "api", "reply.encode_failed", "reply %u: answered 500", req->seq);
        wire_reply_append(out, req->seq, &fallback);
}

static void request_answer(request *req) {
        buf out;
        buf_init(&out, 2u * BW_WIRE_PAYLOAD_MAX);
        request_encode(req, &out);
        link_flush(req->link, &out);
        buf_free(&out);
}

/* Who asked, by core's own reckoning, and may they: 401 or 403 answered here
 * as the api process should already have (a body over its route's limit
 * never gets this far: link_request ends the link). false when answered. */
static bool request_admitted(request *req, const wire_request *w) {
        api_shared *s = req->api;
        const route *rt = req->route;
        if (rt->perm != PERM_PUBLIC) {
                const api_identity *who =
                        identity_find(s->identities, s->n_identities, w->credential, w->credential_len);
                if (!who) {
                        if (rt->perm == PERM_ALERTS_WRITE)
                                atomic_fetch_add_explicit(&s->metrics->alerts_rejected[REJECT_UNAUTHORIZED],
                                                          1, memory_order_relaxed);
                        reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthorized", "",
                                    "a valid bearer token is required");
                        return false;
                }
                req->actor = who->name;
                req->roles = who->roles;
                actor_role need = permission_role(rt->perm);
                if (need < _ROLE_MAX && !(req->roles & (1u << need))) {
                        reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden", "actor", "%s lacks the %s role",
                                    req->actor, actor_role_names[need]);
                        return false;
                }
        }
        return true;
}

/* A new request: admitted, then handled; answered here unless it waits for a
 * commit, whose completion answers it (request_wait took a reference). */
static void request_run(request *req) {
        if (request_admitted(req, &req->wire)) {
                req->t_complete_us = clock_mono_us();
                req->route->handle(req);
        }
        pthread_mutex_lock(&req->lock);
        bool waits = req->suspended;
        pthread_mutex_unlock(&req->lock);
        if (!waits)
                request_answer(req);
        request_release(req);
}

/* Requests whose commit ended (a group commit ends many at once): each
 * route's resume handler, and their replies in as few writes as possible. */
static void resume_all(api_link *l, request *list, buf *out) {
        while (list) {
                request *req = list;
                list = req->next;
                req->route->resume(req);
                request_encode(req, out);
                request_release(req);
                if (out->len >= DISPATCH_FLUSH_BYTES)
                        link_flush(l, out);
        }
        link_flush(l, out);
}

/* The one thread that answers commits: never held up by a route that blocks. */
static void *resume_thread(void *arg) {
        api_link *l = arg;
        buf out;
        buf_init(&out, 2u * BW_WIRE_PAYLOAD_MAX);
        for (;;) {
                pthread_mutex_lock(&l->lock);
                while (!l->resumes && !l->stopping)
                        pthread_cond_wait(&l->resume_cond, &l->lock);
                request *resumes = l->resumes;
                l->resumes = NULL;
                pthread_mutex_unlock(&l->lock);
                if (!resumes)
                        break;
                resume_all(l, resumes, &out);
        }
        buf_free(&out);
        return NULL;
}

static void *dispatch_thread(void *arg) {
        api_link *l = arg;
        for (;;) {
                pthread_mutex_lock(&l->lock);
                while (!l->head && !l->stopping)
                        pthread_cond_wait(&l->cond, &l->lock);
                request *req = l->head;
                if (req) {
                        l->head = req->next;
                        if (!l->head)
                                l->tail = NULL;
                        else
                                pthread_cond_signal(&l->cond); /* more: a second thread helps */
                }
                pthread_mutex_unlock(&l->lock);
                if (!req)
                        break;
                request_run(req);
        }
        return NULL;
}

/* One REQUEST whose payload was just read: checked now (fatal if malformed),
 * then run here or by a dispatch thread. The payload moves into the request. */
static int link_request(api_link *l, uint32_t seq, buf *payload) {
        wire_request w;
        int r = wire_request_decode(payload->data, payload->len, &w);
        const route *rt = r == 0 && l->hello ? routes_at(w.route) : NULL;
        /* More than a real api process can have (one request per connection),
         * or a body its route refuses (the api process refuses it first):
         * this api process is not the one core started. */
        if (!rt || w.body_len > route_body_max(rt, l->shared->alert_body_max))
                return -EBADMSG;
        request *req = calloc(1, sizeof(*req));
        if (!req)
                return -ENOMEM;
        pthread_mutex_lock(&l->lock);
        bool full = l->in_flight >= BW_HTTP_MAX_CONNECTIONS;
        l->in_flight += !full;
        pthread_mutex_unlock(&l->lock);
        if (full) {
                free(req);
                return -EBADMSG;
        }
        pthread_mutex_init(&req->lock, NULL);
        req->route = rt;
        req->api = l->shared;
        req->path_id = w.path_id;
        req->link = l;
        req->seq = seq;
        req->refs = 1;
        /* The decoded pointers stay valid: the data moves with the buffer. */
        req->payload = *payload;
        buf_init(payload, BW_WIRE_PAYLOAD_MAX);
        req->wire = w;
        req->args = req->wire.args;
        req->n_args = req->wire.n_args;
        req->body = (buf){.data = (char *)w.body, .len = w.body_len, .max = w.body_len};
        /* A route that answers after a commit never blocks before it (its
         * handler parses and queues the write): it runs here, on the reader,
         * without a hand-off. The others may block (store reads, a rollback
         * test) and run on the dispatch threads. */
        if (rt->resume)
                request_run(req);
        else
                link_push(l, req);
        return 0;
}

/* The api process says what it runs with, once, before its first request;
 * one that should be confined and is not (its uid, seccomp, dumpable) is not
 * used. */
static int link_hello(api_link *l, const buf *payload) {
        if (l->hello)
                return -EBADMSG;
        l->hello = true;
        json_t *v = NULL;
        sandbox_status st;
        int r = wire_json_decode(payload->data, payload->len, &v);
        if (r == 0)
                r = ipc_init_ok_unpack(v, &st);
        json_decref(v);
        if (r < 0)
                return -EBADMSG;
        if (l->confined && !sandbox_status_confined_as(&st, BW_API_UID)) {
                log_json(LOG_LEVEL_ERROR, "api", "api.not_confined", json_pack("{si}", "uid", (int)st.uid));
                return -EPERM;
        }
        if (l->shared->api) /* NULL: a link without a supervisor (its unit tests) */
                api_hello(l->shared->api, &st);
        return 0;
}

/* Something the api process counted for core's metrics. */
static int link_count(api_link *l, const buf *payload) {
        wire_count_kind kind;
        unsigned reason;
        if (wire_count_decode(payload->data, payload->len, &kind, &reason) < 0)
                return -EBADMSG;
        bw_metrics *m = l->shared->metrics;
        _Atomic uint64_t *counter = kind == WIRE_COUNT_ALERT_REJECTED ? &m->alerts_rejected[reason]
                                    : kind == WIRE_COUNT_HTTP_REFUSED ? &m->http_refused[reason]
                                                                      : &m->log_lines_suppressed;
        atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
        return 0;
}

static void *link_reader(void *arg) {
        api_link *l = arg;
        buf payload;
        buf_init(&payload, BW_WIRE_PAYLOAD_MAX);
        wire_reader *in = malloc(sizeof(*in));
        int r = in ? 0 : -ENOMEM;
        if (in)
                wire_reader_init(in, l->fd);
        while (r == 0) {
                wire_header h;
                r = wire_read(in, &h, &payload);
                if (r < 0)
                        break;
                if (h.type == WIRE_REQUEST)
                        r = link_request(l, h.seq, &payload);
                else if (h.type == WIRE_HELLO)
                        r = link_hello(l, &payload);
                else if (h.type == WIRE_COUNT)
                        r = link_count(l, &payload);
                else
                        r = -EBADMSG;
        }
        free(in);
        if (r != -ECONNRESET && r != -EPERM)
                log_errno(r, "api", "link.malformed", "the api process sent a malformed message: ending it");
        buf_free(&payload);
        atomic_store(&l->dead, true);
        /* Nothing more is read; replies still in flight may still be sent. */
        shutdown(l->fd, SHUT_RD);
        return NULL;
}

/* Stops the resume and dispatch threads (nothing is queued any more). */
static void link_join(api_link *l) {
        pthread_mutex_lock(&l->lock);
        l->stopping = true;
        pthread_cond_broadcast(&l->cond);
        pthread_cond_broadcast(&l->resume_cond);
        pthread_mutex_unlock(&l->lock);
        if (l->resumer_started)
                pthread_join(l->resumer, NULL);
        for (unsigned i = 0; i < l->n_threads; i++)
                pthread_join(l->threads[i], NULL);
}

int api_link_start(int fd, api_shared *shared, unsigned threads, bool confined, api_link **ret) {
        api_link *l = calloc(1, sizeof(*l));
        if (!l) {
                close(fd);
                return -ENOMEM;
        }
        l->fd = fd;
        l->shared = shared;
        l->confined = confined;
        pthread_mutex_init(&l->send_lock, NULL);
        pthread_mutex_init(&l->lock, NULL);
        pthread_cond_init(&l->cond, NULL);
        pthread_cond_init(&l->idle, NULL);
        pthread_cond_init(&l->resume_cond, NULL);
        int r = -pthread_create(&l->resumer, NULL, resume_thread, l);
        l->resumer_started = r == 0;
        for (unsigned i = 0; r == 0 && i < threads && i < DISPATCH_THREADS_MAX; i++) {
                r = -pthread_create(&l->threads[i], NULL, dispatch_thread, l);
                l->n_threads += r == 0;
        }
        if (r == 0)
                r = -pthread_create(&l->reader, NULL, link_reader, l);
        if (r < 0) {
                link_join(l);
                close(fd);
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

void api_link_end_reading(api_link *l) {
        shutdown(l->fd, SHUT_RD);
}

bool api_link_dead(api_link *l) {
        return atomic_load(&l->dead);
}

void api_link_stop(api_link *l) {
        if (!l)
                return;
        pthread_join(l->reader, NULL);
        /* Requests waiting for a commit are answered when it ends: the store
         * closes after the API, and every commit ends within its lock wait. */
        pthread_mutex_lock(&l->lock);
        while (l->in_flight > 0)
                pthread_cond_wait(&l->idle, &l->lock);
        pthread_mutex_unlock(&l->lock);
        link_join(l);
        close(l->fd);
        pthread_mutex_destroy(&l->send_lock);
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->cond);
        pthread_cond_destroy(&l->idle);
        pthread_cond_destroy(&l->resume_cond);
        free(l);
}
