/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark breaker status|reset`: the circuit breaker's state read from the API,
 * and its reset by an admin with a reason. Runs in the CLI; the server's replies
 * are untrusted (printed terminal-safe). */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char breaker_usage[] =
        "usage: bulwark [--url URL] [--token-file FILE] breaker status [--json]\n"
        "       bulwark [--url URL] [--token-file FILE] breaker reset --reason TEXT\n";

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
        char when[CLI_TIME_MAX];
        fprintf(ctx->out, "breaker: %s\n", json_is_true(open) ? "open" : "closed");
        if (json_is_true(open)) {
                fputs("reason: ", ctx->out);
                breaker_put_string(ctx, state, "reason");
                json_t *opened_at = json_object_get(state, "opened_at");
                if (json_is_integer(opened_at)) {
                        cli_format_time(json_integer_value(opened_at), when, sizeof(when));
                        fprintf(ctx->out, "\nopened at: %s", when);
                }
                fputc('\n', ctx->out);
        }
        /* reset_at is what says a reset happened: the other reset fields are
         * only its details. */
        json_t *reset_at = json_object_get(state, "reset_at");
        if (json_is_integer(reset_at)) {
                cli_format_time(json_integer_value(reset_at), when, sizeof(when));
                fprintf(ctx->out, "last reset: %s by ", when);
                breaker_put_string(ctx, state, "reset_by");
                fputs(": ", ctx->out);
                breaker_put_string(ctx, state, "reset_reason");
                fputc('\n', ctx->out);
        }
        json_decref(state);
        return CLI_EXIT_OK;
}

/* Closes the breaker with a stated reason: it is what the audit trail keeps of
 * why automation was allowed again. */
static int breaker_reset(const cli_ctx *ctx, const char *reason) {
        char *body = NULL;
        int code = cli_text_body(ctx, breaker_usage, "breaker reset", "reason", reason, &body);
        if (code == CLI_EXIT_OK)
                code = cli_request(ctx, breaker_usage, "POST", "/v1/breaker/reset", body, breaker_show);
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
                return cli_request(ctx, breaker_usage, "GET", "/v1/breaker", NULL,
                                   raw ? cli_show_raw : breaker_show);
        return breaker_reset(ctx, reason);
}
