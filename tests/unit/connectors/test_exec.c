/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the exec connector with real programs (shell scripts written to
 * a temporary directory; the connector itself never runs a shell): argv, the
 * clean environment, stdin, output capture, the timeout that kills the process
 * group, verify's exit codes, snapshot and rollback programs and the checks on
 * the program files. */
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

/* The settings of an integration with program and extra (JSON members or NULL). */
static json_t *exec_settings_json(const char *program, const char *extra) {
        char text[4096];
        snprintf(text, sizeof(text), "{\"program\":\"%s\"%s%s}", program, extra ? "," : "",
                 extra ? extra : "");
        json_t *s = json_loads(text, 0, NULL);
        assert_non_null(s);
        return s;
}

static void *open_exec(const char *program, const char *extra, int *ret_r, bw_error *err) {
        json_t *s = exec_settings_json(program, extra);
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

/* An exec integration with settings has snapshot and rollback, and is
 * reversible, exactly when want says; it can always apply. */
static void assert_reversible(const json_t *settings, bool want) {
        assert_int_equal(connector_kind_has_op(exec_k, settings, CONNECTOR_OP_SNAPSHOT), want);
        assert_int_equal(connector_kind_has_op(exec_k, settings, CONNECTOR_OP_ROLLBACK), want);
        assert_int_equal(connector_action_reversible(exec_k, settings, "run"), want);
        assert_true(connector_kind_has_op(exec_k, settings, CONNECTOR_OP_APPLY));
}

/* The settings members of a snapshot and a rollback program. */
static char *reversible_settings(const char *snapshot, const char *rollback) {
        char *text = NULL;
        if (asprintf(&text, "\"snapshot_program\":\"%s\",\"rollback_program\":\"%s\"", snapshot, rollback) <
            0)
                abort();
        return text;
}

static void test_exec_snapshot_then_rollback_gets_the_snapshot(void **state) {
        char *prog = script("apply", "cat > \"$DIR/apply-stdin\"\n");
        /* A warning on stderr must not spoil the JSON on stdout. */
        char *snap = script(
                "snap", "echo 'warning: slow directory' >&2\n"
                        "printf '{\"account\":\"%s\",\"enabled\":true,\"groups\":[\"ops\"]}\\n' \"$2\"\n");
        char *back = script("back", "printf '%s\\n' \"$@\" > \"$DIR/rollback-argv\"\n"
                                    "cat > \"$DIR/rollback-stdin\"\n");
        char *pair = reversible_settings(snap, back);
        char extra[2048];
        snprintf(extra, sizeof(extra), "\"args\":[\"--fixed\"],%s", pair);
        json_t *settings = exec_settings_json(prog, extra);
        assert_reversible(settings, true);
        void *s = NULL;
        bw_error err;
        assert_int_equal(exec_k->open(settings, &s, &err), 0);

        const char *accounts[] = {"j.doe", NULL};
        test_action *t = test_action_new("run", TARGET_ACCOUNT, accounts, "{\"ticket\":\"INC-9\"}");
        connector_result res = {0};
        assert_int_equal(exec_k->ops[CONNECTOR_OP_SNAPSHOT](s, &t->a, &res), 0);
        assert_true(res.ok);
        assert_string_equal(res.detail, "snapshot program exit status 0: recorded 3 key(s)");
        json_t *expect =
                json_loads("{\"account\":\"j.doe\",\"enabled\":true,\"groups\":[\"ops\"]}", 0, NULL);
        assert_true(json_equal(res.data, expect));
        json_t *snapshot = json_incref(res.data);
        connector_result_clear(&res);

        /* Apply's stdin carries no snapshot. */
        assert_int_equal(exec_k->ops[CONNECTOR_OP_APPLY](s, &t->a, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        char *in = dir_file("apply-stdin");
        json_t *got = json_loads(in, 0, NULL);
        assert_non_null(got);
        assert_null(json_object_get(got, "snapshot"));
        json_decref(got);
        free(in);

        /* Rollback without the snapshot has nothing to restore: nothing runs. */
        assert_int_equal(exec_k->ops[CONNECTOR_OP_ROLLBACK](s, &t->a, &res), -EINVAL);
        assert_non_null(strstr(res.detail, "snapshot: missing"));
        in = dir_file("rollback-stdin");
        assert_null(in);

        t->a.snapshot = snapshot;
        assert_int_equal(exec_k->ops[CONNECTOR_OP_ROLLBACK](s, &t->a, &res), 0);
        assert_true(res.ok);
        assert_string_equal(res.detail, "rollback program exit status 0");
        connector_result_clear(&res);
        char *argv = dir_file("rollback-argv");
        assert_string_equal(argv, "--fixed\nj.doe\n");
        free(argv);
        in = dir_file("rollback-stdin");
        got = json_loads(in, 0, NULL);
        assert_non_null(got);
        assert_true(json_equal(json_object_get(got, "snapshot"), expect));
        assert_int_equal(json_integer_value(json_object_get(got, "action_id")), 42);
        assert_string_equal(json_string_value(json_object_get(got, "verb")), "run");
        assert_string_equal(json_string_value(json_array_get(json_object_get(got, "targets"), 0)), "j.doe");
        assert_string_equal(json_string_value(json_object_get(json_object_get(got, "params"), "ticket")),
                            "INC-9");
        json_decref(got);
        free(in);

        json_decref(expect);
        json_decref(snapshot);
        json_decref(settings);
        test_action_free(t);
        exec_k->close(s);
        free(pair);
        free(prog);
        free(snap);
        free(back);
}

/* Runs SNAPSHOT with a snapshot program of body; returns its return value, res filled. */
static int snapshot_with(const char *body, connector_result *res) {
        char *snap = script("snap", body);
        char *back = script("back", "exit 0\n");
        char *extra = reversible_settings(snap, back);
        int r;
        bw_error err;
        void *s = open_exec("/bin/true", extra, &r, &err);
        assert_int_equal(r, 0);
        test_action *t = test_action_new("run", TARGET_NONE, NULL, NULL);
        *res = (connector_result){0};
        r = exec_k->ops[CONNECTOR_OP_SNAPSHOT](s, &t->a, res);
        test_action_free(t);
        exec_k->close(s);
        free(extra);
        free(snap);
        free(back);
        return r;
}

static void test_exec_snapshot_output_must_be_one_object(void **state) {
        connector_result res;
        /* Not JSON: an error that says so and does not quote the output. */
        assert_int_equal(snapshot_with("echo 'password=hunter2 not json'\n", &res), -EPROTO);
        assert_false(res.ok);
        assert_string_equal(res.detail,
                            "snapshot program did not print one JSON object on stdout: invalid JSON");
        assert_null(strstr(res.detail, "hunter2"));
        assert_null(res.data);
        connector_result_clear(&res);

        assert_int_equal(snapshot_with("echo '[1, 2]'\n", &res), -EPROTO);
        assert_string_equal(
                res.detail,
                "snapshot program did not print one JSON object on stdout: JSON, but not an object");
        connector_result_clear(&res);

        assert_int_equal(snapshot_with("echo '{\"a\":1} {\"b\":2}'\n", &res), -EPROTO);
        assert_non_null(strstr(res.detail, "on stdout: invalid JSON"));
        connector_result_clear(&res);

        assert_int_equal(snapshot_with("exit 0\n", &res), -EPROTO);
        assert_non_null(strstr(res.detail, "on stdout: invalid JSON"));
        connector_result_clear(&res);

        /* A program that fails is the op's outcome, with its exit status. */
        assert_int_equal(snapshot_with("echo '{}'\nexit 4\n", &res), 0);
        assert_false(res.ok);
        assert_string_equal(res.detail, "snapshot program exit status 4");
        assert_int_equal(json_integer_value(json_object_get(res.data, "exit_status")), 4);
        connector_result_clear(&res);

        /* More than max_output is never parsed (the default: 65536 bytes). */
        assert_int_equal(snapshot_with("printf '{\"pad\":\"'\ni=0\n"
                                       "while [ $i -lt 7000 ]; do printf aaaaaaaaaa; i=$((i+1)); done\n"
                                       "printf '\"}'\n",
                                       &res),
                         -EPROTO);
        assert_string_equal(
                res.detail,
                "snapshot program did not print one JSON object on stdout: more than max_output");
        connector_result_clear(&res);
}

static void test_exec_snapshot_and_rollback_only_when_configured(void **state) {
        char *snap = script("snap", "echo '{}'\n");
        char *back = script("back", "exit 0\n");
        int r;
        bw_error err;
        char text[2048];

        /* Neither: the ops do not exist for the integration, nor does reversibility. */
        json_t *plain = exec_settings_json("/bin/true", NULL);
        assert_int_equal(exec_k->check_settings(plain, &err), 0);
        assert_reversible(plain, false);
        json_decref(plain);
        void *s = open_exec("/bin/true", NULL, &r, &err);
        assert_int_equal(r, 0);
        test_action *t = test_action_new("run", TARGET_NONE, NULL, NULL);
        connector_result res = {0};
        assert_int_equal(exec_k->ops[CONNECTOR_OP_SNAPSHOT](s, &t->a, &res), -EOPNOTSUPP);
        assert_string_equal(res.detail, "no snapshot_program configured");
        assert_int_equal(exec_k->ops[CONNECTOR_OP_ROLLBACK](s, &t->a, &res), -EOPNOTSUPP);
        assert_string_equal(res.detail, "no rollback_program configured");
        test_action_free(t);
        exec_k->close(s);

        /* One without the other: check_settings (and open) name the missing one. */
        snprintf(text, sizeof(text), "\"snapshot_program\":\"%s\"", snap);
        json_t *half = exec_settings_json("/bin/true", text);
        err = (bw_error){0};
        assert_int_equal(exec_k->check_settings(half, &err), -EINVAL);
        assert_string_equal(err.code, "missing");
        assert_string_equal(err.field, "rollback_program");
        assert_false(connector_action_reversible(exec_k, half, "run"));
        json_decref(half);
        assert_null(open_exec("/bin/true", text, &r, &err));
        assert_int_equal(r, -EINVAL);
        assert_string_equal(err.field, "rollback_program");
        snprintf(text, sizeof(text), "\"rollback_program\":\"%s\"", back);
        half = exec_settings_json("/bin/true", text);
        err = (bw_error){0};
        assert_int_equal(exec_k->check_settings(half, &err), -EINVAL);
        assert_string_equal(err.code, "missing");
        assert_string_equal(err.field, "snapshot_program");
        json_decref(half);

        /* A relative path, or a file others could change, is refused as program's is. */
        snprintf(text, sizeof(text), "\"snapshot_program\":\"bin/snap\",\"rollback_program\":\"%s\"", back);
        assert_null(open_exec("/bin/true", text, &r, &err));
        assert_int_equal(r, -EINVAL);
        assert_string_equal(err.field, "snapshot_program");
        char *loose = test_write_file(dir, "loose", "#!/bin/sh\nexit 0\n", 0777);
        char *pair = reversible_settings(snap, loose);
        assert_null(open_exec("/bin/true", pair, &r, &err));
        assert_int_equal(r, -EPERM);
        assert_string_equal(err.field, "rollback_program");
        assert_non_null(strstr(err.message, "writable by group or others"));
        free(pair);
        free(loose);
        free(snap);
        free(back);
}

/* Every test has a fresh temporary directory. */
#define EXEC_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
        exec_k = connector_kind_find("exec");
        const struct CMUnitTest tests[] = {
                EXEC_TEST(test_exec_runs_program_with_argv_env_and_stdin),
                EXEC_TEST(test_exec_exit_status_and_output_cap),
                EXEC_TEST(test_exec_timeout_kills_the_process_group),
                EXEC_TEST(test_exec_program_that_ignores_stdin),
                EXEC_TEST(test_exec_verify_exit_codes),
                EXEC_TEST(test_exec_refuses_option_like_targets),
                EXEC_TEST(test_exec_refuses_untrusted_programs),
                EXEC_TEST(test_exec_snapshot_then_rollback_gets_the_snapshot),
                EXEC_TEST(test_exec_snapshot_output_must_be_one_object),
                EXEC_TEST(test_exec_snapshot_and_rollback_only_when_configured),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
