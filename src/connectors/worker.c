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

#include "connectors/connector.h"
#include "connectors/ipc.h"
#include "connectors/kind.h"
#include "connectors/pool.h"
#include "core/limits.h"
#include "util/log.h"
#include "util/strutil.h"

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

static int worker_init_reply(worker *w, int rc, const bw_error *err) {
        json_t *body = rc < 0 ? ipc_init_error_pack(rc, err) : json_object();
        if (!body)
                return -ENOMEM;
        int r = ipc_send(w->fd, rc < 0 ? IPC_INIT_ERROR : IPC_INIT_OK, 0, body);
        json_decref(body);
        return r;
}

/* Reads INIT and opens the connector. Returns 0 when serving can start, or a
 * negative errno (the daemon has been told why when it could be). */
static int worker_init(worker *w) {
        ipc_msg_type type;
        uint32_t seq;
        json_t *body = NULL;
        int r = ipc_recv(w->fd, &type, &seq, &body);
        if (r < 0)
                return r;
        const char *name, *kind;
        const json_t *settings;
        if (type != IPC_INIT || seq != 0 || ipc_init_unpack(body, &name, &kind, &settings) < 0) {
                json_decref(body);
                return -EBADMSG;
        }
        bw_error err = {0};
        int rc = 0;
        w->kind = connector_kind_find(kind);
        if (!w->kind)
                rc = bw_error_set(&err, "invalid", "kind", "unknown connector kind");
        else if (str_copy(w->name, sizeof(w->name), name) < 0)
                rc = bw_error_set(&err, "invalid", "name", "too long");
        if (rc == 0) {
                w->settings = json_incref((json_t *)settings);
                rc = w->kind->open(settings, &w->state, &err);
                if (rc < 0 && !err.code[0])
                        bw_error_set(&err, "open_failed", "", "%s", strerror(-rc));
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
        r = worker_init_reply(w, rc, &err);
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
        if (r == -EMSGSIZE && rc == 0 && b.op != CONNECTOR_OP_SNAPSHOT) {
                /* Too large once encoded. The outcomes must still reach the daemon
                 * (an APPLY may have changed the system): without the data, whose
                 * size is unbounded. A snapshot's data is its result: that, or a
                 * reply that still does not fit, is -EMSGSIZE (the op changed
                 * nothing) and the daemon runs the actions one by one. */
                for (size_t i = 0; i < b.n; i++) {
                        json_decref(res[i].data);
                        res[i].data = NULL;
                }
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
        if (r == -EMSGSIZE) {
                /* The data grew past one message once encoded (escaped program
                 * output can): the daemon gets an error, not a dead worker. */
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
