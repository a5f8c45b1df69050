/* SPDX-License-Identifier: Apache-2.0 */
/* Running a test's attempt in a child confined by a profile, for the unit
 * tests of the sandbox and of the processes that use it. Include after
 * cmocka.h and sandbox/sandbox.h. Test code only. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*child_fn)(void *arg);

/* Runs fn in a child confined by p; returns its wait status. The child exits
 * 100 when sandbox_apply failed, else fn's result. */
static int confined(const sandbox_profile *p, child_fn fn, void *arg) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                sandbox_status st;
                if (sandbox_apply(p, &st) < 0)
                        _exit(100);
                _exit(fn(arg));
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

static void assert_exit(int status, int code) {
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), code);
}

static void assert_sigsys(int status) {
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGSYS);
}

static bool sanitized(void) {
#if defined(__SANITIZE_ADDRESS__)
        return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
        return true;
#endif
#endif
        return false;
}

/* The sanitizers' runtime makes calls no allow-list has. */
static void skip_unless_confinable(void) {
        if (sanitized())
                skip();
}
