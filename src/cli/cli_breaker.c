/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark breaker status|reset`: the circuit breaker's state read from the API,
 * and its reset by an admin with a reason. Runs in the CLI; the server's replies
 * are untrusted (printed terminal-safe). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/strutil.h"

static const char breaker_usage[] =
        "usage: bulwark [--url URL] [--token-file FILE] breaker status [--json]\n"
        "       bulwark [--url URL] [--token-file FILE] breaker reset --reason TEXT\n";

/* Wide enough for an RFC 3339 time or any 64-bit integer. */
#define BREAKER_TIME_MAX 32

/* Timestamps are integer milliseconds since the epoch, shown in UTC like the
 * other commands; one gmtime cannot represent stays a plain number rather than
 * being hidden. */
static void breaker_time(const json_t *v, char out[BREAKER_TIME_MAX]) {
        time_t t = (time_t)(json_integer_value(v) / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm) && strftime(out, BREAKER_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
                return;
        snprintf(out, BREAKER_TIME_MAX, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
}

/* The strings may be absent or null when never set; "-" keeps the line's shape. */
static void breaker_put_string(const cli_ctx *ctx, const json_t *state, const char *key) {
        const char *s = json_string_value(json_object_get(state, key));
        cli_put_safe(ctx->out, s ? s : "-", false);
}

static int breaker_show(const cli_ctx *ctx, const cli_response *resp) {
        json_t *state = json_loadb(resp->body, resp->len, 0, NULL);
        json_t *open = json_object_get(state, "open");
        if (!json_is_boolean(open)) {
                json_decref(state);
                return cli_fail(ctx, "the server's reply has no \"open\" boolean");
        }
        char when[BREAKER_TIME_MAX];
        fprintf(ctx->out, "breaker: %s\n", json_is_true(open) ? "open" : "closed");
        if (json_is_true(open)) {
                fputs("reason: ", ctx->out);
                breaker_put_string(ctx, state, "reason");
                json_t *opened_at = json_object_get(state, "opened_at");
                if (json_is_integer(opened_at)) {
                        breaker_time(opened_at, when);
                        fprintf(ctx->out, "\nopened at: %s", when);
                }
                fputc('\n', ctx->out);
        }
        /* reset_at is what says a reset happened: the other reset fields are
         * only its details. */
        json_t *reset_at = json_object_get(state, "reset_at");
        if (json_is_integer(reset_at)) {
                breaker_time(reset_at, when);
                fprintf(ctx->out, "last reset: %s by ", when);
                breaker_put_string(ctx, state, "reset_by");
                fputs(": ", ctx->out);
                breaker_put_string(ctx, state, "reset_reason");
                fputc('\n', ctx->out);
        }
        json_decref(state);
        return CLI_EXIT_OK;
}

/* Sends one request and shows a 200 reply (raw with --json); anything else is
 * the server's refusal, printed with the field it names. */
static int breaker_request(const cli_ctx *ctx, const char *method, const char *path, const char *body,
                           bool raw) {
        cli_api *api = NULL;
        int code = cli_connect(ctx, breaker_usage, &api);
        if (code != CLI_EXIT_OK)
                return code;
        cli_response resp = {0};
        code = cli_call(ctx, api, method, path, body ? "application/json" : NULL, body,
                        body ? strlen(body) : 0, &resp);
        if (code == CLI_EXIT_OK) {
                if (resp.status != 200)
                        code = cli_fail_response(ctx, &resp);
                else if (raw)
                        cli_print_reply(ctx, &resp);
                else
                        code = breaker_show(ctx, &resp);
        }
        cli_response_clear(&resp);
        cli_api_free(api);
        return code;
}

static int breaker_reset(const cli_ctx *ctx, const char *reason) {
        /* The reason goes into the audit trail as JSON text, which must be UTF-8:
         * other bytes are the user's mistake, not a failure. */
        if (!utf8_valid(reason, strlen(reason)))
                return cli_usage(ctx, breaker_usage, "--reason must be UTF-8 text");
        json_t *req = json_pack("{s:s}", "reason", reason);
        char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (!body)
                return cli_fail_errno(ctx, -ENOMEM, "breaker reset");
        int code = breaker_request(ctx, "POST", "/v1/breaker/reset", body, false);
        free(body);
        return code;
}

int cli_breaker_main(const cli_ctx *ctx, int argc, char **argv) {
        if (argc < 2)
                return cli_usage(ctx, breaker_usage, "breaker: missing verb");
        bool status = strcmp(argv[1], "status") == 0;
        if (!status && strcmp(argv[1], "reset") != 0)
                return cli_usage(ctx, breaker_usage, "breaker: unknown verb");
        static const struct option options[] = {{"reason", required_argument, NULL, 'r'},
                                                {"json", no_argument, NULL, 'j'},
                                                {"help", no_argument, NULL, 'h'},
                                                {0}};
        const char *reason = NULL;
        bool raw = false;
        optind = 0;
        int c;
        while ((c = getopt_long(argc - 1, argv + 1, "h", options, NULL)) != -1) {
                switch (c) {
                case 'r':
                        if (status)
                                return cli_usage(ctx, breaker_usage, "--reason belongs to breaker reset");
                        reason = optarg;
                        break;
                case 'j':
                        if (!status)
                                return cli_usage(ctx, breaker_usage, "--json belongs to breaker status");
                        raw = true;
                        break;
                case 'h':
                        fputs(breaker_usage, ctx->out);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage(ctx, breaker_usage, NULL);
                }
        }
        if (argc - 1 - optind != 0)
                return cli_usage(ctx, breaker_usage, "breaker: unexpected argument");
        if (status)
                return breaker_request(ctx, "GET", "/v1/breaker", NULL, raw);
        /* Only an admin with a stated reason closes the breaker: the reason is
         * what the audit trail keeps of why automation was allowed again. */
        if (!reason || !*reason)
                return cli_usage(ctx, breaker_usage, "breaker reset: --reason TEXT is required");
        return breaker_reset(ctx, reason);
}
