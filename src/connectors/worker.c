/* SPDX-License-Identifier: Apache-2.0 */
/* The connector worker process: one per integration, a fresh exec of the daemon
 * binary that receives only its own integration's settings (INIT) and then
 * serves requests from the daemon on one socket. Requests come from the more
 * trusted daemon, but the actions in them derive from alerts and are untrusted;
 * the kinds check them. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connectors/confine.h"
#include "connectors/connector.h"
#include "connectors/ipc.h"
#include "connectors/kind.h"
#include "connectors/pool.h"
#include "core/limits.h"
#include "util/log.h"
#include "util/strutil.h"

/* Strings of a reply's data at most this long are not halved when it must be
 * cut to fit one message: the cut rounds end once only short ones are left. */
#define WORKER_CUT_MIN 64u

typedef struct worker {
        int fd;
        char name[BW_NAME_MAX + 1];
        const connector_kind *kind;
        json_t *settings;
        void *state;
} worker;

/* Confinement before the first message is read: die with the daemon, never gain
 * privileges through exec (the exec kind runs programs). */
static int worker_confine(int fd) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        /* The daemon made the socketpair. If it died before PDEATHSIG was armed, we
         * were re-parented and the signal will never come: leave now. */
        if (getppid() != cred.pid)
                return -ESRCH;
        /* A vanished peer must be an error return, not a signal; the daemon's
         * ignored SIGPIPE is inherited, but do not depend on it. */
        struct sigaction sa = {.sa_handler = SIG_IGN};
        if (sigaction(SIGPIPE, &sa, NULL) < 0)
                return -errno;
        return 0;
}

static int worker_init_reply(worker *w, int rc, const bw_error *err, const sandbox_status *st) {
        json_t *body = rc < 0 ? ipc_init_error_pack(rc, err) : ipc_init_ok_pack(st);
        if (!body)
                return -ENOMEM;
        int r = ipc_send(w->fd, rc < 0 ? IPC_INIT_ERROR : IPC_INIT_OK, 0, body);
        json_decref(body);
        return r;
}

/* Opened: confines the worker as its integration's uid (connectors/confine.c),
 * or, under --no-sandbox, reads what it runs with. */
static int worker_sandbox(worker *w, const ipc_init *in, sandbox_status *st, bw_error *err) {
        if (!in->confine) {
                sandbox_status_read(st);
                return 0;
        }
        int r = connector_confine(w->kind, w->state, w->settings, w->name, in->uid, st);
        if (r < 0) {
                bw_error_set(err, "sandbox_failed", "uid", "cannot confine the worker as uid %u: %s",
                             in->uid, strerror(-r));
                return r;
        }
        char line[256];
        sandbox_status_format(st, line, sizeof(line));
        /* Without Landlock the uid, the capabilities and seccomp still hold:
         * a warning, not a failure. */
        log_json(st->landlock ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "connectors", "worker.confined",
                 json_pack("{ss ss}", "integration", w->name, "sandbox", line));
        return 0;
}

/* Reads INIT, opens the connector and confines the worker. Returns 0 when
 * serving can start, or a negative errno (the daemon has been told why when it
 * could be). */
static int worker_init(worker *w) {
        ipc_msg_type type;
        uint32_t seq;
        json_t *body = NULL;
        int r = ipc_recv(w->fd, &type, &seq, &body);
        if (r < 0)
                return r;
        ipc_init in;
        if (type != IPC_INIT || seq != 0 || ipc_init_unpack(body, &in) < 0) {
                json_decref(body);
                return -EBADMSG;
        }
        bw_error err = {0};
        sandbox_status st = {0};
        int rc = 0;
        w->kind = connector_kind_find(in.kind);
        if (!w->kind)
                rc = bw_error_set(&err, "invalid", "kind", "unknown connector kind");
        else if (str_copy(w->name, sizeof(w->name), in.name) < 0)
                rc = bw_error_set(&err, "invalid", "name", "too long");
        if (rc == 0) {
                w->settings = json_incref((json_t *)in.settings);
                rc = w->kind->open(in.settings, &w->state, &err);
                if (rc < 0 && !err.code[0])
                        bw_error_set(&err, "open_failed", "", "%s", strerror(-rc));
                else if (rc == 0 && (rc = worker_sandbox(w, &in, &st, &err)) < 0) {
                        w->kind->close(w->state);
                        w->state = NULL;
                }
        }
        json_decref(body);
        if (rc < 0) {
                log_json(LOG_LEVEL_ERROR, "connectors", "worker.open_failed",
                         json_pack("{ss ss ss si}", "integration", w->name, "field", err.field, "msg",
                                   err.message, "errno", -rc));
                json_decref(w->settings);
                w->settings = NULL;
                w->kind = NULL;
        }
        r = worker_init_reply(w, rc, &err, &st);
        return rc < 0 ? rc : r;
}

static int worker_run(worker *w, const ipc_request *req, connector_result *res) {
        if (!connector_kind_has_op(w->kind, w->settings, req->op)) {
                kind_result(res, false, "%s does not support %s", w->name, connector_op_name(req->op));
                return -EOPNOTSUPP;
        }
        return w->kind->ops[req->op](w->state, &req->action, res);
}

static int worker_reply(worker *w, uint32_t seq, int rc, const connector_result *res) {
        json_t *reply = ipc_reply_pack(rc, res);
        int r = reply ? ipc_send(w->fd, IPC_REPLY, seq, reply) : -ENOMEM;
        json_decref(reply);
        return r;
}

/* Says in r that its reply was cut: "truncated": true in its data (when an
 * object) and a note at the end of its detail. */
static void worker_mark_truncated(connector_result *r) {
        static const char note[] = " (reply truncated to fit one message)";
        if (json_is_object(r->data))
                json_object_set_new(r->data, "truncated", json_true());
        if (strstr(r->detail, note))
                return;
        size_t room = sizeof(r->detail) - sizeof(note);
        size_t keep = utf8_cut(r->detail, strlen(r->detail), room);
        memcpy(r->detail + keep, note, sizeof(note));
}

/* Halves, at a character boundary, every string of v longer than
 * WORKER_CUT_MIN bytes. Returns how many it cut. */
static size_t worker_halve_strings(json_t *v) {
        size_t n = 0, i;
        const char *k;
        json_t *c;
        if (json_is_object(v)) {
                json_object_foreach(v, k, c) n += worker_halve_strings(c);
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, c) n += worker_halve_strings(c);
        } else if (json_is_string(v) && json_string_length(v) > WORKER_CUT_MIN) {
                size_t len = json_string_length(v);
                char *keep = strndup(json_string_value(v), utf8_cut(json_string_value(v), len, len / 2));
                if (keep && json_string_set(v, keep) == 0)
                        n++;
                free(keep);
        }
        return n;
}

/* A reply of an op that ran did not fit one message: make results[0..n)
 * smaller, so that their outcomes (rc, ok) still reach the daemon — an APPLY
 * may have changed the system. Each round halves the long strings of their
 * data (escaped program output grows up to sixfold in JSON); once none is left
 * to halve, the data goes. The results cut say so. Returns false when there
 * was nothing left to cut. */
static bool worker_cut(connector_result *res, size_t n) {
        bool cut = false;
        for (size_t i = 0; i < n; i++)
                if (res[i].data && worker_halve_strings(res[i].data) > 0) {
                        worker_mark_truncated(&res[i]);
                        cut = true;
                }
        for (size_t i = 0; !cut && i < n; i++)
                if (res[i].data) {
                        json_decref(res[i].data);
                        res[i].data = NULL;
                        worker_mark_truncated(&res[i]);
                        cut = true;
                }
        return cut;
}

/* A batch: one op for several actions, APPLY as one change when the kind can.
 * Returns 0 to continue, or a negative errno to end the worker. */
static int worker_serve_batch(worker *w, json_t *body, uint32_t seq) {
        ipc_batch b;
        int r = ipc_batch_unpack(body, &b);
        if (r < 0)
                return r;
        connector_result *res = calloc(b.n, sizeof(*res));
        int *rcs = calloc(b.n, sizeof(*rcs));
        connector_action *actions = calloc(b.n, sizeof(*actions));
        int rc = res && rcs && actions ? 0 : -ENOMEM;
        if (rc == 0 && !connector_kind_has_op(w->kind, w->settings, b.op))
                rc = -EOPNOTSUPP;
        if (rc == 0 && b.op == CONNECTOR_OP_APPLY && w->kind->apply_batch) {
                for (size_t i = 0; i < b.n; i++)
                        actions[i] = b.items[i].action;
                rc = w->kind->apply_batch(w->state, actions, b.n, res);
        } else {
                for (size_t i = 0; rc == 0 && i < b.n; i++)
                        rcs[i] = worker_run(w, &b.items[i], &res[i]);
        }
        if (rc > 0 || rc < -4095)
                rc = -EIO;
        for (size_t i = 0; rc == 0 && i < b.n; i++) {
                kind_utf8_scrub(res[i].detail, strlen(res[i].detail));
                if (rcs[i] > 0 || rcs[i] < -4095)
                        rcs[i] = -EIO;
        }
        json_t *reply = rc == 0 ? ipc_batch_reply_pack(rcs, res, b.n) : json_pack("{si}", "rc", rc);
        r = reply ? ipc_send(w->fd, IPC_REPLY, seq, reply) : -ENOMEM;
        json_decref(reply);
        /* Too large once encoded: the outcomes must still reach the daemon,
         * with their data cut. A snapshot's data is its result: that, or a
         * reply that still does not fit, is -EMSGSIZE (the op changed
         * nothing) and the daemon runs the actions one by one. */
        while (r == -EMSGSIZE && rc == 0 && b.op != CONNECTOR_OP_SNAPSHOT && worker_cut(res, b.n)) {
                reply = ipc_batch_reply_pack(rcs, res, b.n);
                r = reply ? ipc_send(w->fd, IPC_REPLY, seq, reply) : -ENOMEM;
                json_decref(reply);
        }
        if (r == -EMSGSIZE) {
                reply = json_pack("{si}", "rc", -EMSGSIZE);
                r = reply ? ipc_send(w->fd, IPC_REPLY, seq, reply) : -ENOMEM;
                json_decref(reply);
        }
        for (size_t i = 0; res && i < b.n; i++)
                connector_result_clear(&res[i]);
        free(res);
        free(rcs);
        free(actions);
        ipc_batch_clear(&b);
        return r;
}

/* One request. Returns 0 to continue, or a negative errno to end the worker. */
static int worker_serve_one(worker *w, json_t *body, uint32_t seq) {
        if (ipc_is_batch(body))
                return worker_serve_batch(w, body, seq);
        ipc_request req;
        int r = ipc_request_unpack(body, &req);
        if (r < 0)
                return r;
        connector_result res = {0};
        int rc = worker_run(w, &req, &res);
        kind_utf8_scrub(res.detail, strlen(res.detail));
        if (rc > 0 || rc < -4095)
                rc = -EIO; /* not an errno: a bug in the kind; keep the protocol valid */
        if (rc < 0)
                log_json(LOG_LEVEL_WARN, "connectors", "op.failed",
                         json_pack("{ss ss sI ss si}", "integration", w->name, "op",
                                   connector_op_name(req.op), "action_id", (json_int_t)req.action.action_id,
                                   "detail", res.detail, "errno", -rc));
        r = worker_reply(w, seq, rc, &res);
        /* The data grew past one message once encoded (escaped program output
         * can): the outcome is kept, the data cut to fit. */
        while (r == -EMSGSIZE && req.op != CONNECTOR_OP_SNAPSHOT && worker_cut(&res, 1))
                r = worker_reply(w, seq, rc, &res);
        if (r == -EMSGSIZE) {
                /* A snapshot is never cut (a partial state would make a wrong
                 * rollback): the daemon gets an error, not a dead worker. */
                connector_result_clear(&res);
                kind_result(&res, false, "reply larger than %u bytes", BW_IPC_MSG_MAX);
                r = worker_reply(w, seq, -EMSGSIZE, &res);
        }
        connector_result_clear(&res);
        ipc_request_clear(&req);
        return r;
}

int connector_worker_main(int fd) {
        worker w = {.fd = fd};
        int r = worker_confine(fd);
        if (r < 0) {
                log_errno(r, "connectors", "worker.confine_failed", "cannot confine the worker");
                return 1;
        }
        r = worker_init(&w);
        if (r < 0)
                return 1;
        for (;;) {
                ipc_msg_type type;
                uint32_t seq;
                json_t *body;
                r = ipc_recv(fd, &type, &seq, &body);
                if (r == -ECONNRESET) {
                        r = 0; /* the daemon closed the socket: orderly stop */
                        break;
                }
                if (r < 0)
                        break;
                r = type == IPC_REQUEST ? worker_serve_one(&w, body, seq) : -EBADMSG;
                json_decref(body);
                if (r < 0)
                        break;
        }
        if (r < 0)
                log_errno(r, "connectors", "worker.protocol_error", "%s: leaving", w.name);
        w.kind->close(w.state);
        json_decref(w.settings);
        return r < 0 ? 1 : 0;
}
