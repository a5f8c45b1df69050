/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the connector pool with real worker processes (the test worker
 * executable runs connector_worker_main): calls reach the worker, a killed or
 * hung worker is replaced, a malformed reply is fatal to its worker, restarts
 * beyond their budget wait for a doubling backoff (half-open), each worker's memory holds only its own
 * settings, and batched calls need every action's permit, change nft in one transaction and answer one
 * result per action, in order. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn_test.h"
#include "connectors/pool.h"
#include "parent/parent.h"
#include "core/limits.h"
#include "util/strutil.h"

static const char *worker_exe;
static const char *bad_worker_exe;
static char *dir;

static int setup(void **state) {
        dir = test_tmpdir();
        return 0;
}

static int teardown(void **state) {
        test_tmpdir_remove(dir);
        return 0;
}

/* Each pool's parent (parent/parent.c), forked for it: it starts the workers
 * the pool asks for, sending each its INIT, and ends them when the pool's
 * link closes. */
typedef struct test_parent {
        connector_pool *pool;
        spawn_link *link;
        pid_t pid;
} test_parent;
static test_parent parents[4];

static pid_t parent_pid_of(connector_pool *p) {
        for (size_t i = 0; i < 4; i++)
                if (parents[i].pool == p)
                        return parents[i].pid;
        fail_msg("no parent for this pool");
        return 0;
}

static void parent_end(spawn_link *link, pid_t pid) {
        spawn_link_free(link);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int test_pool_start(const integration_config *ints, size_t n, const char *exe, pool_confinement c,
                           connector_pool **ret) {
        parent_options o = {
                .ints = ints, .n_ints = n, .exe = exe, .confine = c == POOL_CONFINED, .listen_fd = -1};
        int fd;
        pid_t pid = parent_fork_server(&o, &fd);
        assert_true(pid > 0);
        spawn_link *link = NULL;
        assert_int_equal(spawn_link_new(fd, &link), 0);
        int r = connector_pool_start(ints, n, link, c, ret);
        if (r < 0) {
                parent_end(link, pid);
                return r;
        }
        for (size_t i = 0; i < 4; i++)
                if (!parents[i].pool) {
                        parents[i] = (test_parent){*ret, link, pid};
                        return r;
                }
        fail_msg("more than 4 pools at once");
        return r;
}

static void test_pool_stop(connector_pool *p) {
        connector_pool_stop(p);
        for (size_t i = 0; p && i < 4; i++)
                if (parents[i].pool == p) {
                        parent_end(parents[i].link, parents[i].pid);
                        parents[i] = (test_parent){0};
                }
}

static integration_config integration(const char *name, const char *kind, const char *settings) {
        integration_config c = {.timeout_ms = 5000, .uid = BW_WORKER_UID_BASE};
        str_copy(c.name, sizeof(c.name), name);
        str_copy(c.kind, sizeof(c.kind), kind);
        c.settings = json_loads(settings, 0, NULL);
        assert_non_null(c.settings);
        return c;
}

static void integrations_free(integration_config *c, size_t n) {
        for (size_t i = 0; i < n; i++)
                json_decref(c[i].settings);
}

/* A /bin/sh script in the test directory (DIR is set for its body). */
static char *script(const char *name, const char *body) {
        char text[4096];
        snprintf(text, sizeof(text), "#!/bin/sh\nDIR='%s'\n%s", dir, body);
        return test_write_file(dir, name, text, 0755);
}

static json_t *status_of(connector_pool *p, const char *name) {
        json_t *all = connector_pool_status(p);
        json_t *one = json_incref(json_object_get(all, name));
        json_decref(all);
        assert_non_null(one);
        return one;
}

static pid_t pid_of(connector_pool *p, const char *name) {
        json_t *s = status_of(p, name);
        pid_t pid = (pid_t)json_integer_value(json_object_get(s, "pid"));
        json_decref(s);
        return pid;
}

static int restarts_of(connector_pool *p, const char *name) {
        json_t *s = status_of(p, name);
        int n = (int)json_integer_value(json_object_get(s, "restarts"));
        json_decref(s);
        return n;
}

/* The program that wrote its pid to $DIR/name has exited (it was killed). */
static void assert_program_exited(const char *name) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        char *pid = test_read_file(path);
        assert_non_null(pid);
        assert_true(test_number(pid) > 1);
        assert_true(test_wait_exit((pid_t)test_number(pid)));
        free(pid);
}

/* The worker of name (pid old before) was replaced once, and is up. */
static void assert_replaced(connector_pool *p, const char *name, pid_t old) {
        pid_t now = pid_of(p, name);
        assert_true(now > 0 && now != old);
        assert_int_equal(restarts_of(p, name), 1);
        assert_true(connector_pool_all_up(p));
}

/* The governor's permit for exactly this action on integration for op (these
 * tests stand in for engine/gate.c). */
static governor_permit permit_for(const char *integration, connector_op op, const connector_action *a) {
        permit_subject s = connector_permit_subject(
                integration, op == CONNECTOR_OP_ROLLBACK ? PERMIT_ROLLBACK : PERMIT_APPLY, a);
        governor_permit permit;
        assert_int_equal(governor_permit_mint(&s, &permit), 0);
        return permit;
}

static int call(connector_pool *p, const char *name, connector_op op, const char *verb, target_kind kind,
                const char *const *targets, unsigned timeout_ms, connector_result *res) {
        test_action *t = test_action_new(verb, kind, targets, NULL);
        *res = (connector_result){0};
        governor_permit permit = permit_for(name, op, &t->a);
        int r = connector_pool_call(p, name, op, &t->a, &permit, timeout_ms, res);
        test_action_free(t);
        return r;
}

static char *exec_settings(const char *program) {
        char *s = NULL;
        if (asprintf(&s, "{\"program\":\"%s\"}", program) < 0)
                abort();
        return s;
}

/* PPid from /proc/pid/status. */
static pid_t parent_of(pid_t pid) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        char *status = test_read_file(path);
        assert_non_null(status);
        char *p = strstr(status, "\nPPid:");
        assert_non_null(p);
        pid_t ppid = (pid_t)test_number(p + 6 + strspn(p + 6, " \t"));
        free(status);
        return ppid;
}

static void test_pool_runs_calls_in_worker_processes(void **state) {
        char *prog = script("echo", "echo \"ran $*\"\n");
        char *settings = exec_settings(prog);
        integration_config ints[2] = {
                integration("fw", "nft", "{\"table\":\"pool\"}"),
                integration("runner", "exec", settings),
        };
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(ints, 2, worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(ints, 2);
        assert_true(connector_pool_all_up(p));

        pid_t fw = pid_of(p, "fw"), runner = pid_of(p, "runner");
        assert_true(fw > 0 && runner > 0 && fw != runner && fw != getpid());
        assert_int_equal(parent_of(fw), parent_pid_of(p)); /* the parent's child, not core's */
        char path[64], cmdline[4096];
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)fw);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
        close(fd);
        assert_true(n > 0);
        cmdline[n] = '\0';
        assert_string_equal(cmdline, worker_exe);
        assert_string_equal(cmdline + strlen(cmdline) + 1, "--connector-worker");
        json_t *st = status_of(p, "fw");
        assert_string_equal(json_string_value(json_object_get(st, "kind")), "nft");
        assert_true(json_is_true(json_object_get(st, "up")));
        assert_int_equal(json_integer_value(json_object_get(st, "restarts")), 0);
        json_decref(st);

        connector_result res;
        const char *ip[] = {"192.0.2.1", NULL};
        assert_int_equal(call(p, "fw", CONNECTOR_OP_APPLY, "block", TARGET_IP, ip, 5000, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        json_t *set = test_nft_elements("inet", "pool", "blocklist_v4");
        assert_non_null(json_object_get(set, "192.0.2.1"));
        json_decref(set);

        /* The one gate: no permit, or another action's permit, and nothing is sent. */
        const char *other[] = {"192.0.2.2", NULL};
        test_action *t = test_action_new("block", TARGET_IP, other, NULL);
        test_action *u = test_action_new("block", TARGET_IP, ip, NULL);
        governor_permit wrong = permit_for("fw", CONNECTOR_OP_APPLY, &u->a);
        assert_int_equal(connector_pool_call(p, "fw", CONNECTOR_OP_APPLY, &t->a, NULL, 5000, &res), -EPERM);
        assert_int_equal(connector_pool_call(p, "fw", CONNECTOR_OP_APPLY, &t->a, &wrong, 5000, &res),
                         -EPERM);
        assert_int_equal(connector_pool_call(p, "fw", CONNECTOR_OP_ROLLBACK, &t->a, NULL, 5000, &res),
                         -EPERM);
        /* The permit covers the integration, the operation and the params too:
         * an apply permit is no rollback permit, a permit for another integration
         * or other params is refused. */
        governor_permit own = permit_for("fw", CONNECTOR_OP_APPLY, &t->a);
        assert_int_equal(connector_pool_call(p, "fw", CONNECTOR_OP_ROLLBACK, &t->a, &own, 5000, &res),
                         -EPERM);
        governor_permit elsewhere = permit_for("runner", CONNECTOR_OP_APPLY, &t->a);
        assert_int_equal(connector_pool_call(p, "fw", CONNECTOR_OP_APPLY, &t->a, &elsewhere, 5000, &res),
                         -EPERM);
        json_t *longer = json_pack("{si}", "timeout_s", 86400);
        const json_t *params = t->a.params;
        t->a.params = longer;
        assert_int_equal(connector_pool_call(p, "fw", CONNECTOR_OP_APPLY, &t->a, &own, 5000, &res), -EPERM);
        t->a.params = params;
        json_decref(longer);
        test_action_free(t);
        test_action_free(u);
        set = test_nft_elements("inet", "pool", "blocklist_v4");
        assert_null(json_object_get(set, "192.0.2.2"));
        json_decref(set);
        assert_int_equal(call(p, "fw", CONNECTOR_OP_SNAPSHOT, "block", TARGET_IP, ip, 5000, &res), 0);
        assert_true(json_is_true(json_object_get(
                json_object_get(json_object_get(res.data, "elements"), "192.0.2.1"), "present")));
        connector_result_clear(&res);
        const char *bad_ip[] = {"192.0.2.999", NULL};
        assert_int_equal(call(p, "fw", CONNECTOR_OP_VALIDATE, "block", TARGET_IP, bad_ip, 5000, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "targets[0]"));
        connector_result_clear(&res);

        const char *users[] = {"alice", NULL};
        assert_int_equal(call(p, "runner", CONNECTOR_OP_APPLY, "run", TARGET_ACCOUNT, users, 5000, &res), 0);
        assert_true(res.ok);
        assert_string_equal(json_string_value(json_object_get(res.data, "output")), "ran alice\n");
        connector_result_clear(&res);
        /* Errors of the kind cross the boundary as errors. */
        const char *opt[] = {"-x", NULL};
        assert_int_equal(call(p, "runner", CONNECTOR_OP_APPLY, "run", TARGET_ACCOUNT, opt, 5000, &res),
                         -EINVAL);
        assert_int_equal(call(p, "nobody", CONNECTOR_OP_APPLY, "run", TARGET_NONE, NULL, 5000, &res),
                         -ENOENT);
        assert_int_equal(call(p, "runner", CONNECTOR_OP_SNAPSHOT, "run", TARGET_NONE, NULL, 5000, &res),
                         -EOPNOTSUPP);
        assert_int_equal(call(p, "runner", CONNECTOR_OP_VERIFY, "run", TARGET_NONE, NULL, 5000, &res),
                         -EOPNOTSUPP);
        assert_int_equal(call(p, "runner", CONNECTOR_OP_APPLY, "run", TARGET_NONE, NULL, 0, &res), -EINVAL);

        /* An action too large for one message is refused; the worker is unharmed. */
        size_t count = 2000;
        char **big = calloc(count + 1, sizeof(char *));
        for (size_t i = 0; i < count; i++) {
                big[i] = malloc(201);
                memset(big[i], 'b', 200);
                big[i][200] = '\0';
        }
        assert_int_equal(call(p, "runner", CONNECTOR_OP_APPLY, "run", TARGET_STRING,
                              (const char *const *)big, 5000, &res),
                         -EMSGSIZE);
        for (size_t i = 0; i < count; i++)
                free(big[i]);
        free(big);
        assert_int_equal(pid_of(p, "runner"), runner);
        assert_int_equal(restarts_of(p, "runner"), 0);

        test_pool_stop(p);
        /* Stopped workers are reaped: not even a zombie is left. */
        assert_int_equal(kill(fw, 0), -1);
        assert_int_equal(errno, ESRCH);
        assert_int_equal(kill(runner, 0), -1);
        free(settings);
        free(prog);
}

static void test_pool_restarts_a_killed_worker(void **state) {
        char *prog = script("ok", "exit 0\n");
        char *settings = exec_settings(prog);
        integration_config c = integration("runner", "exec", settings);
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(&c, 1, worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(&c, 1);
        pid_t old = pid_of(p, "runner");
        assert_int_equal(kill(old, SIGKILL), 0);
        assert_true(test_wait_exit(old));
        connector_result res;
        assert_int_equal(call(p, "runner", CONNECTOR_OP_APPLY, "run", TARGET_NONE, NULL, 5000, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_replaced(p, "runner", old);
        test_pool_stop(p);
        free(settings);
        free(prog);
}

/* A pool with one exec integration "slow" whose program hangs (and records its
 * pid in $DIR/sleeper) when its first argument is "slow"; the connector kills it
 * after program_timeout_ms. */
static connector_pool *slow_pool(unsigned program_timeout_ms, char **ret_prog) {
        char *prog = script("maybe-slow",
                            "if [ \"$1\" = slow ]; then echo $$ > \"$DIR/sleeper\"; exec sleep 60; fi\n"
                            "echo fast\n");
        char settings[1024];
        snprintf(settings, sizeof(settings), "{\"program\":\"%s\",\"timeout_ms\":%u}", prog,
                 program_timeout_ms);
        integration_config c = integration("slow", "exec", settings);
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(&c, 1, worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(&c, 1);
        *ret_prog = prog;
        return p;
}

/* Calls "slow" with a 1000 ms timeout: it times out. Returns the pool and the
 * worker's pid before the call. */
static connector_pool *slow_call(unsigned program_timeout_ms, char **ret_prog, pid_t *ret_pid) {
        connector_pool *p = slow_pool(program_timeout_ms, ret_prog);
        *ret_pid = pid_of(p, "slow");
        connector_result res;
        const char *slow[] = {"slow", NULL};
        assert_int_equal(call(p, "slow", CONNECTOR_OP_APPLY, "run", TARGET_STRING, slow, 1000, &res),
                         -ETIMEDOUT);
        /* The program that hung is gone either way. */
        assert_program_exited("sleeper");
        return p;
}

/* After the slow call, a fast one works. */
static void assert_fast_call_works(connector_pool *p) {
        connector_result res;
        const char *fast[] = {"fast", NULL};
        assert_int_equal(call(p, "slow", CONNECTOR_OP_APPLY, "run", TARGET_STRING, fast, 5000, &res), 0);
        assert_true(res.ok);
        assert_string_equal(json_string_value(json_object_get(res.data, "output")), "fast\n");
        connector_result_clear(&res);
}

/* The program would run for 60 s: the worker is killed and replaced. */
static void test_pool_times_out_a_hung_worker(void **state) {
        char *prog;
        pid_t old;
        connector_pool *p = slow_call(60000, &prog, &old);
        assert_replaced(p, "slow", old);
        assert_fast_call_works(p);
        test_pool_stop(p);
        free(prog);
}

/* A call's timeout is the connector's own: the program's timeout (the same
 * 1000 ms) fires and is reported first, since the pool waits that long plus
 * BW_POOL_DEADLINE_MARGIN_MS. The worker is not killed; the program is. */
static void test_pool_deadline_leaves_the_connector_its_own_timeout(void **state) {
        char *prog;
        pid_t pid;
        connector_pool *p = slow_call(1000, &prog, &pid);
        assert_int_equal(pid_of(p, "slow"), pid);
        assert_int_equal(restarts_of(p, "slow"), 0);
        assert_fast_call_works(p);
        assert_int_equal(pid_of(p, "slow"), pid);
        test_pool_stop(p);
        free(prog);
}

typedef struct canceller {
        int fd;
        char path[512];
} canceller;

/* Signals fd once the slow program has started (its pid file exists). */
static void *cancel_when_running(void *arg) {
        canceller *c = arg;
        for (int i = 0; i < 3000 && access(c->path, F_OK) != 0; i++)
                usleep(10000);
        uint64_t one = 1;
        assert_int_equal(write(c->fd, &one, sizeof(one)), (ssize_t)sizeof(one));
        return NULL;
}

/* A cancellable call stops waiting when its descriptor is signalled (the
 * outbox's shutdown): -ECANCELED long before the 60 s the program would take;
 * what it ran is killed, and the next call finds a worker again. */
static void test_pool_cancellable_call_gives_up_when_told(void **state) {
        char *prog;
        connector_pool *p = slow_pool(60000, &prog);
        canceller c = {.fd = eventfd(0, EFD_CLOEXEC)};
        assert_true(c.fd >= 0);
        snprintf(c.path, sizeof(c.path), "%s/sleeper", dir);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, cancel_when_running, &c), 0);
        test_action *a = test_action_new("run", TARGET_STRING, (const char *const[]){"slow", NULL}, NULL);
        governor_permit permit = permit_for("slow", CONNECTOR_OP_APPLY, &a->a);
        connector_result res = {0};
        assert_int_equal(connector_pool_call_cancellable(p, "slow", CONNECTOR_OP_APPLY, &a->a, &permit,
                                                         60000, c.fd, &res),
                         -ECANCELED);
        pthread_join(t, NULL);
        test_action_free(a);
        close(c.fd);
        assert_program_exited("sleeper");
        assert_fast_call_works(p);
        test_pool_stop(p);
        free(prog);
}

/* True if needle occurs in any readable mapping of pid (regions above 64 MiB,
 * such as sanitizer shadow memory, are skipped: settings are never there). */
static bool memory_contains(pid_t pid, const char *needle) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
        FILE *maps = fopen(path, "re");
        snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
        int mem = open(path, O_RDONLY | O_CLOEXEC);
        assert_non_null(maps);
        assert_true(mem >= 0);
        size_t nlen = strlen(needle), chunk = 1u << 20;
        char *b = malloc(chunk + nlen);
        bool found = false;
        char line[512];
        while (!found && fgets(line, sizeof(line), maps)) {
                unsigned long start, end;
                char perms[5];
                if (sscanf(line, "%lx-%lx %4s", &start, &end, perms) != 3 || perms[0] != 'r' ||
                    end - start > (64ul << 20) || strstr(line, "[vvar]") || strstr(line, "[vsyscall]"))
                        continue;
                for (unsigned long off = start; !found && off < end; off += chunk) {
                        size_t want = end - off < chunk + nlen ? end - off : chunk + nlen;
                        ssize_t n = pread(mem, b, want, (off_t)off);
                        if (n <= 0)
                                break;
                        found = memmem(b, (size_t)n, needle, nlen) != NULL;
                }
        }
        free(b);
        close(mem);
        fclose(maps);
        return found;
}

static void test_pool_worker_holds_only_its_own_settings(void **state) {
        char *prog = script("ok", "exit 0\n");
        char marker_a[64], marker_b[64], sa[1024], sb[1024];
        /* Built at run time so the markers are in no binary image. */
        snprintf(marker_a, sizeof(marker_a), "bw-secret-A-%d-%lx", (int)getpid(), (unsigned long)random());
        snprintf(marker_b, sizeof(marker_b), "bw-secret-B-%d-%lx", (int)getpid(), (unsigned long)random());
        snprintf(sa, sizeof(sa), "{\"program\":\"%s\",\"args\":[\"--token=%s\"]}", prog, marker_a);
        snprintf(sb, sizeof(sb), "{\"program\":\"%s\",\"args\":[\"--token=%s\"]}", prog, marker_b);
        integration_config ints[2] = {integration("alpha", "exec", sa), integration("beta", "exec", sb)};
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(ints, 2, worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(ints, 2);
        pid_t a = pid_of(p, "alpha"), b = pid_of(p, "beta");
        assert_true(memory_contains(a, marker_a));
        assert_true(memory_contains(b, marker_b));
        assert_false(memory_contains(b, marker_a));
        assert_false(memory_contains(a, marker_b));
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/environ", (int)b);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        char env[4096];
        ssize_t n = read(fd, env, sizeof(env));
        close(fd);
        assert_true(n > 0);
        assert_null(memmem(env, (size_t)n, marker_a, strlen(marker_a)));
        assert_non_null(memmem(env, (size_t)n, "PATH=", 5));
        assert_null(memmem(env, (size_t)n, "HOME=", 5));
        test_pool_stop(p);
        free(prog);
}

static void test_pool_malformed_reply_is_fatal_to_the_worker(void **state) {
        const char *faults[] = {"bad-magic", "bad-seq", "bad-shape", "bad-rc"};
        integration_config ints[4];
        for (size_t i = 0; i < 4; i++)
                ints[i] = integration(faults[i], "nft", "{}");
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(ints, 4, bad_worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(ints, 4);
        for (size_t i = 0; i < 4; i++) {
                pid_t old = pid_of(p, faults[i]);
                connector_result res;
                const char *ip[] = {"192.0.2.1", NULL};
                assert_int_equal(
                        call(p, faults[i], CONNECTOR_OP_VALIDATE, "block", TARGET_IP, ip, 5000, &res),
                        -EBADMSG);
                assert_int_not_equal(pid_of(p, faults[i]), old);
                assert_int_equal(restarts_of(p, faults[i]), 1);
                assert_false(kill(old, 0) == 0);
        }
        test_pool_stop(p);
}

/* A worker killed by seccomp (SIGSYS) for a system call outside its
 * allow-list: the call fails, the pool restarts it. */
static void test_pool_restarts_a_worker_killed_by_seccomp(void **state) {
        integration_config c = integration("seccomp", "nft", "{}");
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(&c, 1, bad_worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(&c, 1);
        pid_t old = pid_of(p, "seccomp");
        connector_result res;
        const char *ip[] = {"192.0.2.1", NULL};
        int r = call(p, "seccomp", CONNECTOR_OP_VALIDATE, "block", TARGET_IP, ip, 5000, &res);
        assert_true(r == -ECONNRESET || r == -EPIPE);
        assert_true(test_wait_exit(old)); /* killed; the parent reaps it */
        pid_t now = pid_of(p, "seccomp");
        assert_true(now > 0 && now != old);
        assert_int_equal(restarts_of(p, "seccomp"), 1);
        test_pool_stop(p);
}

static const char *state_of(connector_pool *p, const char *name, json_int_t *ret_backoff_ms) {
        json_t *s = status_of(p, name);
        static char state[32];
        const char *v = json_string_value(json_object_get(s, "state"));
        str_copy(state, sizeof(state), v ? v : "(none)");
        *ret_backoff_ms = json_integer_value(json_object_get(s, "backoff_ms"));
        json_decref(s);
        return state;
}

/* Calls "flaky" until it stops answering -EHOSTDOWN (its backoff is over; bounded). */
static int call_after_backoff(connector_pool *p, connector_result *res) {
        for (int i = 0; i < 100; i++) {
                int r = call(p, "flaky", CONNECTOR_OP_APPLY, "run", TARGET_NONE, NULL, 5000, res);
                if (r != -EHOSTDOWN)
                        return r;
                usleep(BW_WORKER_RETRY_MS_MIN * 1000u / 10u);
        }
        return -EHOSTDOWN;
}

/* A worker that crashes on every call (its program kills it while $DIR/crash
 * exists): BW_WORKER_RESTARTS_PER_MIN restarts a minute, then no restart until
 * its backoff is over, then one (half-open): a call that works makes it healthy
 * again; one more crash within the minute doubles the wait. */
static void test_pool_a_crashing_worker_comes_back_after_the_backoff(void **state) {
        char *prog = script("crashy", "[ -e \"$DIR/crash\" ] && kill -9 $PPID\necho ok\n");
        char *crash = test_write_file(dir, "crash", "", 0600);
        char *settings = exec_settings(prog);
        integration_config c = integration("flaky", "exec", settings);
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(&c, 1, worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(&c, 1);
        connector_result res;
        json_int_t backoff;
        for (unsigned i = 0; i < BW_WORKER_RESTARTS_PER_MIN; i++) {
                assert_int_equal(call(p, "flaky", CONNECTOR_OP_APPLY, "run", TARGET_NONE, NULL, 5000, &res),
                                 -ECONNRESET);
                assert_int_equal(restarts_of(p, "flaky"), (int)i + 1);
                assert_string_equal(state_of(p, "flaky", &backoff), "healthy");
        }
        /* One crash too many within a minute: degraded, not restarted. */
        assert_int_equal(call(p, "flaky", CONNECTOR_OP_APPLY, "run", TARGET_NONE, NULL, 5000, &res),
                         -ECONNRESET);
        assert_string_equal(state_of(p, "flaky", &backoff), "degraded");
        assert_int_equal(backoff, BW_WORKER_RETRY_MS_MIN);
        assert_int_equal(call(p, "flaky", CONNECTOR_OP_APPLY, "run", TARGET_NONE, NULL, 5000, &res),
                         -EHOSTDOWN);
        assert_false(connector_pool_all_up(p));
        json_t *st = status_of(p, "flaky");
        assert_true(json_is_false(json_object_get(st, "up")));
        assert_int_equal(json_integer_value(json_object_get(st, "pid")), 0);
        json_decref(st);
        assert_int_equal(restarts_of(p, "flaky"), BW_WORKER_RESTARTS_PER_MIN);

        /* Fixed: after the backoff, one restart and a call that works. */
        assert_int_equal(unlink(crash), 0);
        assert_int_equal(call_after_backoff(p, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_int_equal(restarts_of(p, "flaky"), BW_WORKER_RESTARTS_PER_MIN + 1);
        assert_string_equal(state_of(p, "flaky", &backoff), "healthy");
        assert_true(connector_pool_all_up(p));

        /* It crashes again within the minute: degraded at once, a longer wait. */
        free(test_write_file(dir, "crash", "", 0600));
        assert_int_equal(call(p, "flaky", CONNECTOR_OP_APPLY, "run", TARGET_NONE, NULL, 5000, &res),
                         -ECONNRESET);
        assert_string_equal(state_of(p, "flaky", &backoff), "degraded");
        assert_true(backoff > BW_WORKER_RETRY_MS_MIN && backoff <= BW_WORKER_RETRY_MS_MAX);
        assert_int_equal(call(p, "flaky", CONNECTOR_OP_APPLY, "run", TARGET_NONE, NULL, 5000, &res),
                         -EHOSTDOWN);
        assert_false(connector_pool_all_up(p));
        test_pool_stop(p);
        free(crash);
        free(settings);
        free(prog);
}

static void test_pool_start_refuses_bad_integrations(void **state) {
        char *loose = test_write_file(dir, "loose", "#!/bin/sh\nexit 0\n", 0777);
        char *settings = exec_settings(loose);
        connector_pool *p = NULL;
        /* The worker's open fails: start fails with its error, nothing is left running. */
        integration_config c = integration("runner", "exec", settings);
        assert_int_equal(test_pool_start(&c, 1, worker_exe, POOL_UNCONFINED, &p), -EPERM);
        assert_null(p);
        integrations_free(&c, 1);
        c = integration("x", "ldap", "{}");
        assert_int_equal(test_pool_start(&c, 1, worker_exe, POOL_UNCONFINED, &p), -EINVAL);
        integrations_free(&c, 1);
        integration_config two[2] = {integration("same", "nft", "{}"), integration("same", "nft", "{}")};
        assert_int_equal(test_pool_start(two, 2, worker_exe, POOL_UNCONFINED, &p), -EINVAL);
        integrations_free(two, 2);
        assert_null(p);
        test_pool_stop(NULL);
        assert_int_equal(test_pool_start(NULL, 0, worker_exe, POOL_UNCONFINED, &p), 0);
        assert_true(connector_pool_all_up(p));
        test_pool_stop(p);
        free(settings);
        free(loose);
}

/* Output that grows sixfold when escaped into JSON no longer fits one message.
 * The program ran: its outcome (exit 0, or exit 3) reaches the daemon with the
 * output cut to fit and marked truncated; the worker stays. */
static void test_pool_oversized_reply_keeps_the_outcome(void **state) {
        char *prog = script("ctl", "head -c 65536 /dev/zero | tr '\\0' '\\001'\n"
                                   "[ \"$1\" = fail ] && exit 3\nexit 0\n");
        char *settings = exec_settings(prog);
        integration_config c = integration("runner", "exec", settings);
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(&c, 1, worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(&c, 1);
        pid_t pid = pid_of(p, "runner");
        const char *ok[] = {"ok", NULL}, *fail[] = {"fail", NULL};
        for (int i = 0; i < 2; i++) {
                connector_result res;
                assert_int_equal(call(p, "runner", CONNECTOR_OP_APPLY, "run", TARGET_STRING, i ? fail : ok,
                                      5000, &res),
                                 0);
                assert_int_equal(res.ok, i == 0);
                assert_non_null(strstr(res.detail, i ? "exit status 3" : "exit status 0"));
                assert_non_null(strstr(res.detail, "reply truncated"));
                assert_true(json_is_true(json_object_get(res.data, "truncated")));
                const char *out = json_string_value(json_object_get(res.data, "output"));
                assert_non_null(out);
                assert_true(strlen(out) > 1000 && strlen(out) < 65536);
                assert_int_equal(strspn(out, "\001"), strlen(out));
                connector_result_clear(&res);
        }
        assert_int_equal(pid_of(p, "runner"), pid);
        assert_int_equal(restarts_of(p, "runner"), 0);
        test_pool_stop(p);
        free(settings);
        free(prog);
}

typedef struct caller {
        connector_pool *p;
        int failures;
} caller;

static void *caller_main(void *arg) {
        caller *c = arg;
        for (int i = 0; i < 20; i++) {
                char target[32];
                snprintf(target, sizeof(target), "t%lx-%d", (unsigned long)pthread_self() & 0xffff, i);
                const char *targets[] = {target, NULL};
                test_action *t = test_action_new("run", TARGET_STRING, targets, NULL);
                connector_result res = {0};
                governor_permit permit = permit_for("runner", CONNECTOR_OP_APPLY, &t->a);
                int r = connector_pool_call(c->p, "runner", CONNECTOR_OP_APPLY, &t->a, &permit, 5000, &res);
                char want[64];
                snprintf(want, sizeof(want), "%s\n", target);
                if (r != 0 || !res.ok ||
                    strcmp(json_string_value(json_object_get(res.data, "output")), want) != 0)
                        c->failures++;
                connector_result_clear(&res);
                test_action_free(t);
        }
        return NULL;
}

/* Calls from several threads to one integration are serialised, and each
 * caller gets its own reply. */
static void test_pool_concurrent_calls(void **state) {
        char *prog = script("echo1", "echo \"$1\"\n");
        char *settings = exec_settings(prog);
        integration_config c = integration("runner", "exec", settings);
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(&c, 1, worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(&c, 1);
        pthread_t threads[4];
        caller callers[4];
        for (int i = 0; i < 4; i++) {
                callers[i] = (caller){.p = p};
                assert_int_equal(pthread_create(&threads[i], NULL, caller_main, &callers[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
                pthread_join(threads[i], NULL);
                assert_int_equal(callers[i].failures, 0);
        }
        assert_int_equal(restarts_of(p, "runner"), 0);
        test_pool_stop(p);
        free(settings);
        free(prog);
}

/* --- batched calls ------------------------------------------------------------- */

#define BATCH_TEST_MAX 8

/* Actions for one batched call, each with its own id and its own permit. */
typedef struct batch {
        const char *integration; /* whose permits batch_add mints; NULL: "fw" */
        test_action *t[BATCH_TEST_MAX];
        connector_action a[BATCH_TEST_MAX];
        governor_permit permits[BATCH_TEST_MAX];          /* APPLY */
        governor_permit rollback_permits[BATCH_TEST_MAX]; /* ROLLBACK */
        int rcs[BATCH_TEST_MAX];
        connector_result res[BATCH_TEST_MAX];
        size_t n;
} batch;

static void batch_add(batch *b, const char *verb, target_kind kind, const char *const *targets,
                      const char *params) {
        assert_true(b->n < BATCH_TEST_MAX);
        test_action *t = test_action_new(verb, kind, targets, params);
        t->a.action_id = 500 + (int64_t)b->n;
        b->t[b->n] = t;
        b->a[b->n] = t->a;
        const char *integration = b->integration ? b->integration : "fw";
        b->permits[b->n] = permit_for(integration, CONNECTOR_OP_APPLY, &t->a);
        b->rollback_permits[b->n] = permit_for(integration, CONNECTOR_OP_ROLLBACK, &t->a);
        b->n++;
}

static void batch_clear_results(batch *b) {
        for (size_t i = 0; i < b->n; i++)
                connector_result_clear(&b->res[i]);
}

/* One batched call of op with the batch's permits; results are cleared first. */
static int batch_call(connector_pool *p, const char *name, connector_op op, batch *b) {
        batch_clear_results(b);
        for (size_t i = 0; i < b->n; i++)
                b->rcs[i] = 1;
        const governor_permit *permits = op == CONNECTOR_OP_ROLLBACK ? b->rollback_permits : b->permits;
        return connector_pool_call_batch(p, name, op, b->a, permits, b->n, 5000, b->rcs, b->res);
}

static void batch_free(batch *b) {
        batch_clear_results(b);
        for (size_t i = 0; i < b->n; i++)
                test_action_free(b->t[i]);
        *b = (batch){.integration = b->integration};
}

/* Result i ran (rc 0), is ok or not, and its detail is (ok) or contains (not ok) text. */
static void assert_batch_result(const batch *b, size_t i, bool ok, const char *text) {
        const connector_result *r = &b->res[i];
        bool match = ok ? strcmp(r->detail, text) == 0 : strstr(r->detail, text) != NULL;
        if (b->rcs[i] != 0 || r->ok != ok || !match)
                fail_msg("result %zu: rc %d, ok %d, detail \"%s\"; expected rc 0, ok %d, \"%s\"", i,
                         b->rcs[i], r->ok, r->detail, ok, text);
}

/* The elements of set in the inet table of the test, as JSON text. */
static void assert_pool_set(const char *table, const char *set, const char *expected_json) {
        json_t *got = test_nft_elements("inet", table, set);
        json_t *want = json_loads(expected_json, 0, NULL);
        assert_non_null(got);
        assert_non_null(want);
        if (!json_equal(got, want)) {
                char *g = json_dumps(got, JSON_COMPACT);
                char text[1024];
                snprintf(text, sizeof(text), "%s", g);
                free(g);
                json_decref(got);
                json_decref(want);
                fail_msg("set %s %s is %s, expected %s", table, set, text, expected_json);
        }
        json_decref(got);
        json_decref(want);
}

static connector_pool *nft_pool(const char *table) {
        char settings[128];
        snprintf(settings, sizeof(settings), "{\"table\":\"%s\"}", table);
        integration_config c = integration("fw", "nft", settings);
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(&c, 1, worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(&c, 1);
        return p;
}

static void test_pool_batch_apply_is_one_nft_transaction(void **state) {
        connector_pool *p = nft_pool("pb1");
        pid_t pid = pid_of(p, "fw");
        const char *one[] = {"192.0.2.1", NULL};
        const char *two[] = {"192.0.2.2", "198.51.100.0/24", NULL};
        const char *six[] = {"2001:db8::1", NULL};
        batch b = {.integration = NULL};
        batch_add(&b, "block", TARGET_IP, one, "{\"timeout_s\":600}");
        batch_add(&b, "block", TARGET_IP, two, NULL);
        batch_add(&b, "block", TARGET_IP, six, "{\"timeout_s\":60}");
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_APPLY, &b), 0);
        assert_batch_result(&b, 0, true, "added 1, already present 0 in inet pb1");
        assert_batch_result(&b, 1, true, "added 2, already present 0 in inet pb1");
        assert_batch_result(&b, 2, true, "added 1, already present 0 in inet pb1");
        assert_pool_set("pb1", "blocklist_v4", "{\"192.0.2.1\":600,\"192.0.2.2\":0}");
        assert_pool_set("pb1", "blocknets_v4", "{\"198.51.100.0/24\":0}");
        assert_pool_set("pb1", "blocklist_v6", "{\"2001:db8::1\":60}");
        batch_free(&b);

        /* Two actions naming one address: one element, both ok, the second
         * found it already there. */
        const char *ten[] = {"192.0.2.10", NULL};
        batch_add(&b, "block", TARGET_IP, ten, "{\"timeout_s\":900}");
        batch_add(&b, "block", TARGET_IP, ten, "{\"timeout_s\":30}");
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_APPLY, &b), 0);
        assert_batch_result(&b, 0, true, "added 1, already present 0 in inet pb1");
        assert_batch_result(&b, 1, true, "added 0, already present 1 in inet pb1");
        assert_pool_set("pb1", "blocklist_v4", "{\"192.0.2.1\":600,\"192.0.2.2\":0,\"192.0.2.10\":900}");
        batch_free(&b);

        /* One transaction: a network overlapping the /24 makes nft refuse it,
         * and the host of the other action is not added either. The batch
         * fails as a whole; the worker is fine. */
        const char *host[] = {"192.0.2.77", NULL};
        const char *inside[] = {"198.51.100.128/25", NULL};
        batch_add(&b, "block", TARGET_IP, host, NULL);
        batch_add(&b, "block", TARGET_IP, inside, NULL);
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_APPLY, &b), -EIO);
        assert_pool_set("pb1", "blocklist_v4", "{\"192.0.2.1\":600,\"192.0.2.2\":0,\"192.0.2.10\":900}");
        assert_pool_set("pb1", "blocknets_v4", "{\"198.51.100.0/24\":0}");
        batch_free(&b);
        assert_int_equal(pid_of(p, "fw"), pid);
        assert_int_equal(restarts_of(p, "fw"), 0);
        test_pool_stop(p);
}

static void test_pool_batch_needs_each_actions_own_permit(void **state) {
        connector_pool *p = nft_pool("pb2");
        const char *a0[] = {"192.0.2.30", NULL};
        const char *a1[] = {"192.0.2.31", NULL};
        const char *a2[] = {"192.0.2.32", NULL};
        batch b = {.integration = NULL};
        batch_add(&b, "block", TARGET_IP, a0, NULL);
        batch_add(&b, "block", TARGET_IP, a1, NULL);
        batch_add(&b, "block", TARGET_IP, a2, NULL);
        governor_permit good = b.permits[1];
        connector_result untouched = {0};
        str_copy(untouched.detail, sizeof(untouched.detail), "untouched");

        /* No permits at all, one missing, one belonging to another action of
         * the batch, one minted for other targets under the same id. */
        assert_int_equal(
                connector_pool_call_batch(p, "fw", CONNECTOR_OP_APPLY, b.a, NULL, b.n, 5000, b.rcs, b.res),
                -EPERM);
        b.permits[1] = (governor_permit){0};
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_APPLY, &b), -EPERM);
        b.permits[1] = b.permits[0];
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_APPLY, &b), -EPERM);
        test_action *other = test_action_new("block", TARGET_IP, a0, NULL);
        other->a.action_id = b.a[1].action_id;
        b.permits[1] = permit_for("fw", CONNECTOR_OP_APPLY, &other->a);
        test_action_free(other);
        b.res[2] = untouched;
        assert_int_equal(connector_pool_call_batch(p, "fw", CONNECTOR_OP_APPLY, b.a, b.permits, b.n, 5000,
                                                   b.rcs, b.res),
                         -EPERM);
        assert_string_equal(b.res[2].detail, "untouched");
        assert_int_equal(connector_pool_call_batch(p, "fw", CONNECTOR_OP_ROLLBACK, b.a, NULL, b.n, 5000,
                                                   b.rcs, b.res),
                         -EPERM);
        assert_pool_set("pb2", "blocklist_v4", "{}");

        /* The ops that change nothing need none. */
        assert_int_equal(connector_pool_call_batch(p, "fw", CONNECTOR_OP_VALIDATE, b.a, NULL, b.n, 5000,
                                                   b.rcs, b.res),
                         0);
        for (size_t i = 0; i < b.n; i++)
                assert_batch_result(&b, i, true, "valid");
        b.permits[1] = good;
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_APPLY, &b), 0);
        assert_pool_set("pb2", "blocklist_v4", "{\"192.0.2.30\":0,\"192.0.2.31\":0,\"192.0.2.32\":0}");
        batch_free(&b);
        test_pool_stop(p);
}

static void test_pool_batch_reports_an_invalid_action_alone(void **state) {
        connector_pool *p = nft_pool("pb3");
        const char *a0[] = {"192.0.2.40", NULL};
        const char *a1[] = {"not-an-ip", NULL};
        const char *a2[] = {"192.0.2.42", "203.0.113.0/24", NULL};
        batch b = {.integration = NULL};
        batch_add(&b, "block", TARGET_IP, a0, NULL);
        batch_add(&b, "block", TARGET_IP, a1, NULL);
        batch_add(&b, "block", TARGET_IP, a2, "{\"timeout_s\":120}");
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_VALIDATE, &b), 0);
        assert_batch_result(&b, 0, true, "valid");
        assert_batch_result(&b, 1, false, "targets[0]: not an IP address");
        assert_batch_result(&b, 2, true, "valid");
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_APPLY, &b), 0);
        assert_batch_result(&b, 0, true, "added 1, already present 0 in inet pb3");
        assert_batch_result(&b, 1, false, "targets[0]: not an IP address");
        assert_batch_result(&b, 2, true, "added 2, already present 0 in inet pb3");
        assert_pool_set("pb3", "blocklist_v4", "{\"192.0.2.40\":0,\"192.0.2.42\":120}");
        assert_pool_set("pb3", "blocknets_v4", "{\"203.0.113.0/24\":120}");
        batch_free(&b);
        test_pool_stop(p);
}

static void test_pool_batch_snapshot_verify_rollback_in_order(void **state) {
        connector_pool *p = nft_pool("pb4");
        assert_int_equal(test_nft_cmd("add element inet pb4 blocklist_v4 { 192.0.2.50 timeout 600s }"), 0);
        const char *a0[] = {"192.0.2.50", NULL};
        const char *a1[] = {"192.0.2.51", NULL};
        const char *a2[] = {"2001:db8::51", "198.51.100.0/24", NULL};
        batch b = {.integration = NULL};
        batch_add(&b, "block", TARGET_IP, a0, NULL);
        batch_add(&b, "block", TARGET_IP, a1, NULL);
        batch_add(&b, "block", TARGET_IP, a2, NULL);

        /* One snapshot per action, in order, each of its own targets only. */
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_SNAPSHOT, &b), 0);
        json_t *snaps[3];
        size_t sizes[3] = {1, 1, 2};
        for (size_t i = 0; i < 3; i++) {
                assert_batch_result(&b, i, true, i == 2 ? "recorded 2 target(s)" : "recorded 1 target(s)");
                const json_t *elements = json_object_get(b.res[i].data, "elements");
                assert_int_equal(json_object_size(elements), sizes[i]);
                assert_non_null(json_object_get(elements, b.a[i].targets[0]));
                snaps[i] = json_incref(b.res[i].data);
        }
        const json_t *e50 = json_object_get(json_object_get(snaps[0], "elements"), "192.0.2.50");
        assert_true(json_is_true(json_object_get(e50, "present")));
        assert_int_equal(json_integer_value(json_object_get(e50, "timeout")), 600);
        assert_true(json_is_false(json_object_get(
                json_object_get(json_object_get(snaps[1], "elements"), "192.0.2.51"), "present")));
        assert_true(json_is_false(json_object_get(
                json_object_get(json_object_get(snaps[2], "elements"), "198.51.100.0/24"), "present")));

        /* Verify before apply: only the first is in effect, and each detail is
         * its own action's. */
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_VERIFY, &b), 0);
        assert_batch_result(&b, 0, true, "all 1 target(s) in the set");
        assert_batch_result(&b, 1, false, "targets[0] (192.0.2.51) is not in the set");
        assert_batch_result(&b, 2, false, "targets[0] (2001:db8::51) is not in the set");

        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_APPLY, &b), 0);
        assert_batch_result(&b, 0, true, "added 0, already present 1 in inet pb4");
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_VERIFY, &b), 0);
        assert_batch_result(&b, 0, true, "all 1 target(s) in the set");
        assert_batch_result(&b, 1, true, "all 1 target(s) in the set");
        assert_batch_result(&b, 2, true, "all 2 target(s) in the set");

        /* Rollback as a batch restores each action's own snapshot. */
        for (size_t i = 0; i < 3; i++)
                b.a[i].snapshot = snaps[i];
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_ROLLBACK, &b), 0);
        assert_batch_result(&b, 0, true, "restored the snapshot: deleted 0, re-added 0");
        assert_batch_result(&b, 1, true, "restored the snapshot: deleted 1, re-added 0");
        assert_batch_result(&b, 2, true, "restored the snapshot: deleted 2, re-added 0");
        assert_pool_set("pb4", "blocklist_v4", "{\"192.0.2.50\":600}");
        assert_pool_set("pb4", "blocklist_v6", "{}");
        assert_pool_set("pb4", "blocknets_v4", "{}");
        for (size_t i = 0; i < 3; i++)
                json_decref(snaps[i]);
        batch_free(&b);

        /* An op that fails for one action fails for that one alone. */
        const char *bad[] = {"192.0.2.999", NULL};
        batch_add(&b, "block", TARGET_IP, a0, NULL);
        batch_add(&b, "block", TARGET_IP, bad, NULL);
        batch_add(&b, "block", TARGET_IP, a1, NULL);
        assert_int_equal(batch_call(p, "fw", CONNECTOR_OP_SNAPSHOT, &b), 0);
        assert_batch_result(&b, 0, true, "recorded 1 target(s)");
        assert_int_equal(b.rcs[1], -EINVAL);
        assert_non_null(strstr(b.res[1].detail, "targets[0]"));
        assert_null(b.res[1].data);
        assert_batch_result(&b, 2, true, "recorded 1 target(s)");
        batch_free(&b);
        test_pool_stop(p);
}

/* A kind without apply_batch (exec) runs the actions of a batch one after the
 * other in its worker, each with its own result. */
static void test_pool_batch_without_apply_batch_and_refusals(void **state) {
        char *prog = script("echo", "echo \"ran $*\"\n");
        char *settings = exec_settings(prog);
        integration_config c = integration("runner", "exec", settings);
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(&c, 1, worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(&c, 1);
        pid_t pid = pid_of(p, "runner");
        const char *alice[] = {"alice", NULL}, *bob[] = {"bob", NULL}, *opt[] = {"-x", NULL};
        batch b = {.integration = "runner"};
        batch_add(&b, "run", TARGET_ACCOUNT, alice, NULL);
        batch_add(&b, "run", TARGET_ACCOUNT, opt, NULL);
        batch_add(&b, "run", TARGET_ACCOUNT, bob, NULL);
        assert_int_equal(batch_call(p, "runner", CONNECTOR_OP_APPLY, &b), 0);
        assert_int_equal(b.rcs[0], 0);
        assert_true(b.res[0].ok);
        assert_string_equal(json_string_value(json_object_get(b.res[0].data, "output")), "ran alice\n");
        assert_int_equal(b.rcs[1], -EINVAL);
        assert_int_equal(b.rcs[2], 0);
        assert_true(b.res[2].ok);
        assert_string_equal(json_string_value(json_object_get(b.res[2].data, "output")), "ran bob\n");

        /* Refused before anything is sent. */
        assert_int_equal(batch_call(p, "runner", CONNECTOR_OP_VERIFY, &b), -EOPNOTSUPP);
        assert_int_equal(batch_call(p, "runner", CONNECTOR_OP_SNAPSHOT, &b), -EOPNOTSUPP);
        assert_int_equal(batch_call(p, "nobody", CONNECTOR_OP_VALIDATE, &b), -ENOENT);
        /* A permit is for one integration: runner's are refused elsewhere. */
        assert_int_equal(batch_call(p, "nobody", CONNECTOR_OP_APPLY, &b), -EPERM);
        assert_int_equal(connector_pool_call_batch(p, "runner", CONNECTOR_OP_APPLY, b.a, b.permits, 0, 5000,
                                                   b.rcs, b.res),
                         -EINVAL);
        assert_int_equal(connector_pool_call_batch(p, "runner", CONNECTOR_OP_APPLY, b.a, b.permits, b.n, 0,
                                                   b.rcs, b.res),
                         -EINVAL);
        size_t over = BW_CONNECTOR_BATCH_MAX + 1;
        connector_action *many = calloc(over, sizeof(*many));
        governor_permit *permits = calloc(over, sizeof(*permits));
        int *rcs = calloc(over, sizeof(*rcs));
        connector_result *res = calloc(over, sizeof(*res));
        assert_true(many && permits && rcs && res);
        for (size_t i = 0; i < over; i++) {
                many[i] = b.a[0];
                permits[i] = b.permits[0];
        }
        assert_int_equal(connector_pool_call_batch(p, "runner", CONNECTOR_OP_APPLY, many, permits, over,
                                                   5000, rcs, res),
                         -EINVAL);
        free(many);
        free(permits);
        free(rcs);
        free(res);
        batch_free(&b);

        /* A batch too large for one message is refused before anything is
         * sent (each action alone would fit); the worker is unharmed. */
        size_t count = 700;
        char **big = calloc(count + 1, sizeof(char *));
        assert_non_null(big);
        for (size_t i = 0; i < count; i++) {
                big[i] = malloc(201);
                assert_non_null(big[i]);
                memset(big[i], 'b', 200);
                big[i][200] = '\0';
        }
        for (size_t i = 0; i < 3; i++)
                batch_add(&b, "run", TARGET_STRING, (const char *const *)big, NULL);
        assert_int_equal(batch_call(p, "runner", CONNECTOR_OP_APPLY, &b), -EMSGSIZE);
        for (size_t i = 0; i < count; i++)
                free(big[i]);
        free(big);
        batch_free(&b);
        assert_int_equal(pid_of(p, "runner"), pid);
        assert_int_equal(restarts_of(p, "runner"), 0);
        test_pool_stop(p);
        free(settings);
        free(prog);
}

/* A worker that answers a batch with anything but a batch reply is killed
 * and replaced, as for any malformed reply. */
/* A worker that says it is not confined as its uid (test_bad_worker reports
 * what it runs with: root, no seccomp) is not used when the pool confines. */
static void test_pool_refuses_an_unconfined_worker(void **state) {
        integration_config c = integration("unconfined", "nft", "{}");
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(&c, 1, bad_worker_exe, POOL_CONFINED, &p), -EPERM);
        assert_null(p);
        assert_int_equal(test_pool_start(&c, 1, bad_worker_exe, POOL_UNCONFINED, &p), 0);
        test_pool_stop(p);
        integrations_free(&c, 1);
}

static void test_pool_malformed_batch_reply_is_fatal(void **state) {
        const char *faults[] = {"single-reply", "bad-seq"};
        integration_config ints[2];
        for (size_t i = 0; i < 2; i++)
                ints[i] = integration(faults[i], "nft", "{}");
        connector_pool *p = NULL;
        assert_int_equal(test_pool_start(ints, 2, bad_worker_exe, POOL_UNCONFINED, &p), 0);
        integrations_free(ints, 2);
        const char *ip[] = {"192.0.2.1", NULL};
        batch b = {.integration = NULL};
        batch_add(&b, "block", TARGET_IP, ip, NULL);
        batch_add(&b, "block", TARGET_IP, ip, NULL);
        for (size_t i = 0; i < 2; i++) {
                pid_t old = pid_of(p, faults[i]);
                assert_int_equal(batch_call(p, faults[i], CONNECTOR_OP_VALIDATE, &b), -EBADMSG);
                assert_int_not_equal(pid_of(p, faults[i]), old);
                assert_int_equal(restarts_of(p, faults[i]), 1);
                assert_true(test_wait_exit(old));
        }
        batch_free(&b);
        test_pool_stop(p);
}

static void test_pool_batch_times_out_a_hung_worker(void **state) {
        char *prog;
        connector_pool *p = slow_pool(60000, &prog);
        pid_t old = pid_of(p, "slow");
        const char *slow[] = {"slow", NULL}, *fast[] = {"fast", NULL};
        batch b = {.integration = "slow"};
        batch_add(&b, "run", TARGET_STRING, fast, NULL);
        batch_add(&b, "run", TARGET_STRING, slow, NULL);
        assert_int_equal(connector_pool_call_batch(p, "slow", CONNECTOR_OP_APPLY, b.a, b.permits, b.n, 1000,
                                                   b.rcs, b.res),
                         -ETIMEDOUT);
        assert_int_not_equal(pid_of(p, "slow"), old);
        assert_int_equal(restarts_of(p, "slow"), 1);
        assert_program_exited("sleeper");
        batch_free(&b);
        batch_add(&b, "run", TARGET_STRING, fast, NULL);
        assert_int_equal(batch_call(p, "slow", CONNECTOR_OP_APPLY, &b), 0);
        assert_string_equal(json_string_value(json_object_get(b.res[0].data, "output")), "fast\n");
        batch_free(&b);
        test_pool_stop(p);
        free(prog);
}

int main(void) {
        worker_exe = getenv("BW_TEST_WORKER");
        bad_worker_exe = getenv("BW_TEST_BAD_WORKER");
        if (!worker_exe || !bad_worker_exe) {
                fprintf(stderr, "BW_TEST_WORKER and BW_TEST_BAD_WORKER must name the test workers\n");
                return 1;
        }
        int r = test_enter_netns();
        if (r < 0) {
                fprintf(stderr, "cannot create a network namespace: %s\n", strerror(-r));
                return 1;
        }
        srandom((unsigned)getpid());
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_pool_runs_calls_in_worker_processes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_restarts_a_killed_worker, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_times_out_a_hung_worker, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_cancellable_call_gives_up_when_told, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_deadline_leaves_the_connector_its_own_timeout,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_worker_holds_only_its_own_settings, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_malformed_reply_is_fatal_to_the_worker, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_a_crashing_worker_comes_back_after_the_backoff,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_start_refuses_bad_integrations, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_oversized_reply_keeps_the_outcome, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_concurrent_calls, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_batch_apply_is_one_nft_transaction, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_batch_needs_each_actions_own_permit, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_batch_reports_an_invalid_action_alone, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_batch_snapshot_verify_rollback_in_order, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_batch_without_apply_batch_and_refusals, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_malformed_batch_reply_is_fatal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_refuses_an_unconfined_worker, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_restarts_a_worker_killed_by_seccomp, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_pool_batch_times_out_a_hung_worker, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
