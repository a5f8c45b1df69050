/* SPDX-License-Identifier: Apache-2.0 */
/* Running a test's attempt in a child confined by a profile, for the unit
 * tests of the sandbox and of the processes that use it. Include after
 * cmocka.h and sandbox/sandbox.h. Test code only. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
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

/* Attempts a confined child makes (child_fn), shared by the processes' tests. */

/* EACCES when the open is refused, 0 when it worked. */
static inline int open_errno(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                return 0;
        }
        return errno;
}

static inline int try_shadow(void *arg) {
        return open_errno("/etc/shadow");
}

static inline int try_passwd(void *arg) {
        return open_errno("/etc/passwd"); /* world-readable: Landlock alone refuses it */
}

static inline int try_ptrace(void *arg) {
        ptrace(PTRACE_ATTACH, getppid(), NULL, NULL);
        return 0;
}

static inline int try_socket(void *arg) {
        socket(AF_INET, SOCK_STREAM, 0);
        return 0;
}

/* A process of its own (it would outlive a kill of its parent's group). */
static inline int try_fork(void *arg) {
        pid_t pid = fork();
        if (pid == 0)
                _exit(0);
        return pid > 0 ? 0 : 1;
}

static inline void *thread_main(void *arg) {
        return arg;
}

/* A thread, as the HTTP server and core's workers start them. */
static inline int try_thread(void *arg) {
        pthread_t t;
        void *got = NULL;
        if (pthread_create(&t, NULL, thread_main, (void *)1) != 0 || pthread_join(t, &got) != 0)
                return 1;
        return got == (void *)1 ? 0 : 2;
}
