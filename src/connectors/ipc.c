/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon <-> connector worker messages (see ipc.h); runs in both processes;
 * everything received is checked before use. */
#include "connectors/ipc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/limits.h"
#include "util/strutil.h"

#define IPC_BODY_MAX (BW_IPC_MSG_MAX - sizeof(ipc_header))
/* Linux errno values are below 4096 (MAX_ERRNO): anything else in a reply is garbage. */
#define IPC_ERRNO_MAX 4095

int ipc_send(int fd, ipc_msg_type type, uint32_t seq, const json_t *body) {
        char *text = json_dumps(body, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        size_t len = strlen(text);
        int r = 0;
        if (len > IPC_BODY_MAX) {
                r = -EMSGSIZE;
                goto out;
        }
        ipc_header h = {.magic = IPC_MAGIC, .type = type, .seq = seq, .length = (uint32_t)len};
        struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof(h)}, {.iov_base = text, .iov_len = len}};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
        ssize_t n;
        do
                n = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                r = -errno;
        else if ((size_t)n != sizeof(h) + len)
                r = -EIO;
out:
        free(text);
        return r;
}

int ipc_recv(int fd, ipc_msg_type *ret_type, uint32_t *ret_seq, json_t **ret_body) {
        char *b = malloc(BW_IPC_MSG_MAX);
        if (!b)
                return -ENOMEM;
        struct iovec iov = {.iov_base = b, .iov_len = BW_IPC_MSG_MAX};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;
        do
                n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        int r = 0;
        ipc_header h;
        json_t *body = NULL;
        if (n < 0)
                r = -errno;
        else if (n == 0)
                r = -ECONNRESET;
        else if (m.msg_flags & MSG_TRUNC)
                r = -EMSGSIZE;
        else if ((m.msg_flags & MSG_CTRUNC) || (size_t)n < sizeof(h))
                r = -EBADMSG; /* descriptors are never part of the protocol */
        if (r < 0)
                goto out;
        memcpy(&h, b, sizeof(h));
        if (h.magic != IPC_MAGIC || h.type >= _IPC_MSG_TYPE_MAX || h.length != (size_t)n - sizeof(h)) {
                r = -EBADMSG;
                goto out;
        }
        body = json_loadb(b + sizeof(h), h.length, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(body)) {
                json_decref(body);
                r = -EBADMSG;
                goto out;
        }
        *ret_type = (ipc_msg_type)h.type;
        *ret_seq = h.seq;
        *ret_body = body;
out:
        free(b);
        return r;
}

json_t *ipc_init_pack(const char *name, const char *kind, const json_t *settings) {
        return json_pack("{ss ss sO}", "name", name, "kind", kind, "settings", settings);
}

int ipc_init_unpack(const json_t *body, const char **ret_name, const char **ret_kind,
                    const json_t **ret_settings) {
        const char *name, *kind;
        json_t *settings;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:s s:s s:o}", "name", &name, "kind", &kind,
                           "settings", &settings) < 0 ||
            !json_is_object(settings))
                return -EBADMSG;
        *ret_name = name;
        *ret_kind = kind;
        *ret_settings = settings;
        return 0;
}

json_t *ipc_init_error_pack(int rc, const bw_error *err) {
        return json_pack("{si ss ss ss}", "rc", rc, "code", err->code, "field", err->field, "message",
                         err->message);
}

int ipc_init_error_unpack(const json_t *body, int *ret_rc, bw_error *ret_err) {
        int rc;
        const char *code, *field, *message;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:i s:s s:s s:s}", "rc", &rc, "code", &code,
                           "field", &field, "message", &message) < 0 ||
            rc >= 0 || rc < -IPC_ERRNO_MAX)
                return -EBADMSG;
        bw_error_set(ret_err, code, field, "%s", message);
        *ret_rc = rc;
        return 0;
}

static int ipc_target_kind_from_name(const char *name, target_kind *ret) {
        for (unsigned k = 0; k < _TARGET_KIND_MAX; k++)
                if (strcmp(target_kind_name((target_kind)k), name) == 0) {
                        *ret = (target_kind)k;
                        return 0;
                }
        return -EBADMSG;
}

static int ipc_op_from_name(const char *name, connector_op *ret) {
        for (unsigned op = 0; op < _CONNECTOR_OP_MAX; op++)
                if (strcmp(connector_op_name((connector_op)op), name) == 0) {
                        *ret = (connector_op)op;
                        return 0;
                }
        return -EBADMSG;
}

/* JSON strings must be UTF-8; anything else here is a caller's bug, not ENOMEM. */
static bool ipc_str_ok(const char *s) {
        return s && utf8_valid(s, strlen(s));
}

int ipc_request_pack(connector_op op, const connector_action *a, json_t **ret) {
        if ((unsigned)op >= _CONNECTOR_OP_MAX || (unsigned)a->kind >= _TARGET_KIND_MAX ||
            !ipc_str_ok(a->verb) || !ipc_str_ok(a->idempotency_key) || !json_is_object(a->params) ||
            (a->n_targets && !a->targets))
                return -EINVAL;
        for (size_t i = 0; i < a->n_targets; i++)
                if (!ipc_str_ok(a->targets[i]))
                        return -EINVAL;
        json_t *targets = json_array();
        if (!targets)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_targets; i++)
                if (json_array_append_new(targets, json_string(a->targets[i])) < 0) {
                        json_decref(targets);
                        return -ENOMEM;
                }
        json_t *body = json_pack("{ss s{sI ss ss so sO ss sO?}}", "op", connector_op_name(op), "action",
                                 "id", (json_int_t)a->action_id, "verb", a->verb, "kind",
                                 target_kind_name(a->kind), "targets", targets, "params", a->params,
                                 "idempotency_key", a->idempotency_key, "snapshot", a->snapshot);
        if (!body)
                return -ENOMEM;
        *ret = body;
        return 0;
}

int ipc_request_unpack(const json_t *body, ipc_request *ret) {
        const char *op_name, *verb, *kind_name, *key;
        json_int_t id;
        json_t *targets, *params, *snapshot = NULL;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:s s:{s:I s:s s:s s:o s:o s:s s?o}}", "op",
                           &op_name, "action", "id", &id, "verb", &verb, "kind", &kind_name, "targets",
                           &targets, "params", &params, "idempotency_key", &key, "snapshot",
                           &snapshot) < 0 ||
            !json_is_array(targets) || !json_is_object(params))
                return -EBADMSG;
        ipc_request r = {0};
        if (ipc_op_from_name(op_name, &r.op) < 0 || ipc_target_kind_from_name(kind_name, &r.action.kind) < 0)
                return -EBADMSG;
        size_t n = json_array_size(targets);
        if (n) {
                r.targets = calloc(n, sizeof(char *));
                if (!r.targets)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                const json_t *t = json_array_get(targets, i);
                if (!json_is_string(t)) {
                        ipc_request_clear(&r);
                        return -EBADMSG;
                }
                r.targets[i] = strdup(json_string_value(t));
                r.action.n_targets = i + 1; /* so that clear frees what exists */
                if (!r.targets[i]) {
                        ipc_request_clear(&r);
                        return -ENOMEM;
                }
        }
        r.body = json_incref((json_t *)body);
        r.action.action_id = id;
        r.action.verb = verb;
        r.action.targets = r.targets;
        r.action.params = params;
        r.action.idempotency_key = key;
        r.action.snapshot = json_is_null(snapshot) ? NULL : snapshot;
        *ret = r;
        return 0;
}

void ipc_request_clear(ipc_request *r) {
        if (!r)
                return;
        for (size_t i = 0; r->targets && i < r->action.n_targets; i++)
                free(r->targets[i]);
        free(r->targets);
        json_decref(r->body);
        *r = (ipc_request){0};
}

json_t *ipc_reply_pack(int rc, const connector_result *result) {
        return json_pack("{si sb ss sO*}", "rc", rc, "ok", result->ok, "detail", result->detail, "data",
                         result->data);
}

int ipc_reply_unpack(const json_t *body, int *ret_rc, connector_result *ret_result) {
        int rc, ok;
        const char *detail;
        json_t *data = NULL;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:i s:b s:s s?o}", "rc", &rc, "ok", &ok,
                           "detail", &detail, "data", &data) < 0 ||
            rc > 0 || rc < -IPC_ERRNO_MAX)
                return -EBADMSG;
        connector_result res = {.ok = ok, .data = json_incref(data)};
        str_copy(res.detail, sizeof(res.detail), detail);
        *ret_rc = rc;
        *ret_result = res;
        return 0;
}
