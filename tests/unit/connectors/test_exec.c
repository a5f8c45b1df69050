/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the exec connector with real programs (shell scripts written to
 * a temporary directory; the connector itself never runs a shell): argv, the
 * clean environment, stdin, output capture, the timeout that kills the process
 * group, verify's exit codes and the checks on the program file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn_test.h"
#include "connectors/connector.h"

static const connector_kind *exec_k;
static char *dir;

static int setup(void **state) {
        dir = test_tmpdir();
        return 0;
}

static int teardown(void **state) {
        test_tmpdir_remove(dir);
        return 0;
}

/* Writes a /bin/sh script (mode 0755) whose body may use DIR for the test directory. */
static char *script(const char *name, const char *body) {
        char text[4096];
        snprintf(text, sizeof(text), "#!/bin/sh\nDIR='%s'\n%s", dir, body);
        return test_write_file(dir, name, text, 0755);
}

static void *open_exec(const char *program, const char *extra, int *ret_r, bw_error *err) {
        char text[4096];
        snprintf(text, sizeof(text), "{\"program\":\"%s\"%s%s}", program, extra ? "," : "",
                 extra ? extra : "");
        json_t *s = json_loads(text, 0, NULL);
        assert_non_null(s);
        void *state = NULL;
        *err = (bw_error){0};
        *ret_r = exec_k->open(s, &state, err);
        json_decref(s);
        return state;
}

static char *dir_file(const char *name) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return test_read_file(path);
}

static void test_exec_runs_program_with_argv_env_and_stdin(void **state) {
        setenv("HOME", "/root", 1);
        setenv("BW_TEST_LEAK", "must-not-reach-the-program", 1);
        char *prog = script("disable", "printf '%s\\n' \"$0\" \"$@\" > \"$DIR/argv\"\n"
                                       "env > \"$DIR/env\"\n"
                                       "pwd > \"$DIR/cwd\"\n"
                                       "cat > \"$DIR/stdin\"\n"
                                       "echo done\n");
        int r;
        bw_error err;
        void *s = open_exec(prog, "\"args\":[\"--disable\",\"--reason=alert\"]", &r, &err);
        assert_int_equal(r, 0);
        const char *accounts[] = {"j.doe@example.com", "svc_backup$", "x y; rm -rf /", NULL};
        test_action *t = test_action_new("run", TARGET_ACCOUNT, accounts, "{\"ticket\":\"INC-7\"}");
        connector_result res = {0};
        assert_int_equal(exec_k->ops[CONNECTOR_OP_APPLY](s, &t->a, &res), 0);
        assert_true(res.ok);
        assert_string_equal(res.detail, "program exit status 0");
        assert_string_equal(json_string_value(json_object_get(res.data, "output")), "done\n");
        assert_int_equal(json_integer_value(json_object_get(res.data, "exit_status")), 0);
        assert_true(json_is_false(json_object_get(res.data, "truncated")));
        connector_result_clear(&res);

        /* Each target is one argument, verbatim: no shell ever splits it. */
        char *argv = dir_file("argv");
        char expect[1024];
        snprintf(expect, sizeof(expect),
                 "%s\n--disable\n--reason=alert\nj.doe@example.com\nsvc_backup$\nx y; rm -rf /\n", prog);
        assert_string_equal(argv, expect);
        free(argv);

        char *env = dir_file("env");
        assert_non_null(strstr(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
        assert_non_null(strstr(env, "LANG=C\n"));
        assert_non_null(strstr(env, "BULWARK_ACTION_ID=42\n"));
        assert_non_null(strstr(env, "BULWARK_IDEMPOTENCY_KEY=" TEST_KEY "\n"));
        assert_non_null(strstr(env, "BULWARK_VERB=run\n"));
        assert_non_null(strstr(env, "BULWARK_TARGET_KIND=account\n"));
        assert_null(strstr(env, "HOME="));
        assert_null(strstr(env, "BW_TEST_LEAK"));
        free(env);

        char *cwd = dir_file("cwd");
        assert_string_equal(cwd, "/\n");
        free(cwd);

        char *in = dir_file("stdin");
        json_t *j = json_loads(in, 0, NULL);
        assert_non_null(j);
        assert_int_equal(json_integer_value(json_object_get(j, "action_id")), 42);
        assert_string_equal(json_string_value(json_object_get(j, "verb")), "run");
        assert_string_equal(json_string_value(json_object_get(j, "target_kind")), "account");
        assert_int_equal(json_array_size(json_object_get(j, "targets")), 3);
        assert_string_equal(json_string_value(json_object_get(json_object_get(j, "params"), "ticket")),
                            "INC-7");
        json_decref(j);
        free(in);
        test_action_free(t);
        exec_k->close(s);
        free(prog);
}

static void test_exec_exit_status_and_output_cap(void **state) {
        char *prog =
                script("noisy", "i=0\nwhile [ $i -lt 500 ]; do echo 0123456789abcdefghi; i=$((i+1)); done\n"
                                "echo to-stderr >&2\nexit 3\n");
        int r;
        bw_error err;
        void *s = open_exec(prog, "\"max_output\":100", &r, &err);
        assert_int_equal(r, 0);
        test_action *t = test_action_new("run", TARGET_NONE, NULL, NULL);
        connector_result res = {0};
        assert_int_equal(exec_k->ops[CONNECTOR_OP_APPLY](s, &t->a, &res), 0);
        assert_false(res.ok);
        assert_string_equal(res.detail, "program exit status 3, output truncated");
        assert_int_equal(json_integer_value(json_object_get(res.data, "exit_status")), 3);
        assert_true(json_is_true(json_object_get(res.data, "truncated")));
        const char *out = json_string_value(json_object_get(res.data, "output"));
        assert_int_equal(strlen(out), 100);
        assert_memory_equal(out, "0123456789abcdefghi\n0123456789", 30);
        connector_result_clear(&res);
        test_action_free(t);
        exec_k->close(s);
        free(prog);
}

static void test_exec_timeout_kills_the_process_group(void **state) {
        /* The program leaves a child in its process group, then hangs. */
        char *prog = script("hang", "sleep 60 &\necho $! > \"$DIR/child\"\nwait\n");
        int r;
        bw_error err;
        void *s = open_exec(prog, "\"timeout_ms\":2000", &r, &err);
        assert_int_equal(r, 0);
        test_action *t = test_action_new("run", TARGET_NONE, NULL, NULL);
        connector_result res = {0};
        assert_int_equal(exec_k->ops[CONNECTOR_OP_APPLY](s, &t->a, &res), -ETIMEDOUT);
        assert_non_null(strstr(res.detail, "timed out"));
        connector_result_clear(&res);
        char *child = dir_file("child");
        assert_non_null(child);
        pid_t pid = (pid_t)test_number(child);
        assert_true(pid > 1);
        assert_true(test_wait_exit(pid));
        free(child);
        test_action_free(t);
        exec_k->close(s);
        free(prog);
}

static void test_exec_program_that_ignores_stdin(void **state) {
        char *prog = script("deaf", "exit 0\n");
        int r;
        bw_error err;
        void *s = open_exec(prog, NULL, &r, &err);
        assert_int_equal(r, 0);
        /* Far more input than a socket buffer holds. */
        size_t n = 3000;
        char **targets = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                targets[i] = malloc(201);
                memset(targets[i], 'a', 200);
                targets[i][200] = '\0';
        }
        test_action *t = test_action_new("run", TARGET_STRING, (const char *const *)targets, NULL);
        connector_result res = {0};
        assert_int_equal(exec_k->ops[CONNECTOR_OP_APPLY](s, &t->a, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        for (size_t i = 0; i < n; i++)
                free(targets[i]);
        free(targets);
        test_action_free(t);
        exec_k->close(s);
        free(prog);
}

static void test_exec_verify_exit_codes(void **state) {
        char *prog = script("apply", "exit 0\n");
        char *check =
                script("check", "case \"$1\" in present) exit 0;; absent) exit 1;; *) exit 7;; esac\n");
        char extra[512];
        snprintf(extra, sizeof(extra), "\"verify_program\":\"%s\"", check);
        int r;
        bw_error err;
        void *s = open_exec(prog, extra, &r, &err);
        assert_int_equal(r, 0);
        connector_result res = {0};
        const char *present[] = {"present", NULL}, *absent[] = {"absent", NULL}, *odd[] = {"odd", NULL};
        test_action *t = test_action_new("run", TARGET_STRING, present, NULL);
        assert_int_equal(exec_k->ops[CONNECTOR_OP_VERIFY](s, &t->a, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        test_action_free(t);
        t = test_action_new("run", TARGET_STRING, absent, NULL);
        assert_int_equal(exec_k->ops[CONNECTOR_OP_VERIFY](s, &t->a, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "absent"));
        connector_result_clear(&res);
        test_action_free(t);
        t = test_action_new("run", TARGET_STRING, odd, NULL);
        assert_int_equal(exec_k->ops[CONNECTOR_OP_VERIFY](s, &t->a, &res), -EPROTO);
        connector_result_clear(&res);
        test_action_free(t);
        exec_k->close(s);

        /* Without verify_program there is nothing to verify with. */
        s = open_exec(prog, NULL, &r, &err);
        t = test_action_new("run", TARGET_STRING, present, NULL);
        assert_int_equal(exec_k->ops[CONNECTOR_OP_VERIFY](s, &t->a, &res), -EOPNOTSUPP);
        connector_result_clear(&res);
        test_action_free(t);
        exec_k->close(s);
        free(prog);
        free(check);
}

static void test_exec_refuses_option_like_targets(void **state) {
        char *prog = script("p", "touch \"$DIR/ran\"\n");
        int r;
        bw_error err;
        void *s = open_exec(prog, NULL, &r, &err);
        const char *targets[] = {"alice", "--delete-all", NULL};
        test_action *t = test_action_new("run", TARGET_ACCOUNT, targets, NULL);
        connector_result res = {0};
        assert_int_equal(exec_k->ops[CONNECTOR_OP_VALIDATE](s, &t->a, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "targets[1]"));
        assert_int_equal(exec_k->ops[CONNECTOR_OP_APPLY](s, &t->a, &res), -EINVAL);
        char *ran = dir_file("ran");
        assert_null(ran);
        test_action_free(t);
        exec_k->close(s);
        free(prog);
}

static void test_exec_refuses_untrusted_programs(void **state) {
        int r;
        bw_error err;
        char *loose = test_write_file(dir, "loose", "#!/bin/sh\nexit 0\n", 0777);
        assert_null(open_exec(loose, NULL, &r, &err));
        assert_int_equal(r, -EPERM);
        assert_string_equal(err.field, "program");
        assert_non_null(strstr(err.message, "writable by group or others"));

        char *noexec = test_write_file(dir, "noexec", "#!/bin/sh\nexit 0\n", 0644);
        assert_null(open_exec(noexec, NULL, &r, &err));
        assert_int_equal(r, -EPERM);
        assert_non_null(strstr(err.message, "not executable"));

        /* A sound file in a directory anyone may write to (and not sticky). */
        char sub[512];
        snprintf(sub, sizeof(sub), "%s/open", dir);
        assert_int_equal(mkdir(sub, 0777), 0);
        assert_int_equal(chmod(sub, 0777), 0);
        char *inside = test_write_file(sub, "p", "#!/bin/sh\nexit 0\n", 0755);
        assert_null(open_exec(inside, NULL, &r, &err));
        assert_int_equal(r, -EPERM);
        assert_non_null(strstr(err.message, "directory"));

        char extra[600];
        snprintf(extra, sizeof(extra), "\"verify_program\":\"%s\"", loose);
        assert_null(open_exec("/bin/true", extra, &r, &err));
        assert_int_equal(r, -EPERM);
        assert_string_equal(err.field, "verify_program");

        assert_null(open_exec("/nonexistent/program", NULL, &r, &err));
        assert_int_equal(r, -ENOENT);
        assert_null(open_exec(dir, NULL, &r, &err));
        assert_int_equal(r, -EPERM);
        assert_non_null(strstr(err.message, "regular file"));
        free(loose);
        free(noexec);
        free(inside);
}

int main(void) {
        exec_k = connector_kind_find("exec");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_exec_runs_program_with_argv_env_and_stdin, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_exec_exit_status_and_output_cap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_timeout_kills_the_process_group, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_program_that_ignores_stdin, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_verify_exit_codes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_refuses_option_like_targets, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_refuses_untrusted_programs, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
