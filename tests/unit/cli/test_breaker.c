/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of `bulwark breaker status|reset` against a real HTTP server on
 * loopback: what goes on the wire (method, path, token, exact body), how the
 * breaker's state and the server's refusals are shown, and what is never sent. */
#include "cli_tests.h"

#include <stdlib.h>
#include <string.h>

/* 1795000000123 ms and 1795003600000 ms since the epoch, in UTC. */
#define OPENED_MS "1795000000123"
#define OPENED_UTC "2026-11-18T11:06:40Z"
#define RESET_MS "1795003600000"
#define RESET_UTC "2026-11-18T12:06:40Z"

/* Runs `bulwark breaker <argv...>` with output captured in f->c (freed first,
 * so a test may run several commands). */
static int breaker_run(api_fixture *f, int argc, char **argv) {
        capture_free(&f->c);
        capture_open(&f->c, f->server.url, f->token_file);
        int code = cli_breaker_main(&f->c.ctx, argc, argv);
        capture_close(&f->c);
        return code;
}

static void assert_request(const api_fixture *f, const char *request_line) {
        assert_true(strncmp(f->server.head, request_line, strlen(request_line)) == 0);
        assert_non_null(strstr(f->server.head, "\r\nAuthorization: Bearer " TEST_TOKEN "\r\n"));
}

/* An open breaker: GET /v1/breaker with the token; state, reason and opening
 * time in UTC; no reset line while it was never reset. */
static void test_status_open(void **state) {
        api_fixture *f = *state;
        f->server.reply = "{\"open\":true,\"reason\":\"rate budget exceeded: nft.block per minute\","
                          "\"opened_at\":" OPENED_MS ",\"reset_by\":null,\"reset_reason\":null,"
                          "\"reset_at\":null}";
        char *argv[] = {"breaker", "status", NULL};
        assert_int_equal(breaker_run(f, 2, argv), CLI_EXIT_OK);
        assert_int_equal(f->server.n_requests, 1);
        assert_request(f, "GET /v1/breaker HTTP/1.1\r\n");
        assert_int_equal(f->server.body_len, 0);
        assert_string_equal(f->c.out, "breaker: open\n"
                                      "reason: rate budget exceeded: nft.block per minute\n"
                                      "opened at: " OPENED_UTC "\n");
        assert_string_equal(f->c.err, "");
}

/* A closed breaker that was reset before shows who reset it, when and why; one
 * never opened (strings absent) shows only its state. */
static void test_status_closed(void **state) {
        api_fixture *f = *state;
        f->server.reply = "{\"open\":false,\"reason\":\"rate budget exceeded\",\"opened_at\":null,"
                          "\"reset_by\":\"alice\",\"reset_reason\":\"false positive, INC-42\","
                          "\"reset_at\":" RESET_MS "}";
        char *argv[] = {"breaker", "status", NULL};
        assert_int_equal(breaker_run(f, 2, argv), CLI_EXIT_OK);
        assert_string_equal(f->c.out, "breaker: closed\n"
                                      "last reset: " RESET_UTC " by alice: false positive, INC-42\n");

        f->server.reply = "{\"open\":false,\"opened_at\":null,\"reset_at\":null}";
        assert_int_equal(breaker_run(f, 2, argv), CLI_EXIT_OK);
        assert_string_equal(f->c.out, "breaker: closed\n");
        assert_int_equal(f->server.n_requests, 2);
}

/* --json prints the server's bytes; escape sequences in a reason never reach
 * the terminal; a reply without the state is an error, not "closed". */
static void test_status_json_and_hostile_reply(void **state) {
        api_fixture *f = *state;
        f->server.reply = "{\"open\":false,\"reset_at\":null}";
        char *raw[] = {"breaker", "status", "--json", NULL};
        assert_int_equal(breaker_run(f, 3, raw), CLI_EXIT_OK);
        assert_string_equal(f->c.out, "{\"open\":false,\"reset_at\":null}\n");

        f->server.reply = "{\"open\":true,\"reason\":\"x\\u001b[2Jy\",\"opened_at\":" OPENED_MS "}";
        char *argv[] = {"breaker", "status", NULL};
        assert_int_equal(breaker_run(f, 2, argv), CLI_EXIT_OK);
        assert_string_equal(f->c.out, "breaker: open\nreason: x?[2Jy\nopened at: " OPENED_UTC "\n");

        f->server.reply = "{\"reason\":\"x\"}";
        assert_int_equal(breaker_run(f, 2, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.out, "");
        assert_string_equal(f->c.err, "bulwark: the server's reply has no \"open\" boolean\n");
}

/* reset: POST /v1/breaker/reset with the token and exactly {"reason":...} as
 * JSON (quotes escaped); the reply's closed state and reset line printed. */
static void test_reset_sends_reason(void **state) {
        api_fixture *f = *state;
        f->server.reply = "{\"open\":false,\"reason\":\"rate budget exceeded\",\"opened_at\":" OPENED_MS ","
                          "\"reset_by\":\"alice\",\"reset_reason\":\"checked \\\"INC-42\\\"\","
                          "\"reset_at\":" RESET_MS "}";
        char *argv[] = {"breaker", "reset", "--reason", "checked \"INC-42\"", NULL};
        assert_int_equal(breaker_run(f, 4, argv), CLI_EXIT_OK);
        assert_int_equal(f->server.n_requests, 1);
        assert_request(f, "POST /v1/breaker/reset HTTP/1.1\r\n");
        assert_non_null(strstr(f->server.head, "\r\nContent-Type: application/json\r\n"));
        static const char body[] = "{\"reason\":\"checked \\\"INC-42\\\"\"}";
        assert_int_equal(f->server.body_len, strlen(body));
        assert_memory_equal(f->server.body, body, strlen(body));
        assert_string_equal(f->c.out, "breaker: closed\n"
                                      "last reset: " RESET_UTC " by alice: checked \"INC-42\"\n");
        assert_string_equal(f->c.err, "");

        char *equals[] = {"breaker", "reset", "--reason=ok", NULL};
        assert_int_equal(breaker_run(f, 3, equals), CLI_EXIT_OK);
        assert_string_equal(f->server.body, "{\"reason\":\"ok\"}");
}

/* The server's refusals: exit 1, its message (and field) on stderr, nothing on
 * stdout. */
static void test_reset_refused(void **state) {
        api_fixture *f = *state;
        f->server.status = 409;
        f->server.reply = "{\"error\":{\"code\":\"not_open\",\"message\":\"the breaker is not open\","
                          "\"field\":\"\"}}";
        char *argv[] = {"breaker", "reset", "--reason", "again", NULL};
        assert_int_equal(breaker_run(f, 4, argv), CLI_EXIT_FAIL);
        assert_int_equal(f->server.n_requests, 1);
        assert_string_equal(f->c.err, "bulwark: HTTP 409: the breaker is not open\n");
        assert_string_equal(f->c.out, "");

        f->server.status = 400;
        f->server.reply = "{\"error\":{\"code\":\"too_large\",\"message\":\"at most 512 characters\","
                          "\"field\":\"reason\"}}";
        assert_int_equal(breaker_run(f, 4, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: HTTP 400: reason: at most 512 characters\n");

        f->server.status = 403;
        f->server.reply = "{\"error\":{\"code\":\"forbidden\",\"message\":\"needs the admin role\","
                          "\"field\":\"\"}}";
        char *status[] = {"breaker", "status", NULL};
        assert_int_equal(breaker_run(f, 2, status), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: HTTP 403: needs the admin role\n");
        assert_string_equal(f->c.out, "");
}

/* Bad arguments: exit 2 with the usage, and no request ever leaves. */
static void test_usage_sends_nothing(void **state) {
        api_fixture *f = *state;
        char *no_reason[] = {"breaker", "reset", NULL};
        assert_int_equal(breaker_run(f, 2, no_reason), CLI_EXIT_USAGE);
        static const char missing[] = "bulwark: breaker reset: --reason TEXT is required\nusage: ";
        assert_true(strncmp(f->c.err, missing, strlen(missing)) == 0);

        char *empty[] = {"breaker", "reset", "--reason", "", NULL};
        assert_int_equal(breaker_run(f, 4, empty), CLI_EXIT_USAGE);
        assert_non_null(strstr(f->c.err, "--reason TEXT is required"));

        char *empty_eq[] = {"breaker", "reset", "--reason=", NULL};
        assert_int_equal(breaker_run(f, 3, empty_eq), CLI_EXIT_USAGE);

        char *not_utf8[] = {"breaker", "reset", "--reason", "caf\xe9", NULL};
        assert_int_equal(breaker_run(f, 4, not_utf8), CLI_EXIT_USAGE);
        assert_non_null(strstr(f->c.err, "--reason must be UTF-8 text"));

        char *reason_on_status[] = {"breaker", "status", "--reason", "x", NULL};
        assert_int_equal(breaker_run(f, 4, reason_on_status), CLI_EXIT_USAGE);
        assert_non_null(strstr(f->c.err, "--reason belongs to breaker reset"));

        char *extra[] = {"breaker", "reset", "--reason", "x", "now", NULL};
        assert_int_equal(breaker_run(f, 5, extra), CLI_EXIT_USAGE);
        assert_non_null(strstr(f->c.err, "breaker: unexpected argument"));

        char *verb[] = {"breaker", "open", NULL};
        assert_int_equal(breaker_run(f, 2, verb), CLI_EXIT_USAGE);
        assert_non_null(strstr(f->c.err, "breaker: unknown verb"));

        assert_int_equal(f->server.n_requests, 0);
        assert_string_equal(f->c.out, "");
}

int breaker_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_status_open, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_status_closed, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_status_json_and_hostile_reply, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reset_sends_reason, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reset_refused, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_usage_sends_nothing, api_fixture_setup,
                                                api_fixture_teardown),
        };
        return cmocka_run_group_tests_name("cli_breaker", tests, NULL, NULL);
}
