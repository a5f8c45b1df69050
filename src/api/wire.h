/* SPDX-License-Identifier: Apache-2.0 */
/* The messages between the api process (front/) and core (api/dispatch.c),
 * all of them, over one SOCK_STREAM socketpair (docs/architecture.md,
 * "Messages"). Each is a 16-byte header and a payload of at most
 * BW_WIRE_PAYLOAD_MAX bytes: binary, so that an 8 MiB batch body crosses as it
 * is, without escaping. Every decoder checks every length against what is left
 * before it reads, and a malformed message is fatal to its sender: core closes
 * the link (the api process is restarted), the api process exits.
 *
 *   INIT     core -> api   what the api process needs to judge a request before
 *                          its body: body limits, the identities (names, token
 *                          hashes, roles), HTTP threads. JSON.
 *   REQUEST  api -> core   one complete request: route index, path id, query
 *                          arguments, the bearer credential, the body.
 *   REPLY    core -> api   the answer to REQUEST seq: status, content type, body.
 *   COUNT    api -> core   what the api process counts for core's metrics: an
 *                          alert refused before its body (401, 413), a
 *                          request refused (401, 403, a bad target), a log
 *                          line it left out.
 *   HELLO    api -> core   once, confined: what it runs with, as the kernel
 *                          says (connectors/ipc.h: ipc_init_ok_pack). JSON. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/limits.h"
#include "util/buf.h"

#define WIRE_MAGIC 0x31575742u /* "BWW1" in memory order on little-endian hosts */

typedef enum {
        WIRE_INIT,
        WIRE_REQUEST,
        WIRE_REPLY,
        WIRE_COUNT,
        WIRE_HELLO,
        _WIRE_TYPE_MAX,
} wire_type;

typedef struct wire_header {
        uint32_t magic;  /* WIRE_MAGIC */
        uint32_t type;   /* wire_type */
        uint32_t seq;    /* REPLY n answers REQUEST n */
        uint32_t length; /* payload bytes that follow, <= BW_WIRE_PAYLOAD_MAX */
} wire_header;

/* One query argument as MHD decoded it. */
typedef struct wire_arg {
        const char *key;
        size_t key_len;
        const char *value;
        size_t value_len;
} wire_arg;

/* REQUEST, decoded: every pointer borrows from the payload. */
typedef struct wire_request {
        uint16_t route; /* index into the route table (api/routes.c) */
        int64_t path_id;
        const char *credential; /* the bearer token as sent; NULL when none */
        size_t credential_len;
        wire_arg args[BW_WIRE_ARGS_MAX];
        size_t n_args;
        const char *body;
        size_t body_len;
} wire_request;

typedef enum {
        WIRE_CONTENT_JSON,       /* application/json */
        WIRE_CONTENT_PROMETHEUS, /* text/plain; version=0.0.4 */
        _WIRE_CONTENT_MAX,
} wire_content;

typedef struct wire_reply {
        uint16_t status;
        wire_content content;
        const char *body;
        size_t body_len;
} wire_reply;

/* Sends one message whole (a stream: partial writes are continued; callers
 * serialise senders on one socket). parts[0..n) are the payload, gathered.
 * Returns 0, -EMSGSIZE beyond BW_WIRE_PAYLOAD_MAX (nothing sent), or -errno. */
typedef struct wire_part {
        const void *data;
        size_t len;
} wire_part;
int wire_send(int fd, wire_type type, uint32_t seq, const wire_part *parts, size_t n);

/* A buffered reader of one stream (under load many messages arrive per
 * read()); one per stream and side, for all its messages. wire_read receives
 * one message: its header and payload (into payload, initialised with a max
 * of at least BW_WIRE_PAYLOAD_MAX; reset first). Returns 0; -ECONNRESET at
 * the end of the stream before a header; -EBADMSG for a wrong magic or type,
 * a length over the limit or a stream that ends inside a message; -ENOMEM;
 * or -errno. */
#define WIRE_READ_CHUNK (64u * 1024u)
typedef struct wire_reader {
        int fd;
        size_t start, end;
        char data[WIRE_READ_CHUNK];
} wire_reader;
void wire_reader_init(wire_reader *r, int fd);
int wire_read(wire_reader *r, wire_header *ret, buf *payload);

/* REQUEST. append encodes it (header included) at the end of out, for
 * wire_write to send several at once: 0, -EINVAL, -EMSGSIZE or -ENOMEM, and
 * out unchanged unless 0. decode checks every length and bound. */
int wire_request_append(buf *out, uint32_t seq, const wire_request *r);
int wire_request_decode(const char *p, size_t len, wire_request *ret);

/* REPLY. append encodes it (header included) at the end of out, for
 * wire_write to send several at once: 0, -EMSGSIZE or -ENOMEM, and out
 * unchanged unless 0. */
int wire_reply_append(buf *out, uint32_t seq, const wire_reply *r);

/* Writes n encoded bytes whole. 0 or -errno. */
int wire_write(int fd, const void *p, size_t n);
int wire_reply_decode(const char *p, size_t len, wire_reply *ret);

/* COUNT: u32 kind, u32 reason. */
typedef enum {
        WIRE_COUNT_ALERT_REJECTED, /* reason: core/metrics.h reject_reason */
        WIRE_COUNT_HTTP_REFUSED,   /* reason: core/metrics.h refuse_reason */
        WIRE_COUNT_LOG_SUPPRESSED, /* reason: 0 */
        _WIRE_COUNT_KIND_MAX,
} wire_count_kind;
/* 0, -EINVAL for a reason its kind does not have, -EMSGSIZE or -ENOMEM; out
 * unchanged unless 0. */
int wire_count_append(buf *out, wire_count_kind kind, unsigned reason);
int wire_count_decode(const char *p, size_t len, wire_count_kind *ret_kind, unsigned *ret_reason);

/* INIT and HELLO: a JSON object. decode parses it into *ret. */
int wire_json_send(int fd, wire_type type, const json_t *v);
int wire_json_decode(const char *p, size_t len, json_t **ret);
