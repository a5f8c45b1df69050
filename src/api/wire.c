/* SPDX-License-Identifier: Apache-2.0 */
/* The api <-> core messages (see wire.h). Layouts, little-endian as the host
 * (both ends are the same binary on the same machine):
 *
 *   REQUEST  u16 route, u16 n_args, u32 credential_len, i64 path_id,
 *            u32 body_len, then the credential, then n_args times
 *            {u16 key_len, u16 value_len, key, value}, then the body.
 *   REPLY    u16 status, u16 content, u32 body_len, then the body.
 *   COUNT    u32 reason.
 *   INIT, HELLO  a JSON object. */
#include "api/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/metrics.h"

int wire_send(int fd, wire_type type, uint32_t seq, const wire_part *parts, size_t n) {
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
                total += parts[i].len;
        if (total > BW_WIRE_PAYLOAD_MAX || n + 1 > 16)
                return -EMSGSIZE;
        wire_header h = {.magic = WIRE_MAGIC, .type = (uint32_t)type, .seq = seq, .length = (uint32_t)total};
        struct iovec iov[17];
        iov[0] = (struct iovec){.iov_base = &h, .iov_len = sizeof(h)};
        for (size_t i = 0; i < n; i++)
                iov[i + 1] = (struct iovec){.iov_base = (void *)parts[i].data, .iov_len = parts[i].len};
        struct iovec *v = iov;
        int cnt = (int)n + 1;
        while (cnt > 0) {
                struct msghdr m = {.msg_iov = v, .msg_iovlen = (size_t)cnt};
                ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                /* Skip what was written; continue inside a partly written part. */
                size_t done = (size_t)w;
                while (cnt > 0 && done >= v->iov_len) {
                        done -= v->iov_len;
                        v++;
                        cnt--;
                }
                if (cnt > 0) {
                        v->iov_base = (char *)v->iov_base + done;
                        v->iov_len -= done;
                }
        }
        return 0;
}

/* Reads exactly n bytes. 0, -ECONNRESET at the end of the stream, or -errno. */
static int read_full(int fd, void *p, size_t n) {
        size_t got = 0;
        while (got < n) {
                ssize_t r = read(fd, (char *)p + got, n - got);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ECONNRESET;
                got += (size_t)r;
        }
        return 0;
}

/* A header as it must be: ours, a known type, a payload within the limit. */
static bool header_ok(const wire_header *h) {
        return h->magic == WIRE_MAGIC && h->type < _WIRE_TYPE_MAX && h->length <= BW_WIRE_PAYLOAD_MAX;
}

void wire_reader_init(wire_reader *r, int fd) {
        r->fd = fd;
        r->start = r->end = 0;
}

/* Has at least n (<= WIRE_READ_CHUNK) bytes buffered, reading as needed.
 * -ECONNRESET when the stream ends with none buffered, -EBADMSG when it ends
 * inside them. */
static int reader_fill(wire_reader *r, size_t n) {
        if (r->end - r->start >= n)
                return 0;
        memmove(r->data, r->data + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
        while (r->end < n) {
                ssize_t got = read(r->fd, r->data + r->end, sizeof(r->data) - r->end);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got < 0)
                        return -errno;
                if (got == 0)
                        return r->end == 0 ? -ECONNRESET : -EBADMSG;
                r->end += (size_t)got;
        }
        return 0;
}

int wire_read(wire_reader *r, wire_header *ret, buf *payload) {
        int e = reader_fill(r, sizeof(wire_header));
        if (e < 0)
                return e;
        wire_header h;
        memcpy(&h, r->data + r->start, sizeof(h));
        if (!header_ok(&h))
                return -EBADMSG;
        r->start += sizeof(h);
        buf_reset(payload);
        e = buf_reserve(payload, h.length);
        if (e < 0)
                return e == -EMSGSIZE ? -EBADMSG : e;
        /* What is buffered, then the rest straight into the payload. */
        size_t have = r->end - r->start < h.length ? r->end - r->start : h.length;
        memcpy(payload->data, r->data + r->start, have);
        r->start += have;
        if (have < h.length) {
                e = read_full(r->fd, payload->data + have, h.length - have);
                if (e < 0)
                        return e == -ECONNRESET ? -EBADMSG : e;
        }
        payload->len = h.length;
        payload->data[h.length] = '\0';
        *ret = h;
        return 0;
}

/* A bounds-checked reader over one payload. */
typedef struct cursor {
        const char *p;
        size_t left;
        bool bad;
} cursor;

static const char *take(cursor *c, size_t n) {
        if (c->bad || n > c->left) {
                c->bad = true;
                return NULL;
        }
        const char *at = c->p;
        c->p += n;
        c->left -= n;
        return at;
}

/* A fixed-size field into out (n bytes), left zero once the cursor is bad
 * (which the caller checks). */
static void take_field(cursor *c, void *out, size_t n) {
        const char *at = take(c, n);
        if (at)
                memcpy(out, at, n);
        else
                memset(out, 0, n);
}

/* Starts one message of payload bytes at the end of out: room for all of it
 * is reserved and its header written, so that the caller's appends of the
 * payload cannot fail. -EMSGSIZE beyond BW_WIRE_PAYLOAD_MAX (or out's max),
 * -ENOMEM; out unchanged then. */
static int message_begin(buf *out, wire_type type, uint32_t seq, size_t payload) {
        if (payload > BW_WIRE_PAYLOAD_MAX)
                return -EMSGSIZE;
        int e = buf_reserve(out, sizeof(wire_header) + payload);
        if (e < 0)
                return e;
        wire_header h = {
                .magic = WIRE_MAGIC, .type = (uint32_t)type, .seq = seq, .length = (uint32_t)payload};
        buf_append(out, &h, sizeof(h));
        return 0;
}

int wire_request_append(buf *out, uint32_t seq, const wire_request *r) {
        if (r->n_args > BW_WIRE_ARGS_MAX || r->credential_len > BW_TOKEN_MAX_LEN)
                return -EINVAL;
        size_t total = 20 + r->credential_len + r->body_len;
        for (size_t i = 0; i < r->n_args; i++) {
                const wire_arg *a = &r->args[i];
                if (a->key_len > BW_WIRE_ARG_KEY_MAX || a->value_len > BW_WIRE_ARG_VALUE_MAX)
                        return -EINVAL;
                total += 4 + a->key_len + a->value_len;
        }
        int e = message_begin(out, WIRE_REQUEST, seq, total);
        if (e < 0)
                return e;
        uint16_t route = r->route, n_args = (uint16_t)r->n_args;
        uint32_t cred = (uint32_t)r->credential_len, body = (uint32_t)r->body_len;
        buf_append(out, &route, 2);
        buf_append(out, &n_args, 2);
        buf_append(out, &cred, 4);
        buf_append(out, &r->path_id, 8);
        buf_append(out, &body, 4);
        buf_append(out, r->credential, r->credential_len);
        for (size_t i = 0; i < r->n_args; i++) {
                const wire_arg *a = &r->args[i];
                uint16_t k = (uint16_t)a->key_len, v = (uint16_t)a->value_len;
                buf_append(out, &k, 2);
                buf_append(out, &v, 2);
                buf_append(out, a->key, a->key_len);
                buf_append(out, a->value, a->value_len);
        }
        buf_append(out, r->body, r->body_len);
        return 0;
}

int wire_request_decode(const char *p, size_t len, wire_request *ret) {
        cursor c = {.p = p, .left = len};
        wire_request r = {0};
        uint16_t n_args;
        uint32_t cred, body;
        take_field(&c, &r.route, sizeof(r.route));
        take_field(&c, &n_args, sizeof(n_args));
        take_field(&c, &cred, sizeof(cred));
        take_field(&c, &r.path_id, sizeof(r.path_id));
        take_field(&c, &body, sizeof(body));
        if (c.bad || n_args > BW_WIRE_ARGS_MAX || cred > BW_TOKEN_MAX_LEN || r.path_id < 0)
                return -EBADMSG;
        r.credential = cred ? take(&c, cred) : NULL;
        r.credential_len = cred;
        for (size_t i = 0; i < n_args; i++) {
                uint16_t k, v;
                take_field(&c, &k, sizeof(k));
                take_field(&c, &v, sizeof(v));
                if (k == 0 || k > BW_WIRE_ARG_KEY_MAX || v > BW_WIRE_ARG_VALUE_MAX)
                        return -EBADMSG;
                r.args[i] =
                        (wire_arg){.key = take(&c, k), .key_len = k, .value = take(&c, v), .value_len = v};
        }
        r.n_args = n_args;
        r.body = take(&c, body);
        r.body_len = body;
        if (c.bad || c.left != 0)
                return -EBADMSG;
        *ret = r;
        return 0;
}

int wire_reply_append(buf *out, uint32_t seq, const wire_reply *r) {
        uint16_t status = r->status, content = (uint16_t)r->content;
        uint32_t body = (uint32_t)r->body_len;
        if (r->body_len > BW_WIRE_PAYLOAD_MAX - 8)
                return -EMSGSIZE;
        int e = message_begin(out, WIRE_REPLY, seq, 8 + r->body_len);
        if (e < 0)
                return e;
        buf_append(out, &status, 2);
        buf_append(out, &content, 2);
        buf_append(out, &body, 4);
        buf_append(out, r->body, r->body_len);
        return 0;
}

int wire_write(int fd, const void *p, size_t n) {
        size_t done = 0;
        while (done < n) {
                ssize_t w = send(fd, (const char *)p + done, n - done, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                done += (size_t)w;
        }
        return 0;
}

int wire_reply_decode(const char *p, size_t len, wire_reply *ret) {
        cursor c = {.p = p, .left = len};
        wire_reply r = {0};
        uint16_t content;
        uint32_t body;
        take_field(&c, &r.status, sizeof(r.status));
        take_field(&c, &content, sizeof(content));
        take_field(&c, &body, sizeof(body));
        r.body = take(&c, body);
        r.body_len = body;
        if (c.bad || c.left != 0 || r.status < 100 || r.status > 599 || content >= _WIRE_CONTENT_MAX)
                return -EBADMSG;
        r.content = (wire_content)content;
        *ret = r;
        return 0;
}

/* The reasons each kind of count can have. */
static unsigned count_reasons(wire_count_kind kind) {
        switch (kind) {
        case WIRE_COUNT_ALERT_REJECTED:
                return _REJECT_REASON_MAX;
        case WIRE_COUNT_HTTP_REFUSED:
                return _REFUSE_REASON_MAX;
        case WIRE_COUNT_LOG_SUPPRESSED:
                return 1;
        default:
                return 0;
        }
}

int wire_count_append(buf *out, wire_count_kind kind, unsigned reason) {
        if (reason >= count_reasons(kind))
                return -EINVAL;
        uint32_t v[2] = {(uint32_t)kind, reason};
        int e = message_begin(out, WIRE_COUNT, 0, sizeof(v));
        if (e == 0)
                buf_append(out, v, sizeof(v));
        return e;
}

int wire_count_decode(const char *p, size_t len, wire_count_kind *ret_kind, unsigned *ret_reason) {
        uint32_t v[2];
        if (len != sizeof(v))
                return -EBADMSG;
        memcpy(v, p, sizeof(v));
        if (v[0] >= _WIRE_COUNT_KIND_MAX || v[1] >= count_reasons((wire_count_kind)v[0]))
                return -EBADMSG;
        *ret_kind = (wire_count_kind)v[0];
        *ret_reason = v[1];
        return 0;
}

int wire_json_send(int fd, wire_type type, const json_t *v) {
        char *s = json_dumps(v, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        wire_part part = {s, strlen(s)};
        int r = wire_send(fd, type, 0, &part, 1);
        free(s);
        return r;
}

int wire_json_decode(const char *p, size_t len, json_t **ret) {
        json_t *v = json_loadb(p, len, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(v)) {
                json_decref(v);
                return -EBADMSG;
        }
        *ret = v;
        return 0;
}
