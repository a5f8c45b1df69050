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

json_t *ipc_init_pack(const ipc_init *in) {
        return json_pack("{ss ss sO sI sb}", "name", in->name, "kind", in->kind, "settings", in->settings,
                         "uid", (json_int_t)in->uid, "confine", in->confine);
}

int ipc_init_unpack(const json_t *body, ipc_init *ret) {
        const char *name, *kind;
        json_t *settings;
        json_int_t uid;
        int confine;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:s s:s s:o s:I s:b}", "name", &name, "kind",
                           &kind, "settings", &settings, "uid", &uid, "confine", &confine) < 0 ||
            !json_is_object(settings) || uid < 1 || uid > (json_int_t)BW_WORKER_UID_MAX)
                return -EBADMSG;
        *ret = (ipc_init){
                .name = name, .kind = kind, .settings = settings, .uid = (unsigned)uid, .confine = confine};
        return 0;
}

/* Capability masks fit 63 bits (CAP_LAST_CAP is about 40). */
#define IPC_CAPS_MAX ((json_int_t)(UINT64_C(1) << 62))

json_t *ipc_init_ok_pack(const sandbox_status *s) {
        return json_pack("{s{si sb sb sI sI sI sI sb}}", "sandbox", "landlock_abi", s->landlock_abi,
                         "landlock", s->landlock, "seccomp", s->seccomp, "uid", (json_int_t)s->uid, "gid",
                         (json_int_t)s->gid, "caps_effective",
                         (json_int_t)(s->caps_effective & (IPC_CAPS_MAX - 1)), "caps_permitted",
                         (json_int_t)(s->caps_permitted & (IPC_CAPS_MAX - 1)), "dumpable", s->dumpable);
}

int ipc_init_ok_unpack(const json_t *body, sandbox_status *ret) {
        int abi, landlock, seccomp, dumpable;
        json_int_t uid, gid, eff, perm;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:{s:i s:b s:b s:I s:I s:I s:I s:b}}",
                           "sandbox", "landlock_abi", &abi, "landlock", &landlock, "seccomp", &seccomp,
                           "uid", &uid, "gid", &gid, "caps_effective", &eff, "caps_permitted", &perm,
                           "dumpable", &dumpable) < 0 ||
            abi < 0 || abi > 1000 || uid < 0 || uid > (json_int_t)UINT32_MAX || gid < 0 ||
            gid > (json_int_t)UINT32_MAX || eff < 0 || eff >= IPC_CAPS_MAX || perm < 0 ||
            perm >= IPC_CAPS_MAX)
                return -EBADMSG;
        *ret = (sandbox_status){.landlock_abi = abi,
                                .landlock = landlock,
                                .seccomp = seccomp,
                                .uid = (uid_t)uid,
                                .gid = (gid_t)gid,
                                .caps_effective = (uint64_t)eff,
                                .caps_permitted = (uint64_t)perm,
                                .dumpable = dumpable};
        return 0;
}

json_t *ipc_init_error_pack(int rc, const bw_error *err) {
        return json_pack("{si ss ss ss}", "rc", rc, "code", err->code, "field", err->field, "message",
                         err->message);
}

/* An rc read as a JSON integer: checked at its full width, so that no value
 * outside [min, 0] wraps into range when narrowed to int. */
static bool ipc_rc_ok(json_int_t rc, json_int_t min) {
        return rc <= 0 && rc >= min;
}

int ipc_init_error_unpack(const json_t *body, int *ret_rc, bw_error *ret_err) {
        json_int_t rc;
        const char *code, *field, *message;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:I s:s s:s s:s}", "rc", &rc, "code", &code,
                           "field", &field, "message", &message) < 0 ||
            rc == 0 || !ipc_rc_ok(rc, -IPC_ERRNO_MAX))
                return -EBADMSG;
        bw_error_set(ret_err, code, field, "%s", message);
        *ret_rc = (int)rc;
        return 0;
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

static int ipc_action_json(const connector_action *a, json_t **ret) {
        if ((unsigned)a->kind >= _TARGET_KIND_MAX || !ipc_str_ok(a->verb) ||
            !ipc_str_ok(a->idempotency_key) || !json_is_object(a->params) || (a->n_targets && !a->targets))
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
        json_t *action =
                json_pack("{sI ss ss so sO ss sO?}", "id", (json_int_t)a->action_id, "verb", a->verb, "kind",
                          target_kind_name(a->kind), "targets", targets, "params", a->params,
                          "idempotency_key", a->idempotency_key, "snapshot", a->snapshot);
        if (!action)
                return -ENOMEM;
        *ret = action;
        return 0;
}

int ipc_request_pack(connector_op op, const connector_action *a, json_t **ret) {
        json_t *action;
        int r = (unsigned)op < _CONNECTOR_OP_MAX ? ipc_action_json(a, &action) : -EINVAL;
        if (r < 0)
                return r;
        json_t *body = json_pack("{ss so}", "op", connector_op_name(op), "action", action);
        if (!body)
                return -ENOMEM;
        *ret = body;
        return 0;
}

int ipc_batch_pack(connector_op op, const connector_action *actions, size_t n, json_t **ret) {
        if ((unsigned)op >= _CONNECTOR_OP_MAX || n == 0 || n > BW_CONNECTOR_BATCH_MAX)
                return -EINVAL;
        json_t *list = json_array();
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_t *action;
                int r = ipc_action_json(&actions[i], &action);
                if (r == 0 && json_array_append_new(list, action) < 0)
                        r = -ENOMEM;
                if (r < 0) {
                        json_decref(list);
                        return r;
                }
        }
        json_t *body = json_pack("{ss so}", "op", connector_op_name(op), "actions", list);
        if (!body)
                return -ENOMEM;
        *ret = body;
        return 0;
}

/* One action object of a request; ret->action points into it (kept alive by
 * ret->body). */
static int ipc_action_unpack(connector_op op, const json_t *obj, ipc_request *ret) {
        const char *verb, *kind_name, *key;
        json_int_t id;
        json_t *targets, *params, *snapshot = NULL;
        if (json_unpack_ex((json_t *)obj, NULL, JSON_STRICT, "{s:I s:s s:s s:o s:o s:s s?o}", "id", &id,
                           "verb", &verb, "kind", &kind_name, "targets", &targets, "params", &params,
                           "idempotency_key", &key, "snapshot", &snapshot) < 0 ||
            !json_is_array(targets) || !json_is_object(params))
                return -EBADMSG;
        ipc_request r = {.op = op};
        if (target_kind_from_name(kind_name, &r.action.kind) < 0)
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
        r.body = json_incref((json_t *)obj);
        r.action.action_id = id;
        r.action.verb = verb;
        r.action.targets = r.targets;
        r.action.params = params;
        r.action.idempotency_key = key;
        r.action.snapshot = json_is_null(snapshot) ? NULL : snapshot;
        *ret = r;
        return 0;
}

int ipc_request_unpack(const json_t *body, ipc_request *ret) {
        const char *op_name;
        json_t *action;
        connector_op op;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:s s:o}", "op", &op_name, "action",
                           &action) < 0 ||
            ipc_op_from_name(op_name, &op) < 0)
                return -EBADMSG;
        return ipc_action_unpack(op, action, ret);
}

int ipc_batch_unpack(const json_t *body, ipc_batch *ret) {
        const char *op_name;
        json_t *list;
        connector_op op;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:s s:o}", "op", &op_name, "actions",
                           &list) < 0 ||
            ipc_op_from_name(op_name, &op) < 0 || !json_is_array(list) || json_array_size(list) == 0 ||
            json_array_size(list) > BW_CONNECTOR_BATCH_MAX)
                return -EBADMSG;
        ipc_batch b = {.op = op, .items = calloc(json_array_size(list), sizeof(ipc_request))};
        if (!b.items)
                return -ENOMEM;
        for (size_t i = 0; i < json_array_size(list); i++) {
                int r = ipc_action_unpack(op, json_array_get(list, i), &b.items[i]);
                if (r < 0) {
                        ipc_batch_clear(&b);
                        return r;
                }
                b.n = i + 1;
        }
        *ret = b;
        return 0;
}

void ipc_batch_clear(ipc_batch *b) {
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++)
                ipc_request_clear(&b->items[i]);
        free(b->items);
        *b = (ipc_batch){0};
}

bool ipc_is_batch(const json_t *body) {
        return json_object_get(body, "actions") != NULL;
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

json_t *ipc_batch_reply_pack(const int *rcs, const connector_result *results, size_t n) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++)
                if (json_array_append_new(list, ipc_reply_pack(rcs[i], &results[i])) < 0) {
                        json_decref(list);
                        return NULL;
                }
        return list ? json_pack("{si so}", "rc", 0, "results", list) : NULL;
}

int ipc_batch_reply_unpack(const json_t *body, size_t n, int *ret_rc, int *ret_rcs,
                           connector_result *ret_results) {
        json_int_t rc;
        json_t *list = NULL;
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:I s?o}", "rc", &rc, "results", &list) <
                    0 ||
            !ipc_rc_ok(rc, -IPC_ERRNO_MAX) ||
            (rc == 0 && (!json_is_array(list) || json_array_size(list) != n)))
                return -EBADMSG;
        if (rc < 0) {
                *ret_rc = (int)rc;
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                int r = ipc_reply_unpack(json_array_get(list, i), &ret_rcs[i], &ret_results[i]);
                if (r < 0) {
                        for (size_t k = 0; k < i; k++)
                                connector_result_clear(&ret_results[k]);
                        return r;
                }
        }
        *ret_rc = 0;
        return 0;
}

int ipc_reply_unpack(const json_t *body, int *ret_rc, connector_result *ret_result) {
        json_int_t rc;
        int ok;
        const char *detail;
        size_t detail_len;
        json_t *data = NULL;
        /* The worker keeps its detail within the result's size (kind_result): a
         * longer one is not cut here, where it could split a character. */
        connector_result res = {0};
        if (json_unpack_ex((json_t *)body, NULL, JSON_STRICT, "{s:I s:b s:s% s?o}", "rc", &rc, "ok", &ok,
                           "detail", &detail, &detail_len, "data", &data) < 0 ||
            !ipc_rc_ok(rc, -IPC_ERRNO_MAX) || detail_len >= sizeof(res.detail) ||
            strlen(detail) != detail_len)
                return -EBADMSG;
        res.ok = ok;
        res.data = json_incref(data);
        memcpy(res.detail, detail, detail_len + 1);
        *ret_rc = (int)rc;
        *ret_result = res;
        return 0;
}
