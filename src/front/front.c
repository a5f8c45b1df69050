/* SPDX-License-Identifier: Apache-2.0 */
/* The api process's main: its confinement before it reads a byte — its own
 * uid, no capabilities, no file system, no new sockets, a seccomp
 * allow-list — then its INIT from core (what it needs to judge a request
 * before its body, nothing more), the HTTP server and the reader of core's
 * replies until SIGTERM or the end of the link. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connectors/ipc.h"
#include "front/front.h"
#include "sandbox/sandbox.h"
#include "util/log.h"

#define FRONT_LISTEN_FD 3
#define FRONT_LINK_FD 4

typedef struct front_init {
        unsigned alert_body_max, threads;
        api_identity identities[BW_ACTORS_MAX + 1];
        size_t n_identities;
} front_init;

/* The link from core, for its INIT and then its replies. */
static wire_reader link_in;

static int read_init(front_init *in) {
        buf payload;
        buf_init(&payload, BW_WIRE_PAYLOAD_MAX);
        wire_header h;
        json_t *v = NULL;
        int r = wire_read(&link_in, &h, &payload);
        if (r == 0 && h.type != WIRE_INIT)
                r = -EBADMSG;
        if (r == 0)
                r = wire_json_decode(payload.data, payload.len, &v);
        buf_free(&payload);
        if (r < 0)
                return r;
        json_int_t body_max, threads;
        json_t *ids;
        if (json_unpack_ex(v, NULL, JSON_STRICT, "{s:I s:I s:o}", "alert_body_max", &body_max, "threads",
                           &threads, "identities", &ids) < 0 ||
            body_max < BW_ALERT_BODY_MAX_FLOOR || body_max > BW_ALERT_BODY_MAX_CEILING || threads < 1 ||
            threads > 16 || identities_unpack(ids, in->identities, &in->n_identities) < 0) {
                json_decref(v);
                return -EBADMSG;
        }
        in->alert_body_max = (unsigned)body_max;
        in->threads = (unsigned)threads;
        json_decref(v);
        return 0;
}

void front_sandbox_profile(unsigned uid, sandbox_profile *ret) {
        *ret = (sandbox_profile){
                .role = "api",
                .change_ids = true,
                .uid = (uid_t)uid,
                .gid = (gid_t)uid,
                .no_tcp = true,
                .syscalls = SANDBOX_SYSCALLS_API,
                .max_files = BW_HTTP_MAX_CONNECTIONS + 64u,
                .max_procs = 32u,
        };
}

static int front_confine(sandbox_status *ret) {
        sandbox_profile p;
        front_sandbox_profile(BW_API_UID, &p);
        int r = sandbox_apply(&p, ret);
        if (r < 0)
                return r;
        char line[256];
        sandbox_status_format(ret, line, sizeof(line));
        log_json(ret->landlock ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "api", "api.confined",
                 json_pack("{ss}", "sandbox", line));
        return 0;
}

/* The thread that waits for SIGTERM (a thread-directed signal: kill(2) is
 * not in the api process's allow-list). */
static pthread_t main_thread;

static void *reply_reader(void *arg) {
        front *f = arg;
        buf payload;
        buf_init(&payload, BW_WIRE_PAYLOAD_MAX);
        int r;
        for (;;) {
                wire_header h;
                wire_reply w;
                r = wire_read(&link_in, &h, &payload);
                if (r == 0 && (h.type != WIRE_REPLY || wire_reply_decode(payload.data, payload.len, &w) < 0))
                        r = -EBADMSG;
                if (r == 0)
                        r = front_reply(f, h.seq, &w);
                if (r < 0)
                        break;
        }
        if (r != -ECONNRESET)
                log_errno(r, "api", "link.malformed", "core sent a malformed message");
        buf_free(&payload);
        /* core is gone or broken (or done, at shutdown): answer what waits,
         * and stop the process. */
        front_abandon(f);
        pthread_kill(main_thread, SIGTERM);
        return NULL;
}

int front_main(bool confine) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || sandbox_harden() < 0)
                return 1;
        struct sigaction ign = {.sa_handler = SIG_IGN};
        sigaction(SIGPIPE, &ign, NULL);
        sigset_t stop;
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        pthread_sigmask(SIG_BLOCK, &stop, NULL);
        /* Confined before it reads anything, core's INIT included; whether
         * it is confined is the parent's word (its command line), not core's. */
        sandbox_status st;
        int r = 0;
        if (!confine)
                sandbox_status_read(&st);
        else if ((r = front_confine(&st)) < 0) {
                log_errno(r, "api", "api.confine_failed", "cannot confine the api process as uid %u",
                          BW_API_UID);
                return 1;
        }
        front_init in = {0};
        wire_reader_init(&link_in, FRONT_LINK_FD);
        r = read_init(&in);
        if (r < 0) {
                log_errno(r, "api", "api.init_failed", "no valid INIT from core");
                return 1;
        }
        json_t *hello = ipc_init_ok_pack(&st);
        r = hello ? wire_json_send(FRONT_LINK_FD, WIRE_HELLO, hello) : -ENOMEM;
        json_decref(hello);
        if (r < 0)
                return 1;
        front_options o = {.listen_fd = FRONT_LISTEN_FD,
                           .link_fd = FRONT_LINK_FD,
                           .alert_body_max = in.alert_body_max,
                           .threads = in.threads,
                           .identities = in.identities,
                           .n_identities = in.n_identities};
        front *f = NULL;
        r = front_start(&o, &f);
        sodium_memzero(in.identities, sizeof(in.identities));
        if (r < 0) {
                log_errno(r, "api", "api.start_failed", "cannot serve HTTP");
                return 1;
        }
        pthread_t reader;
        main_thread = pthread_self();
        if (pthread_create(&reader, NULL, reply_reader, f) != 0) {
                front_drain(f);
                front_free(f);
                return 1;
        }
        int sig = 0;
        sigwait(&stop, &sig);
        /* Stop taking requests and let core answer what it has; then close the
         * link, so core knows nothing more comes, and wait for its end. */
        front_drain(f);
        shutdown(FRONT_LINK_FD, SHUT_WR);
        pthread_join(reader, NULL);
        front_free(f);
        return 0;
}
