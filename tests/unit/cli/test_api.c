/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the CLI's API commands against a real HTTP server on loopback:
 * what goes on the wire (method, path, token, content type, body), how replies
 * and errors are shown, and what the client refuses to do. */
#include "cli_tests.h"

#include <stdlib.h>
#include <string.h>

static int api_run(api_fixture *f, capture *c, int (*fn)(const cli_ctx *, int, char **), int argc,
                   char **argv) {
        capture_open(c, f->server.url, f->token_file);
        int code = fn(&c->ctx, argc, argv);
        capture_close(c);
        return code;
}

/* One alert: POST /v1/alerts with the file's exact bytes and the bearer token. */
static void test_alert_send_single(void **state) {
        api_fixture *f = *state;
        static const char alert[] = "{\n  \"source\": \"sshd\",\n  \"type\": \"ssh.bruteforce\",\n"
                                    "  \"severity\": \"high\"\n}\n";
        char path[PATH_MAX];
        file_put(f->dir, "a.json", alert, 0644, path);
        f->server.status = 202;
        f->server.reply = "{\"id\":7,\"status\":\"queued\"}";
        capture c;
        char *argv[] = {"alert", "send", path, NULL};
        assert_int_equal(api_run(f, &c, cli_alert_main, 3, argv), CLI_EXIT_OK);
        assert_string_equal(c.out, "{\"id\":7,\"status\":\"queued\"}\n");
        assert_string_equal(c.err, "");
        assert_int_equal(f->server.n_requests, 1);
        assert_true(strncmp(f->server.head, "POST /v1/alerts HTTP/1.1\r\n", 26) == 0);
        assert_non_null(strstr(f->server.head, "\r\nAuthorization: Bearer " TEST_TOKEN "\r\n"));
        assert_non_null(strstr(f->server.head, "\r\nContent-Type: application/json\r\n"));
        assert_int_equal(f->server.body_len, strlen(alert));
        assert_memory_equal(f->server.body, alert, strlen(alert));
        capture_free(&c);
}

/* Several lines: one NDJSON batch without the blank lines; rejected lines are
 * reported against the file's own line numbers. */
static void test_alert_send_batch(void **state) {
        api_fixture *f = *state;
        char path[PATH_MAX];
        file_put(f->dir, "b.ndjson",
                 "{\"source\":\"a\",\"type\":\"t\",\"severity\":\"low\"}\n"
                 "\n"
                 "{\"source\":\"a\",\"type\":\"t\",\"severity\":\"bad\"}\n",
                 0644, path);
        f->server.status = 200;
        f->server.reply = "{\"accepted\":1,\"rejected\":1,\"results\":[{\"line\":1,\"id\":3},"
                          "{\"line\":2,\"error\":{\"code\":\"invalid\",\"message\":\"unknown severity\","
                          "\"field\":\"severity\"}}]}";
        capture c;
        char *argv[] = {"alert", "send", path, NULL};
        assert_int_equal(api_run(f, &c, cli_alert_main, 3, argv), CLI_EXIT_OK);
        assert_true(strncmp(f->server.head, "POST /v1/alerts/batch HTTP/1.1\r\n", 32) == 0);
        assert_non_null(strstr(f->server.head, "\r\nContent-Type: application/x-ndjson\r\n"));
        assert_string_equal(f->server.body, "{\"source\":\"a\",\"type\":\"t\",\"severity\":\"low\"}\n"
                                            "{\"source\":\"a\",\"type\":\"t\",\"severity\":\"bad\"}\n");
        assert_non_null(strstr(c.out, "\"accepted\":1"));
        char expect[PATH_MAX + 64];
        snprintf(expect, sizeof(expect), "bulwark: %s:3: severity: unknown severity\n", path);
        assert_string_equal(c.err, expect);
        capture_free(&c);
}

/* A refusal: exit 1, the reply on stdout, the field named on stderr. */
static void test_alert_send_error_names_field(void **state) {
        api_fixture *f = *state;
        char path[PATH_MAX];
        file_put(f->dir, "a.json", "{\"source\":\"a\",\"type\":\"t\",\"severity\":\"low\",\"x\":1}", 0644,
                 path);
        f->server.status = 400;
        f->server.reply =
                "{\"error\":{\"code\":\"unknown_field\",\"message\":\"unknown field\",\"field\":\"x\"}}";
        capture c;
        char *argv[] = {"alert", "send", path, NULL};
        assert_int_equal(api_run(f, &c, cli_alert_main, 3, argv), CLI_EXIT_FAIL);
        assert_string_equal(c.err, "bulwark: HTTP 400: x: unknown field\n");
        assert_non_null(strstr(c.out, "unknown_field"));
        capture_free(&c);

        f->server.status = 503;
        f->server.reply =
                "{\"error\":{\"code\":\"queue_full\",\"message\":\"the queue is full\",\"field\":\"\"}}";
        f->server.headers = "Retry-After: 1\r\n";
        assert_int_equal(api_run(f, &c, cli_alert_main, 3, argv), CLI_EXIT_FAIL);
        assert_string_equal(c.err, "bulwark: HTTP 503: the queue is full (retry after 1 s)\n");
        f->server.headers = NULL;
        capture_free(&c);
}

/* exec list: GET with the limit, a stable aligned table, times in UTC. */
static void test_exec_list_table(void **state) {
        api_fixture *f = *state;
        f->server.status = 200;
        f->server.reply =
                "{\"executions\":["
                "{\"id\":12,\"alert_id\":40,\"playbook\":\"block-ssh-bruteforce\",\"playbook_version\":1,"
                "\"level\":3,\"status\":\"succeeded\",\"summary\":\"1 applied\","
                "\"created_at\":1795000000123,\"finished_at\":null},"
                "{\"id\":9,\"alert_id\":7,\"playbook\":\"p\",\"playbook_version\":2,\"level\":2,"
                "\"status\":\"recorded\",\"summary\":\"\",\"created_at\":0,\"finished_at\":0}]}";
        capture c;
        char *argv[] = {"exec", "list", "--limit", "5", NULL};
        assert_int_equal(api_run(f, &c, cli_exec_main, 4, argv), CLI_EXIT_OK);
        assert_true(strncmp(f->server.head, "GET /v1/executions?limit=5 HTTP/1.1\r\n", 37) == 0);
        assert_non_null(strstr(f->server.head, "\r\nAuthorization: Bearer " TEST_TOKEN "\r\n"));
        assert_string_equal(c.out,
                            "ID  ALERT  PLAYBOOK              LEVEL  STATUS     CREATED\n"
                            "12  40     block-ssh-bruteforce  3      succeeded  2026-11-18T11:06:40Z\n"
                            "9   7      p                     2      recorded   1970-01-01T00:00:00Z\n");
        capture_free(&c);

        /* --json: the server's bytes; --before pages. */
        char *raw[] = {"exec", "list", "--json", "--before", "9", NULL};
        assert_int_equal(api_run(f, &c, cli_exec_main, 5, raw), CLI_EXIT_OK);
        assert_true(strncmp(f->server.head, "GET /v1/executions?limit=50&before=9 HTTP/1.1\r\n", 47) == 0);
        assert_true(strncmp(c.out, f->server.reply, strlen(f->server.reply)) == 0);
        capture_free(&c);
}

/* exec show: indented JSON; a 404 names what is missing; escape sequences
 * from the server never reach the terminal. */
static void test_exec_show(void **state) {
        api_fixture *f = *state;
        f->server.status = 200;
        f->server.reply = "{\"id\":3,\"actions\":[{\"id\":1,\"detail\":\"ok\\u001b[2J\"}]}";
        capture c;
        char *argv[] = {"exec", "show", "3", NULL};
        assert_int_equal(api_run(f, &c, cli_exec_main, 3, argv), CLI_EXIT_OK);
        assert_true(strncmp(f->server.head, "GET /v1/executions/3 HTTP/1.1\r\n", 31) == 0);
        assert_string_equal(c.out, "{\n  \"id\": 3,\n  \"actions\": [\n    {\n      \"id\": 1,\n"
                                   "      \"detail\": \"ok\\u001B[2J\"\n    }\n  ]\n}\n");
        capture_free(&c);

        f->server.status = 404;
        f->server.reply = "{\"error\":{\"code\":\"not_found\",\"message\":\"no execution "
                          "3\\u001b[31m\",\"field\":\"id\"}}";
        assert_int_equal(api_run(f, &c, cli_exec_main, 3, argv), CLI_EXIT_FAIL);
        assert_null(memchr(c.err, 0x1b, c.err_len));
        assert_non_null(strstr(c.err, "bulwark: HTTP 404: id: no execution 3"));
        capture_free(&c);
}

/* What the client refuses: a token file others can read, a short token, plain
 * http to a non-loopback host, other schemes. No request is ever sent. */
static void test_client_refusals(void **state) {
        api_fixture *f = *state;
        char loose[PATH_MAX], shortt[PATH_MAX];
        file_put(f->dir, "loose", TEST_TOKEN "\n", 0644, loose);
        file_put(f->dir, "short", "abc\n", 0600, shortt);
        capture c;
        char *argv[] = {"exec", "show", "1", NULL};

        capture_open(&c, f->server.url, loose);
        assert_int_equal(cli_exec_main(&c.ctx, 3, argv), CLI_EXIT_FAIL);
        capture_close(&c);
        assert_non_null(strstr(c.err, "group or others may read or write it (chmod 600)"));
        capture_free(&c);

        capture_open(&c, f->server.url, shortt);
        assert_int_equal(cli_exec_main(&c.ctx, 3, argv), CLI_EXIT_FAIL);
        capture_close(&c);
        assert_non_null(strstr(c.err, "token_file: the first line of"));
        capture_free(&c);

        capture_open(&c, "http://192.0.2.1:8080", f->token_file);
        assert_int_equal(cli_exec_main(&c.ctx, 3, argv), CLI_EXIT_FAIL);
        capture_close(&c);
        assert_non_null(strstr(c.err, "url: plain http is allowed only to a loopback address"));
        capture_free(&c);

        capture_open(&c, "ftp://127.0.0.1/", f->token_file);
        assert_int_equal(cli_exec_main(&c.ctx, 3, argv), CLI_EXIT_FAIL);
        capture_close(&c);
        assert_non_null(strstr(c.err, "url: only http and https URLs are supported"));
        capture_free(&c);

        assert_int_equal(f->server.n_requests, 0);
}

/* A reply over CLI_RESPONSE_MAX is cut off, not buffered. */
static void test_reply_size_cap(void **state) {
        api_fixture *f = *state;
        size_t len = CLI_RESPONSE_MAX + 1;
        char *big = malloc(len);
        assert_non_null(big);
        memset(big, ' ', len);
        f->server.status = 200;
        f->server.reply = big;
        f->server.reply_len = len;
        capture c;
        char *argv[] = {"exec", "show", "1", NULL};
        assert_int_equal(api_run(f, &c, cli_exec_main, 3, argv), CLI_EXIT_FAIL);
        assert_non_null(strstr(c.err, "the reply is larger than 1048576 bytes"));
        assert_string_equal(c.out, "");
        capture_free(&c);
        f->server.reply = "{}";
        f->server.reply_len = 0;
        free(big);
}

/* No server listening: one clear line, exit 1. */
static void test_unreachable(void **state) {
        api_fixture *f = *state;
        capture c;
        char *argv[] = {"exec", "show", "1", NULL};
        capture_open(&c, "http://127.0.0.1:1", f->token_file);
        assert_int_equal(cli_exec_main(&c.ctx, 3, argv), CLI_EXIT_FAIL);
        capture_close(&c);
        assert_true(strncmp(c.err, "bulwark: url: http://127.0.0.1:1/v1/executions/1: ", 50) == 0);
        assert_non_null(strchr(c.err, '\n'));
        assert_ptr_equal(strchr(c.err, '\n'), c.err + strlen(c.err) - 1);
        capture_free(&c);
}

int api_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_alert_send_single, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_alert_send_batch, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_alert_send_error_names_field, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_exec_list_table, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_exec_show, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_client_refusals, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reply_size_cap, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_unreachable, api_fixture_setup, api_fixture_teardown),
        };
        return cmocka_run_group_tests_name("cli_api", tests, NULL, NULL);
}
