/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the connector IPC bodies (connectors/ipc.c): requests as
 * the worker decodes them, replies and init errors as the daemon decodes them
 * from the less trusted worker; inputs are hostile. Invariants: every unpack
 * returns 0, -EBADMSG or -ENOMEM; what it accepts is exactly what is on the wire
 * (rc values included, within [-4095, 0]) and packs again to the same value; a
 * body is a request or a batch, never both; reply details are UTF-8. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/ipc.h"
#include "core/limits.h"
#include "fuzz_common.h"
#include "util/strutil.h"

/* ipc_reply_unpack's and ipc_init_error_unpack's range, which ipc.c keeps private. */
#define FUZZ_IPC_ERRNO_MAX 4095
/* ipc_batch_reply_unpack is run with n = 1 .. this. */
#define FUZZ_IPC_BATCH_N 3

static void fuzz_ipc_check_unpack(int r, const char *what) {
        fuzz_check(r == 0 || r == -EBADMSG || r == -ENOMEM, what);
}

static bool fuzz_ipc_same_json(const json_t *a, const json_t *b) {
        return (!a && !b) || json_equal(a, b);
}

/* The rc on the wire, exactly: an int that only matches after a cast is garbage. */
static bool fuzz_ipc_wire_rc(const json_t *wire, int rc) {
        const json_t *v = json_object_get(wire, "rc");
        return json_is_integer(v) && json_integer_value(v) == rc;
}

/* got is the wire text or, if that did not fit a buffer of size bytes, a prefix
 * at most one UTF-8 character (4 bytes) short of filling it. */
static bool fuzz_ipc_same_text(const char *got, size_t size, const char *wire) {
        size_t n = strlen(got), w = strlen(wire);
        return (n == w || (n < w && n + 4 >= size)) && memcmp(got, wire, n) == 0;
}

static void fuzz_ipc_check_action(const connector_action *a, const json_t *wire) {
        const json_t *targets = json_object_get(wire, "targets");
        const json_t *snapshot = json_object_get(wire, "snapshot");
        fuzz_check((unsigned)a->kind < _TARGET_KIND_MAX &&
                           strcmp(target_kind_name(a->kind),
                                  json_string_value(json_object_get(wire, "kind"))) == 0,
                   "the action's kind is the one on the wire");
        fuzz_check(a->action_id == json_integer_value(json_object_get(wire, "id")) &&
                           strcmp(a->verb, json_string_value(json_object_get(wire, "verb"))) == 0 &&
                           strcmp(a->idempotency_key,
                                  json_string_value(json_object_get(wire, "idempotency_key"))) == 0,
                   "the action's id, verb and key are the ones on the wire");
        fuzz_check(a->params == json_object_get(wire, "params") && json_is_object(a->params),
                   "the action's params are the wire object");
        fuzz_check(a->snapshot == (json_is_null(snapshot) ? NULL : snapshot),
                   "the action's snapshot is the wire value, NULL for none");
        fuzz_check(a->n_targets == json_array_size(targets) && (a->n_targets == 0 || a->targets),
                   "the action has every target on the wire");
        for (size_t i = 0; i < a->n_targets; i++)
                fuzz_check(strcmp(a->targets[i], json_string_value(json_array_get(targets, i))) == 0,
                           "each target is the one on the wire");
}

static void fuzz_ipc_same_action(const connector_action *a, const connector_action *b) {
        bool same = a->action_id == b->action_id && strcmp(a->verb, b->verb) == 0 && a->kind == b->kind &&
                    a->n_targets == b->n_targets && json_equal(a->params, b->params) &&
                    strcmp(a->idempotency_key, b->idempotency_key) == 0 &&
                    fuzz_ipc_same_json(a->snapshot, b->snapshot);
        for (size_t i = 0; same && i < a->n_targets; i++)
                same = strcmp(a->targets[i], b->targets[i]) == 0;
        fuzz_check(same, "a re-packed action unpacks to the same action");
}

static void fuzz_ipc_request(const json_t *body) {
        ipc_request req;
        int r = ipc_request_unpack(body, &req);
        fuzz_ipc_check_unpack(r, "ipc_request_unpack returns 0, -EBADMSG or -ENOMEM");
        if (r < 0)
                return;
        /* The worker tells the two apart with ipc_is_batch before unpacking. */
        fuzz_check(!ipc_is_batch(body), "a request is not taken for a batch");
        fuzz_check((unsigned)req.op < _CONNECTOR_OP_MAX, "a known op");
        fuzz_ipc_check_action(&req.action, json_object_get(body, "action"));
        json_t *again = NULL;
        fuzz_check(ipc_request_pack(req.op, &req.action, &again) == 0, "a decoded request packs again");
        ipc_request req2;
        fuzz_check(ipc_request_unpack(again, &req2) == 0 && req2.op == req.op,
                   "a re-packed request unpacks");
        fuzz_ipc_same_action(&req.action, &req2.action);
        ipc_request_clear(&req2);
        json_decref(again);
        ipc_request_clear(&req);
}

static void fuzz_ipc_batch(const json_t *body) {
        ipc_batch b;
        int r = ipc_batch_unpack(body, &b);
        fuzz_ipc_check_unpack(r, "ipc_batch_unpack returns 0, -EBADMSG or -ENOMEM");
        if (r < 0)
                return;
        fuzz_check(ipc_is_batch(body), "a batch is recognised as one");
        fuzz_check((unsigned)b.op < _CONNECTOR_OP_MAX && b.n >= 1 && b.n <= BW_CONNECTOR_BATCH_MAX,
                   "a known op and 1..BW_CONNECTOR_BATCH_MAX actions");
        const json_t *list = json_object_get(body, "actions");
        connector_action *actions = calloc(b.n, sizeof(*actions));
        fuzz_check(actions != NULL, "calloc");
        for (size_t i = 0; i < b.n; i++) {
                fuzz_check(b.items[i].op == b.op, "every action has the batch's op");
                fuzz_ipc_check_action(&b.items[i].action, json_array_get(list, i));
                actions[i] = b.items[i].action;
        }
        json_t *again = NULL;
        fuzz_check(ipc_batch_pack(b.op, actions, b.n, &again) == 0, "a decoded batch packs again");
        ipc_batch b2;
        fuzz_check(ipc_batch_unpack(again, &b2) == 0 && b2.op == b.op && b2.n == b.n,
                   "a re-packed batch unpacks");
        for (size_t i = 0; i < b.n; i++)
                fuzz_ipc_same_action(&b.items[i].action, &b2.items[i].action);
        ipc_batch_clear(&b2);
        json_decref(again);
        free(actions);
        ipc_batch_clear(&b);
}

static void fuzz_ipc_check_result(int rc, const connector_result *res, const json_t *wire) {
        const json_t *data = json_object_get(wire, "data");
        fuzz_check(rc <= 0 && rc >= -FUZZ_IPC_ERRNO_MAX && fuzz_ipc_wire_rc(wire, rc),
                   "a reply's rc is the one on the wire, within [-4095, 0]");
        fuzz_check(res->ok == json_is_true(json_object_get(wire, "ok")),
                   "a reply's ok is the one on the wire");
        fuzz_check(fuzz_ipc_same_text(res->detail, sizeof(res->detail),
                                      json_string_value(json_object_get(wire, "detail"))),
                   "a reply's detail is the one on the wire, or its prefix");
        /* The daemon stores the detail with the action, and the store refuses
         * text that is not UTF-8: the outcome of a change would be lost. */
        fuzz_check(utf8_valid(res->detail, strlen(res->detail)), "a reply's detail is UTF-8");
        fuzz_check(res->data == data, "a reply's data is the wire value, NULL for none");
}

static bool fuzz_ipc_same_result(int rc_a, const connector_result *a, int rc_b, const connector_result *b) {
        return rc_a == rc_b && a->ok == b->ok && strcmp(a->detail, b->detail) == 0 &&
               fuzz_ipc_same_json(a->data, b->data);
}

static void fuzz_ipc_reply(const json_t *body) {
        int rc;
        connector_result res;
        int r = ipc_reply_unpack(body, &rc, &res);
        fuzz_ipc_check_unpack(r, "ipc_reply_unpack returns 0, -EBADMSG or -ENOMEM");
        if (r < 0)
                return;
        fuzz_ipc_check_result(rc, &res, body);
        json_t *again = ipc_reply_pack(rc, &res);
        fuzz_check(again != NULL, "a decoded reply packs again");
        int rc2;
        connector_result res2;
        fuzz_check(ipc_reply_unpack(again, &rc2, &res2) == 0 && fuzz_ipc_same_result(rc, &res, rc2, &res2),
                   "a re-packed reply unpacks to the same reply");
        connector_result_clear(&res2);
        json_decref(again);
        connector_result_clear(&res);
}

/* Returns true if the body decoded as a successful batch of n results. */
static bool fuzz_ipc_batch_reply(const json_t *body, size_t n) {
        int rc, rcs[FUZZ_IPC_BATCH_N];
        connector_result res[FUZZ_IPC_BATCH_N] = {0};
        int r = ipc_batch_reply_unpack(body, n, &rc, rcs, res);
        fuzz_ipc_check_unpack(r, "ipc_batch_reply_unpack returns 0, -EBADMSG or -ENOMEM");
        if (r < 0)
                return false;
        fuzz_check(rc <= 0 && rc >= -FUZZ_IPC_ERRNO_MAX && fuzz_ipc_wire_rc(body, rc),
                   "a batch reply's rc is the one on the wire, within [-4095, 0]");
        /* A batch that could not run has no results: only rc == 0 fills (and
         * hands over) any, so nothing is cleared here otherwise and a leak shows. */
        if (rc < 0)
                return false;
        const json_t *list = json_object_get(body, "results");
        fuzz_check(json_array_size(list) == n, "a batch reply has exactly n results");
        for (size_t i = 0; i < n; i++)
                fuzz_ipc_check_result(rcs[i], &res[i], json_array_get(list, i));
        json_t *again = ipc_batch_reply_pack(rcs, res, n);
        fuzz_check(again != NULL, "a decoded batch reply packs again");
        int rc2, rcs2[FUZZ_IPC_BATCH_N];
        connector_result res2[FUZZ_IPC_BATCH_N] = {0};
        fuzz_check(ipc_batch_reply_unpack(again, n, &rc2, rcs2, res2) == 0 && rc2 == 0,
                   "a re-packed batch reply unpacks");
        for (size_t i = 0; i < n; i++) {
                fuzz_check(fuzz_ipc_same_result(rcs[i], &res[i], rcs2[i], &res2[i]),
                           "a re-packed batch reply unpacks to the same results");
                connector_result_clear(&res2[i]);
                connector_result_clear(&res[i]);
        }
        json_decref(again);
        return true;
}

static void fuzz_ipc_init(const json_t *body) {
        ipc_init in;
        int r = ipc_init_unpack(body, &in);
        fuzz_ipc_check_unpack(r, "ipc_init_unpack returns 0, -EBADMSG or -ENOMEM");
        if (r < 0)
                return;
        fuzz_check(in.name == json_string_value(json_object_get(body, "name")) &&
                           in.kind == json_string_value(json_object_get(body, "kind")) &&
                           in.settings == json_object_get(body, "settings") && json_is_object(in.settings),
                   "an init's name, kind and settings are the wire values");
        fuzz_check(in.uid >= 1 && in.uid <= BW_WORKER_UID_MAX, "an init's uid is never 0 and in range");
        json_t *again = ipc_init_pack(&in);
        fuzz_check(again != NULL, "a decoded init packs again");
        ipc_init in2;
        fuzz_check(ipc_init_unpack(again, &in2) == 0 && strcmp(in.name, in2.name) == 0 &&
                           strcmp(in.kind, in2.kind) == 0 && json_equal(in.settings, in2.settings) &&
                           in.uid == in2.uid && in.confine == in2.confine,
                   "a re-packed init unpacks to the same init");
        json_decref(again);
}

/* The confinement a worker reports: in range, and it packs to the same. */
static void fuzz_ipc_init_ok(const json_t *body) {
        sandbox_status st;
        int r = ipc_init_ok_unpack(body, &st);
        fuzz_ipc_check_unpack(r, "ipc_init_ok_unpack returns 0, -EBADMSG or -ENOMEM");
        if (r < 0)
                return;
        json_t *again = ipc_init_ok_pack(&st);
        fuzz_check(again && json_equal(again, body), "a decoded init_ok packs to the wire value");
        json_decref(again);
}

/* Not re-packed: bw_error keeps a byte prefix of a long text, as it does for
 * every parser, and that prefix may end inside a character. */
static void fuzz_ipc_init_error(const json_t *body) {
        int rc;
        bw_error err = {0};
        int r = ipc_init_error_unpack(body, &rc, &err);
        fuzz_ipc_check_unpack(r, "ipc_init_error_unpack returns 0, -EBADMSG or -ENOMEM");
        if (r < 0)
                return;
        fuzz_check(rc < 0 && rc >= -FUZZ_IPC_ERRNO_MAX && fuzz_ipc_wire_rc(body, rc),
                   "an init error's rc is the one on the wire, within [-4095, -1]");
        fuzz_check(fuzz_ipc_same_text(err.code, sizeof(err.code),
                                      json_string_value(json_object_get(body, "code"))) &&
                           fuzz_ipc_same_text(err.field, sizeof(err.field),
                                              json_string_value(json_object_get(body, "field"))) &&
                           fuzz_ipc_same_text(err.message, sizeof(err.message),
                                              json_string_value(json_object_get(body, "message"))),
                   "an init error's texts are the wire texts, or their prefixes");
        fuzz_check(err.file[0] == '\0' && err.line == 0 && err.col == 0, "an init error names no file");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* What ipc_recv hands over: at most one packet's body, a JSON object
         * without duplicate keys. */
        if (size > BW_IPC_MSG_MAX - sizeof(ipc_header))
                return 0;
        json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(body)) {
                json_decref(body);
                return 0;
        }
        fuzz_ipc_request(body);
        fuzz_ipc_batch(body);
        size_t batches = 0;
        for (size_t n = 1; n <= FUZZ_IPC_BATCH_N; n++)
                batches += fuzz_ipc_batch_reply(body, n);
        fuzz_check(batches <= 1, "a batch reply decodes for one n only");
        fuzz_ipc_reply(body);
        fuzz_ipc_init(body);
        fuzz_ipc_init_error(body);
        fuzz_ipc_init_ok(body);
        json_decref(body);
        return 0;
}
