/* SPDX-License-Identifier: Apache-2.0 */
/* The parent, from core's side of the link (connectors/spawn.h): it starts
 * a worker and sends it its INIT itself, signals only the children it gave
 * core and only with SIGTERM or SIGKILL, starts one worker per integration at
 * most, and a malformed request ends core's link and every child. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connectors/ipc.h"
#include "connectors/spawn.h"
#include "core/limits.h"
#include "parent/parent.h"
#include "util/strutil.h"

static integration_config ints[1];
static parent_options opts;

static int setup(void **state) {
        str_copy(ints[0].name, sizeof(ints[0].name), "fw");
        str_copy(ints[0].kind, sizeof(ints[0].kind), "nft");
        ints[0].settings = json_pack("{ss}", "table", "parent_test");
        ints[0].uid = BW_WORKER_UID_BASE;
        opts = (parent_options){.ints = ints,
                                .n_ints = 1,
                                .exe = getenv("BW_TEST_WORKER"),
                                .confine = false,
                                .listen_fd = -1};
        assert_non_null(opts.exe);
        return 0;
}

static int teardown(void **state) {
        json_decref(ints[0].settings);
        return 0;
}

typedef struct server {
        pid_t pid;
        int fd;
        spawn_link *link;
} server;

static server server_start(void) {
        server s = {0};
        s.pid = parent_fork_server(&opts, &s.fd);
        assert_true(s.pid > 0);
        assert_int_equal(spawn_link_new(s.fd, &s.link), 0);
        return s;
}

static void server_end(server *s) {
        spawn_link_free(s->link);
        int status;
        assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The worker answers an INIT core never sent: the parent's. */
static void test_the_parent_starts_a_worker_and_sends_its_init(void **state) {
        server s = server_start();
        spawned w;
        assert_int_equal(spawn_worker(s.link, 0, &w), 0);
        assert_true(w.pid > 0 && w.fd >= 0 && w.pidfd >= 0 && w.id > 0);
        ipc_msg_type type;
        uint32_t seq;
        json_t *body = NULL;
        assert_int_equal(ipc_recv(w.fd, &type, &seq, &body), 0);
        assert_int_equal(type, IPC_INIT_OK);
        json_decref(body);
        /* One worker per integration: a second start while it runs is refused. */
        spawned again;
        assert_int_equal(spawn_worker(s.link, 0, &again), -EBUSY);
        assert_int_equal(spawned_wait(&w, 0), -ETIMEDOUT);
        assert_int_equal(spawn_signal(s.link, &w, SIGKILL, false), 0);
        assert_int_equal(spawned_wait(&w, 5000), 0);
        spawned_close(&w);
        server_end(&s);
}

static void test_the_parent_signals_only_its_children_and_only_to_stop_them(void **state) {
        server s = server_start();
        spawned w;
        assert_int_equal(spawn_worker(s.link, 0, &w), 0);
        spawned stranger = w;
        stranger.id = w.id + 100;
        assert_int_equal(spawn_signal(s.link, &stranger, SIGKILL, false), -ESRCH);
        assert_int_equal(spawn_signal(s.link, &w, SIGSTOP, false), -EINVAL);
        assert_int_equal(spawn_signal(s.link, &w, SIGKILL, true), -EINVAL); /* a worker has no group */
        assert_int_equal(spawned_wait(&w, 200), -ETIMEDOUT);                /* none of those reached it */
        /* Without a listening socket there is no api process to start. */
        spawned api;
        assert_int_equal(spawn_api(s.link, &api), -ENOTSUP);
        /* Once it ended and was reaped, its id names nothing. */
        assert_int_equal(spawn_signal(s.link, &w, SIGKILL, false), 0);
        assert_int_equal(spawned_wait(&w, 5000), 0);
        assert_int_equal(spawn_signal(s.link, &w, SIGKILL, false), -ESRCH);
        spawned_close(&w);
        server_end(&s);
}

/* A request the parent cannot take as it is: it ends core's link and ends
 * every child it started. */
static void assert_fatal(const void *msg, size_t len, bool with_fd) {
        server s = server_start();
        spawned w;
        assert_int_equal(spawn_worker(s.link, 0, &w), 0);
        int fds[1] = {w.fd};
        assert_int_equal(spawn_send(s.fd, msg, len, fds, with_fd ? 1 : 0), 0);
        spawn_reply a;
        size_t n_fds;
        assert_int_equal(spawn_recv(s.fd, &a, sizeof(a), NULL, 0, &n_fds), -ECONNRESET);
        assert_int_equal(spawned_wait(&w, 5000), 0); /* the worker was ended with it */
        spawned_close(&w);
        server_end(&s);
}

static void test_a_malformed_request_is_fatal_to_core(void **state) {
        spawn_request beyond = {.op = SPAWN_WORKER, .index = 1}; /* no integration 1 */
        assert_fatal(&beyond, sizeof(beyond), false);
        spawn_request unknown = {.op = 9};
        assert_fatal(&unknown, sizeof(unknown), false);
        spawn_request stray = {.op = SPAWN_API, .sig = SIGKILL}; /* a field the op has not */
        assert_fatal(&stray, sizeof(stray), false);
        assert_fatal("abc", 3, false); /* short */
        char longer[sizeof(spawn_request) + 4] = {0};
        assert_fatal(longer, sizeof(longer), false);
        spawn_request api = {.op = SPAWN_API};
        assert_fatal(&api, sizeof(api), true); /* a descriptor with it */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_the_parent_starts_a_worker_and_sends_its_init),
                cmocka_unit_test(test_the_parent_signals_only_its_children_and_only_to_stop_them),
                cmocka_unit_test(test_a_malformed_request_is_fatal_to_core),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
