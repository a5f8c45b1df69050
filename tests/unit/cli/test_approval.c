/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of `bulwark approval list|show|approve|reject|review`, `exec
 * rollback` and `rollback-test` against a real HTTP server on loopback: what
 * goes on the wire (method, path, token, exact JSON body), the lines printed,
 * how refusals map to exit 1 and bad arguments to exit 2 with nothing sent. */
#include "cli_tests.h"

#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

/* 1795000000123 ms and 1795001800000 ms since the epoch, in UTC. */
#define CREATED_MS "1795000000123"
#define CREATED_UTC "2026-11-18T11:06:40Z"
#define EXPIRES_MS "1795001800000"
#define EXPIRES_UTC "2026-11-18T11:36:40Z"

/* An approval waiting for its second approver. */
#define APPROVAL_7                                                                                          \
        "{\"id\":7,\"exec_id\":12,\"alert_id\":40,\"playbook\":\"disable-account\",\"state\":\"pending\","  \
        "\"requested_by\":\"engine\",\"author\":\"bob\",\"reasons\":[\"level 4\",\"high risk\"],"           \
        "\"approvals_required\":2,\"approved_by\":[\"alice\"],\"decided_by\":null,"                         \
        "\"decision_reason\":null,\"created_at\":" CREATED_MS ",\"expires_at\":" EXPIRES_MS ","             \
        "\"decided_at\":null,\"review\":null}"

/* Runs one command with output captured in f->c (freed first, so a test may
 * run several commands). */
static int run(api_fixture *f, int (*fn)(const cli_ctx *, int, char **), int argc, char **argv) {
        capture_free(&f->c);
        capture_open(&f->c, f->server.url, f->token_file);
        int code = fn(&f->c.ctx, argc, argv);
        capture_close(&f->c);
        return code;
}

static void assert_request(const api_fixture *f, const char *request_line) {
        assert_true(strncmp(f->server.head, request_line, strlen(request_line)) == 0);
        assert_non_null(strstr(f->server.head, "\r\nAuthorization: Bearer " TEST_TOKEN "\r\n"));
}

/* The server received exactly this JSON body, declared as JSON. */
static void assert_json_body(const api_fixture *f, const char *body) {
        assert_non_null(strstr(f->server.head, "\r\nContent-Type: application/json\r\n"));
        assert_int_equal(f->server.body_len, strlen(body));
        assert_memory_equal(f->server.body, body, strlen(body));
}

static void assert_usage(const api_fixture *f, const char *message) {
        assert_true(strncmp(f->c.err, message, strlen(message)) == 0);
        assert_non_null(strstr(f->c.err, "\nusage: bulwark"));
        assert_string_equal(f->c.out, "");
}

/* list: GET ?state=pending by default; an aligned table with the approval
 * count and the expiry in UTC; --state all --json: the server's bytes. */
static void test_list_table(void **state) {
        api_fixture *f = *state;
        f->server.reply =
                "{\"approvals\":[" APPROVAL_7 ","
                "{\"id\":3,\"exec_id\":9,\"alert_id\":5,\"playbook\":\"block-ip\",\"state\":\"approved\","
                "\"requested_by\":\"carol\",\"author\":\"bob\",\"reasons\":[],\"approvals_required\":1,"
                "\"approved_by\":[\"dave\"],\"decided_by\":\"dave\",\"decision_reason\":\"ok\","
                "\"created_at\":0,\"expires_at\":" CREATED_MS ",\"decided_at\":1,\"review\":null}]}";
        char *argv[] = {"approval", "list", NULL};
        assert_int_equal(run(f, cli_approval_main, 2, argv), CLI_EXIT_OK);
        assert_int_equal(f->server.n_requests, 1);
        assert_request(f, "GET /v1/approvals?state=pending HTTP/1.1\r\n");
        assert_int_equal(f->server.body_len, 0);
        assert_string_equal(
                f->c.out, "ID  EXEC  PLAYBOOK         STATE     REQUESTED_BY  APPROVALS  EXPIRES\n"
                          "7   12    disable-account  pending   engine        1/2        " EXPIRES_UTC "\n"
                          "3   9     block-ip         approved  carol         1/1        " CREATED_UTC "\n");
        assert_string_equal(f->c.err, "");

        char *raw[] = {"approval", "list", "--state", "all", "--json", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, raw), CLI_EXIT_OK);
        assert_request(f, "GET /v1/approvals?state=all HTTP/1.1\r\n");
        assert_true(strncmp(f->c.out, f->server.reply, strlen(f->server.reply)) == 0);
        assert_string_equal(f->c.out + strlen(f->server.reply), "\n");

        char *rejected[] = {"approval", "list", "--state=rejected", NULL};
        f->server.reply = "{\"approvals\":[]}";
        assert_int_equal(run(f, cli_approval_main, 3, rejected), CLI_EXIT_OK);
        assert_request(f, "GET /v1/approvals?state=rejected HTTP/1.1\r\n");
        assert_string_equal(f->c.out, "ID  EXEC  PLAYBOOK  STATE  REQUESTED_BY  APPROVALS  EXPIRES\n");
}

/* Escape sequences in a server string never reach the terminal; missing values
 * keep the row's shape; a reply without the list is an error, not an empty table. */
static void test_list_hostile_reply(void **state) {
        api_fixture *f = *state;
        f->server.reply = "{\"approvals\":[{\"id\":1,\"exec_id\":2,\"playbook\":\"p\\u001b[2J\","
                          "\"state\":\"pending\",\"requested_by\":null,\"approved_by\":[]}]}";
        char *argv[] = {"approval", "list", NULL};
        assert_int_equal(run(f, cli_approval_main, 2, argv), CLI_EXIT_OK);
        assert_null(memchr(f->c.out, 0x1b, f->c.out_len));
        assert_string_equal(f->c.out, "ID  EXEC  PLAYBOOK  STATE    REQUESTED_BY  APPROVALS  EXPIRES\n"
                                      "1   2     p?[2J     pending  -             -          -\n");

        f->server.reply = "{\"executions\":[]}";
        assert_int_equal(run(f, cli_approval_main, 2, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.out, "");
        assert_string_equal(f->c.err, "bulwark: the server's reply has no \"approvals\" list\n");
}

/* show: GET /v1/approvals/ID, indented JSON in the server's key order; --json:
 * as it came; a 404 names the field. */
static void test_show(void **state) {
        api_fixture *f = *state;
        f->server.reply = "{\"id\":7,\"state\":\"pending\",\"actions\":[{\"id\":31,\"verb\":\"disable\"}]}";
        char *argv[] = {"approval", "show", "7", NULL};
        assert_int_equal(run(f, cli_approval_main, 3, argv), CLI_EXIT_OK);
        assert_request(f, "GET /v1/approvals/7 HTTP/1.1\r\n");
        assert_string_equal(f->c.out, "{\n  \"id\": 7,\n  \"state\": \"pending\",\n  \"actions\": [\n    {\n"
                                      "      \"id\": 31,\n      \"verb\": \"disable\"\n    }\n  ]\n}\n");

        char *raw[] = {"approval", "show", "--json", "7", NULL};
        assert_int_equal(run(f, cli_approval_main, 4, raw), CLI_EXIT_OK);
        assert_request(f, "GET /v1/approvals/7 HTTP/1.1\r\n");
        assert_string_equal(
                f->c.out,
                "{\"id\":7,\"state\":\"pending\",\"actions\":[{\"id\":31,\"verb\":\"disable\"}]}\n");

        f->server.status = 404;
        f->server.reply =
                "{\"error\":{\"code\":\"not_found\",\"message\":\"no approval 7\",\"field\":\"id\"}}";
        assert_int_equal(run(f, cli_approval_main, 3, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: HTTP 404: id: no approval 7\n");
        assert_string_equal(f->c.out, "");
        assert_int_equal(f->server.n_requests, 3);
}

/* approve: POST /v1/approvals/ID/approve with exactly {"reason":...} encoded
 * by jansson (quotes escaped, UTF-8 kept); the first of two approvers leaves
 * it pending, the second approves it and a pending review is shown. */
static void test_approve(void **state) {
        api_fixture *f = *state;
        f->server.reply = APPROVAL_7;
        char *argv[] = {"approval", "approve", "7", "--reason", "on call for \"INC-7\"", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, argv), CLI_EXIT_OK);
        assert_int_equal(f->server.n_requests, 1);
        assert_request(f, "POST /v1/approvals/7/approve HTTP/1.1\r\n");
        assert_json_body(f, "{\"reason\":\"on call for \\\"INC-7\\\"\"}");
        assert_string_equal(f->c.out, "approval 7: pending\napprovals: 1/2\n");
        assert_string_equal(f->c.err, "");

        f->server.reply =
                "{\"id\":7,\"state\":\"approved\",\"approvals_required\":2,"
                "\"approved_by\":[\"alice\",\"erin\"],\"review\":{\"state\":\"pending\",\"by\":null,"
                "\"note\":null,\"at\":null}}";
        char *second[] = {"approval", "approve", "--reason=caf\xc3\xa9 \xe2\x9c\x93", "7", NULL};
        assert_int_equal(run(f, cli_approval_main, 4, second), CLI_EXIT_OK);
        assert_request(f, "POST /v1/approvals/7/approve HTTP/1.1\r\n");
        assert_json_body(f, "{\"reason\":\"caf\xc3\xa9 \xe2\x9c\x93\"}");
        assert_string_equal(f->c.out, "approval 7: approved\napprovals: 2/2\nreview: pending\n");
}

/* reject and review: their own paths and body members; the review's state. */
static void test_reject_and_review(void **state) {
        api_fixture *f = *state;
        f->server.reply = "{\"id\":8,\"state\":\"rejected\",\"approvals_required\":1,\"approved_by\":[],"
                          "\"decided_by\":\"alice\",\"review\":null}";
        char *reject[] = {"approval", "reject", "8", "--reason", "not during business hours", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, reject), CLI_EXIT_OK);
        assert_request(f, "POST /v1/approvals/8/reject HTTP/1.1\r\n");
        assert_json_body(f, "{\"reason\":\"not during business hours\"}");
        assert_string_equal(f->c.out, "approval 8: rejected\napprovals: 0/1\n");

        f->server.reply =
                "{\"id\":9,\"state\":\"approved\",\"approvals_required\":1,\"approved_by\":[\"bob\"],"
                "\"review\":{\"state\":\"acknowledged\",\"by\":\"carol\",\"note\":\"checked\","
                "\"at\":" CREATED_MS "}}";
        char *review[] = {"approval", "review", "9", "--note", "checked the\nlogs", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, review), CLI_EXIT_OK);
        assert_request(f, "POST /v1/approvals/9/review HTTP/1.1\r\n");
        assert_json_body(f, "{\"note\":\"checked the\\nlogs\"}");
        assert_string_equal(f->c.out, "approval 9: approved\napprovals: 1/1\nreview: acknowledged\n");
        assert_int_equal(f->server.n_requests, 2);
}

/* Refusals: exit 1, "HTTP <status>: [<field>: ]<message>" on stderr, nothing on
 * stdout; a 200 without a state is not shown as a decision. */
static void test_decision_refused(void **state) {
        api_fixture *f = *state;
        f->server.status = 403;
        f->server.reply = "{\"error\":{\"code\":\"separation_of_duties\",\"message\":\"you requested this "
                          "action\",\"field\":\"actor\"}}";
        char *approve[] = {"approval", "approve", "7", "--reason", "lgtm", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, approve), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: HTTP 403: actor: you requested this action\n");
        assert_string_equal(f->c.out, "");

        f->server.status = 409;
        f->server.reply = "{\"error\":{\"code\":\"not_pending\",\"message\":\"approval 7 is rejected\","
                          "\"field\":\"\"}}";
        char *reject[] = {"approval", "reject", "7", "--reason", "no", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, reject), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: HTTP 409: approval 7 is rejected\n");
        assert_string_equal(f->c.out, "");

        f->server.reply =
                "{\"error\":{\"code\":\"no_review_pending\",\"message\":\"nothing to review\\u001b]0;x"
                "\",\"field\":\"id\"}}";
        char *review[] = {"approval", "review", "7", "--note", "seen", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, review), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: HTTP 409: id: nothing to review?]0;x\n");
        assert_int_equal(f->server.n_requests, 3);

        f->server.status = 200;
        f->server.reply = "{\"id\":7}";
        assert_int_equal(run(f, cli_approval_main, 5, approve), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: the server's reply has no \"state\"\n");
        assert_string_equal(f->c.out, "");
}

/* A reason of 1 KiB is sent whole; one byte more is refused before any request. */
static void test_text_limit(void **state) {
        api_fixture *f = *state;
        f->server.reply = APPROVAL_7;
        char reason[BW_REASON_MAX + 2];
        memset(reason, 'r', BW_REASON_MAX);
        reason[BW_REASON_MAX] = '\0';
        char *argv[] = {"approval", "approve", "7", "--reason", reason, NULL};
        assert_int_equal(run(f, cli_approval_main, 5, argv), CLI_EXIT_OK);
        assert_int_equal(f->server.n_requests, 1);
        assert_int_equal(f->server.body_len, strlen("{\"reason\":\"\"}") + BW_REASON_MAX);

        reason[BW_REASON_MAX] = 'r';
        reason[BW_REASON_MAX + 1] = '\0';
        assert_int_equal(run(f, cli_approval_main, 5, argv), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: --reason is longer than 1024 bytes\n");
        assert_int_equal(f->server.n_requests, 1);
}

/* Bad arguments: exit 2 with the message and the usage; no request leaves. */
static void test_usage_sends_nothing(void **state) {
        api_fixture *f = *state;
        char *no_reason[] = {"approval", "approve", "7", NULL};
        assert_int_equal(run(f, cli_approval_main, 3, no_reason), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: approval approve: --reason TEXT is required\n");

        char *empty_reason[] = {"approval", "reject", "7", "--reason=", NULL};
        assert_int_equal(run(f, cli_approval_main, 4, empty_reason), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: approval reject: --reason TEXT is required\n");

        char *no_note[] = {"approval", "review", "7", NULL};
        assert_int_equal(run(f, cli_approval_main, 3, no_note), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: approval review: --note TEXT is required\n");

        char *note_on_approve[] = {"approval", "approve", "7", "--note", "x", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, note_on_approve), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: --note is not an option of approval approve\n");

        char *reason_on_review[] = {"approval", "review", "7", "--reason", "x", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, reason_on_review), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: --reason is not an option of approval review\n");

        char *state_on_show[] = {"approval", "show", "7", "--state", "all", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, state_on_show), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: --state is not an option of approval show\n");

        char *json_on_reject[] = {"approval", "reject", "7", "--reason", "x", "--json", NULL};
        assert_int_equal(run(f, cli_approval_main, 6, json_on_reject), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: --json is not an option of approval reject\n");

        char *not_utf8[] = {"approval", "approve", "7", "--reason", "caf\xe9", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, not_utf8), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: --reason must be UTF-8 text\n");

        char *bad_state[] = {"approval", "list", "--state", "expired", NULL};
        assert_int_equal(run(f, cli_approval_main, 4, bad_state), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: --state must be pending, approved, rejected or all\n");

        char *list_id[] = {"approval", "list", "7", NULL};
        assert_int_equal(run(f, cli_approval_main, 3, list_id), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: approval list: unexpected argument\n");

        const char *bad_ids[] = {"0", "abc", "7x", "", "99999999999999999999"};
        for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
                char *bad_id[] = {"approval", "approve", (char *)bad_ids[i], "--reason", "x", NULL};
                assert_int_equal(run(f, cli_approval_main, 5, bad_id), CLI_EXIT_USAGE);
                assert_usage(f, "bulwark: approval approve: expected one approval ID\n");
        }
        /* getopt reads a negative id as an option (and says so itself). */
        char *negative_id[] = {"approval", "approve", "-3", "--reason", "x", NULL};
        assert_int_equal(run(f, cli_approval_main, 5, negative_id), CLI_EXIT_USAGE);
        static const char usage[] = "usage: bulwark [--url URL] [--token-file FILE] approval list";
        assert_true(strncmp(f->c.err, usage, strlen(usage)) == 0);
        assert_string_equal(f->c.out, "");

        char *no_id[] = {"approval", "show", NULL};
        assert_int_equal(run(f, cli_approval_main, 2, no_id), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: approval show: expected one approval ID\n");

        char *two_ids[] = {"approval", "reject", "7", "8", "--reason", "x", NULL};
        assert_int_equal(run(f, cli_approval_main, 6, two_ids), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: approval reject: expected one approval ID\n");

        char *verb[] = {"approval", "grant", "7", NULL};
        assert_int_equal(run(f, cli_approval_main, 3, verb), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: approval: unknown verb\n");

        char *none[] = {"approval", NULL};
        assert_int_equal(run(f, cli_approval_main, 1, none), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: approval: missing verb\n");

        assert_int_equal(f->server.n_requests, 0);
}

/* exec rollback: POST with {"reason":...}; the 202 reply printed as it came;
 * 409 and 404 are refusals; bad arguments send nothing. */
static void test_exec_rollback(void **state) {
        api_fixture *f = *state;
        f->server.status = 202;
        f->server.reply = "{\"exec_id\":12,\"alert_id\":40,\"actions\":2,\"status\":\"queued\"}";
        char *argv[] = {"exec", "rollback", "12", "--reason", "false positive, INC-9", NULL};
        assert_int_equal(run(f, cli_exec_main, 5, argv), CLI_EXIT_OK);
        assert_request(f, "POST /v1/executions/12/rollback HTTP/1.1\r\n");
        assert_json_body(f, "{\"reason\":\"false positive, INC-9\"}");
        assert_string_equal(f->c.out,
                            "{\"exec_id\":12,\"alert_id\":40,\"actions\":2,\"status\":\"queued\"}\n");
        assert_string_equal(f->c.err, "");

        f->server.status = 409;
        f->server.reply = "{\"error\":{\"code\":\"nothing_to_roll_back\",\"message\":\"execution 12 applied "
                          "nothing\",\"field\":\"id\"}}";
        assert_int_equal(run(f, cli_exec_main, 5, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: HTTP 409: id: execution 12 applied nothing\n");
        assert_string_equal(f->c.out, "");

        f->server.status = 404;
        f->server.reply =
                "{\"error\":{\"code\":\"not_found\",\"message\":\"no execution 12\",\"field\":\"id\"}}";
        assert_int_equal(run(f, cli_exec_main, 5, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: HTTP 404: id: no execution 12\n");
        assert_int_equal(f->server.n_requests, 3);

        char *no_reason[] = {"exec", "rollback", "12", NULL};
        assert_int_equal(run(f, cli_exec_main, 3, no_reason), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: exec rollback: --reason TEXT is required\n");

        char *bad_id[] = {"exec", "rollback", "twelve", "--reason", "x", NULL};
        assert_int_equal(run(f, cli_exec_main, 5, bad_id), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: exec rollback: expected one execution ID\n");

        char *reason_on_show[] = {"exec", "show", "12", "--reason", "x", NULL};
        assert_int_equal(run(f, cli_exec_main, 5, reason_on_show), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: --reason belongs to exec rollback\n");

        char *json_on_rollback[] = {"exec", "rollback", "12", "--reason", "x", "--json", NULL};
        assert_int_equal(run(f, cli_exec_main, 6, json_on_rollback), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: --json belongs to exec list and exec show\n");
        assert_int_equal(f->server.n_requests, 3);
}

#define RESULT_OK                                                                                           \
        "{\"integration\":\"staging-nft\",\"connector\":\"nft\",\"ok\":true,\"detail\":\"restored\","       \
        "\"targets\":[\"192.0.2.1\"]}"

/* rollback-test: POST /v1/rollback-tests with an empty body; one line per
 * result and the summary, counted from the results (the reply's own counts,
 * here wrong, cannot hide a failure); exit 1 when one failed. */
static void test_rollback_test(void **state) {
        api_fixture *f = *state;
        f->server.reply =
                "{\"results\":[" RESULT_OK ","
                "{\"integration\":\"staging-ldap\",\"connector\":\"ldap\",\"ok\":false,"
                "\"detail\":\"verify failed: \\u001b[31maccount still disabled\",\"targets\":[\"bob\"]}],"
                "\"passed\":2,\"failed\":0}";
        char *argv[] = {"rollback-test", NULL};
        assert_int_equal(run(f, cli_rollback_drill_main, 1, argv), CLI_EXIT_FAIL);
        assert_int_equal(f->server.n_requests, 1);
        assert_request(f, "POST /v1/rollback-tests HTTP/1.1\r\n");
        assert_int_equal(f->server.body_len, 0);
        assert_string_equal(f->c.out,
                            "staging-nft (nft): ok\n"
                            "staging-ldap (ldap): FAILED: verify failed: ?[31maccount still disabled\n"
                            "1 passed, 1 failed\n");
        assert_string_equal(f->c.err, "");

        f->server.reply = "{\"results\":[" RESULT_OK "],\"passed\":1,\"failed\":0}";
        assert_int_equal(run(f, cli_rollback_drill_main, 1, argv), CLI_EXIT_OK);
        assert_string_equal(f->c.out, "staging-nft (nft): ok\n1 passed, 0 failed\n");

        /* --json: the bytes as they came, and the same verdict. */
        char *raw[] = {"rollback-test", "--json", NULL};
        assert_int_equal(run(f, cli_rollback_drill_main, 2, raw), CLI_EXIT_OK);
        assert_string_equal(f->c.out, "{\"results\":[" RESULT_OK "],\"passed\":1,\"failed\":0}\n");

        f->server.reply = "{\"results\":[{\"integration\":\"s\",\"connector\":\"exec\"}]}";
        assert_int_equal(run(f, cli_rollback_drill_main, 2, raw), CLI_EXIT_FAIL);
        assert_string_equal(f->c.out, "{\"results\":[{\"integration\":\"s\",\"connector\":\"exec\"}]}\n");
        assert_int_equal(run(f, cli_rollback_drill_main, 1, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.out, "s (exec): FAILED: -\n0 passed, 1 failed\n");
        assert_int_equal(f->server.n_requests, 5);
}

/* Nothing to test is a failure, not a pass; a malformed reply, a refusal and
 * bad arguments are too. */
static void test_rollback_test_nothing(void **state) {
        api_fixture *f = *state;
        f->server.reply = "{\"results\":[],\"passed\":0,\"failed\":0}";
        char *argv[] = {"rollback-test", NULL};
        assert_int_equal(run(f, cli_rollback_drill_main, 1, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.out, "0 passed, 0 failed\n");
        assert_string_equal(f->c.err, "bulwark: no staging integration to test\n");

        f->server.reply = "{\"passed\":0}";
        assert_int_equal(run(f, cli_rollback_drill_main, 1, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.out, "");
        assert_string_equal(f->c.err, "bulwark: the server's reply has no \"results\" list\n");

        f->server.status = 403;
        f->server.reply =
                "{\"error\":{\"code\":\"forbidden\",\"message\":\"needs the admin role\",\"field\":\"\"}}";
        assert_int_equal(run(f, cli_rollback_drill_main, 1, argv), CLI_EXIT_FAIL);
        assert_string_equal(f->c.err, "bulwark: HTTP 403: needs the admin role\n");
        assert_int_equal(f->server.n_requests, 3);

        char *extra[] = {"rollback-test", "now", NULL};
        assert_int_equal(run(f, cli_rollback_drill_main, 2, extra), CLI_EXIT_USAGE);
        assert_usage(f, "bulwark: rollback-test: unexpected argument\n");
        assert_int_equal(f->server.n_requests, 3);
}

int approval_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_list_table, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_list_hostile_reply, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_show, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_approve, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reject_and_review, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_decision_refused, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_text_limit, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_usage_sends_nothing, api_fixture_setup,
                                                api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_exec_rollback, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_rollback_test, api_fixture_setup, api_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_rollback_test_nothing, api_fixture_setup,
                                                api_fixture_teardown),
        };
        return cmocka_run_group_tests_name("cli_approval", tests, NULL, NULL);
}
