/* SPDX-License-Identifier: Apache-2.0 */
/* core's confinement (core_sandbox_profile, applied in a child as core_main
 * applies it): the store works beneath its directory, and what an attacker
 * who owned core would try next fails — the file system beyond it, root's
 * file permissions without CAP_DAC_OVERRIDE, a socket, a new process, a
 * signal to another process, ptrace. Each check fails if the confinement is
 * removed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/confine.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

#include "../confine_test.h"

static char dir[] = "/tmp/bw-core-confine-XXXXXX";
static char store_path[PATH_MAX], locked[PATH_MAX];

static int setup(void **state) {
        assert_non_null(mkdtemp(dir));
        snprintf(store_path, sizeof(store_path), "%s/bulwark.db", dir);
        /* A root file nobody may read: only CAP_DAC_OVERRIDE would open it. */
        snprintf(locked, sizeof(locked), "%s/locked", dir);
        int fd = open(locked, O_CREAT | O_WRONLY | O_CLOEXEC, 0000);
        assert_true(fd >= 0);
        close(fd);
        return 0;
}

static int teardown(void **state) {
        const char *suffixes[] = {"", "-wal", "-shm", ".lock"};
        for (size_t i = 0; i < 4; i++) {
                char p[PATH_MAX + 8];
                snprintf(p, sizeof(p), "%s%s", store_path, suffixes[i]);
                unlink(p);
        }
        unlink(locked);
        rmdir(dir);
        return 0;
}

static int as_core(child_fn fn) {
        sandbox_profile p;
        char store_dir[PATH_MAX];
        assert_int_equal(core_sandbox_profile(store_path, store_dir, sizeof(store_dir), &p), 0);
        assert_string_equal(store_dir, dir);
        return confined(&p, fn, NULL);
}

/* The store, as core uses it: created, written durably, closed. */
static int try_store(void *arg) {
        store_options o = {.path = store_path, .queue_capacity = 16};
        store *s = NULL;
        int r = store_open(&o, &s);
        if (r < 0)
                return 1;
        r = store_ping(s);
        store_close(s);
        return r < 0 ? 2 : 0;
}

static int try_locked(void *arg) {
        return open_errno(locked); /* root's, mode 0: needs CAP_DAC_OVERRIDE */
}

static int try_bounding(void *arg) {
        return prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) == 0 &&
                               prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0
                       ? 0
                       : 1;
}

static int try_socketpair(void *arg) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        return 0;
}

static int try_kill(void *arg) {
        kill(getppid(), 0);
        return 0;
}

static int try_exec(void *arg) {
        char *const argv[] = {(char *)"/bin/true", NULL};
        execve(argv[0], argv, argv + 1);
        return 0;
}

static void test_core_keeps_its_store_and_nothing_else(void **state) {
        skip_unless_confinable();
        assert_exit(as_core(try_store), 0);
        assert_exit(as_core(try_thread), 0);
        assert_exit(as_core(try_locked), EACCES);
        assert_exit(as_core(try_bounding), 0);
        if (sandbox_landlock_abi() > 0) {
                assert_exit(as_core(try_shadow), EACCES);
                assert_exit(as_core(try_passwd), EACCES);
        }
        assert_sigsys(as_core(try_socket));
        assert_sigsys(as_core(try_socketpair));
        assert_sigsys(as_core(try_kill));
        assert_sigsys(as_core(try_fork));
        assert_sigsys(as_core(try_exec));
        assert_sigsys(as_core(try_ptrace));
}

/* Without the confinement the same attempts work (the test can fail). */
static void test_unconfined_the_same_attempts_work(void **state) {
        assert_int_equal(try_locked(NULL), 0);
        assert_int_equal(try_passwd(NULL), 0);
        assert_int_equal(try_bounding(NULL), 1);
}

static void test_the_profile_needs_an_absolute_store_path(void **state) {
        sandbox_profile p;
        char d[16];
        assert_int_equal(core_sandbox_profile("bulwark.db", d, sizeof(d), &p), -EINVAL);
        assert_int_equal(core_sandbox_profile("/a/very/long/path/bulwark.db", d, sizeof(d), &p),
                         -ENAMETOOLONG);
        assert_int_equal(core_sandbox_profile("/bulwark.db", d, sizeof(d), &p), 0);
        assert_string_equal(d, "/");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_core_keeps_its_store_and_nothing_else),
                cmocka_unit_test(test_unconfined_the_same_attempts_work),
                cmocka_unit_test(test_the_profile_needs_an_absolute_store_path),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
