/* SPDX-License-Identifier: Apache-2.0 */
/* Every message between the daemon (connectors/pool.c) and a connector worker
 * (connectors/worker.c), declared in one place. One message is one
 * SOCK_SEQPACKET packet: a fixed header then a JSON object body, at most
 * BW_IPC_MSG_MAX bytes in all. Receivers check the size, the header and the
 * body's exact shape (strict unpack) before use; the worker is the less trusted
 * side, so a malformed message from it is fatal to it. Runs in both processes. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "sandbox/sandbox.h"
#include "util/error.h"

#define IPC_MAGIC 0x31435742u /* "BWC1" in memory order on little-endian hosts */

/* The conversation: INIT -> INIT_OK | INIT_ERROR, then REQUEST n -> REPLY n, until
 * the daemon closes the socket. */
typedef enum {
        IPC_INIT,       /* daemon -> worker {"name", "kind", "settings", "uid", "confine"} */
        IPC_INIT_OK,    /* worker -> daemon {"sandbox": {...}} */
        IPC_INIT_ERROR, /* worker -> daemon {"rc", "code", "field", "message"} */
        IPC_REQUEST,    /* daemon -> worker {"op", "action": {...}} or {"op", "actions": [...]} */
        IPC_REPLY,      /* worker -> daemon {"rc", "ok", "detail", "data"?} or {"rc", "results"?: [...]} */
        _IPC_MSG_TYPE_MAX,
} ipc_msg_type;

typedef struct ipc_header {
        uint32_t magic;  /* IPC_MAGIC */
        uint32_t type;   /* ipc_msg_type */
        uint32_t seq;    /* REPLY n answers REQUEST n; INIT messages use 0 */
        uint32_t length; /* bytes of JSON that follow; header + length <= BW_IPC_MSG_MAX */
} ipc_header;

/* Sends one message without blocking (the protocol is strictly request/reply, so
 * the peer's queue is empty). Returns 0, -EMSGSIZE if the encoded body would
 * exceed BW_IPC_MSG_MAX (nothing sent), -ENOMEM, or the socket's -errno. */
int ipc_send(int fd, ipc_msg_type type, uint32_t seq, const json_t *body);

/* Receives one message (blocking; callers poll first). Returns 0 with the type,
 * seq and body (an object, caller's reference); -ECONNRESET at end of stream;
 * -EMSGSIZE for a packet over BW_IPC_MSG_MAX; -EBADMSG for a bad header, a
 * length mismatch, passed descriptors or a body that is not a JSON object; or the
 * socket's -errno. */
int ipc_recv(int fd, ipc_msg_type *ret_type, uint32_t *ret_seq, json_t **ret_body);

/* INIT: what a worker is (unpack: borrowed pointers into body). */
typedef struct ipc_init {
        const char *name;
        const char *kind;
        const json_t *settings;
        unsigned uid; /* its uid and gid once confined: 1..BW_WORKER_UID_MAX */
        bool confine; /* false only under --no-sandbox */
} ipc_init;
json_t *ipc_init_pack(const ipc_init *in);
int ipc_init_unpack(const json_t *body, ipc_init *ret);

/* INIT_OK: the confinement in force in the worker (sandbox_status). */
json_t *ipc_init_ok_pack(const sandbox_status *s);
int ipc_init_ok_unpack(const json_t *body, sandbox_status *ret);

/* INIT_ERROR: why open failed (rc < 0 and, for -EINVAL, the bw_error). */
json_t *ipc_init_error_pack(int rc, const bw_error *err);
int ipc_init_error_unpack(const json_t *body, int *ret_rc, bw_error *ret_err);

/* REQUEST. Returns 0 and *ret, -EINVAL for an action that breaks connector.h's
 * contract (NULL verb, key, params or target, unknown op or target kind), or
 * -ENOMEM. */
int ipc_request_pack(connector_op op, const connector_action *a, json_t **ret);

/* A decoded REQUEST: action points into the owned copies below. */
typedef struct ipc_request {
        connector_op op;
        connector_action action;
        char **targets;
        json_t *body; /* keeps verb, key, params and snapshot alive */
} ipc_request;

int ipc_request_unpack(const json_t *body, ipc_request *ret);
void ipc_request_clear(ipc_request *r);

/* A batch REQUEST: one op for 1..BW_CONNECTOR_BATCH_MAX actions. */
int ipc_batch_pack(connector_op op, const connector_action *actions, size_t n, json_t **ret);

typedef struct ipc_batch {
        connector_op op;
        ipc_request *items;
        size_t n;
} ipc_batch;

int ipc_batch_unpack(const json_t *body, ipc_batch *ret);
void ipc_batch_clear(ipc_batch *b);

/* True if a REQUEST body is a batch. */
bool ipc_is_batch(const json_t *body);

/* REPLY: rc is the op's return (0 or a negative errno); result is meaningful for
 * rc == 0 (and detail explains an error). unpack fills *ret_result (caller
 * clears) and rejects rc outside [-4095, 0]. */
json_t *ipc_reply_pack(int rc, const connector_result *result);
int ipc_reply_unpack(const json_t *body, int *ret_rc, connector_result *ret_result);

/* Batch REPLY: {"rc": 0, "results": [one REPLY per action, in order]}, or
 * {"rc": -errno} when the batch as a whole could not run (nothing changed).
 * unpack: *ret_rc, and for rc == 0 ret_rcs[0..n) and ret_results[0..n) (caller
 * clears); -EBADMSG unless there are exactly n results. */
json_t *ipc_batch_reply_pack(const int *rcs, const connector_result *results, size_t n);
int ipc_batch_reply_unpack(const json_t *body, size_t n, int *ret_rc, int *ret_rcs,
                           connector_result *ret_results);
