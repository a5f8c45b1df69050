/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark rollback-test`: asks the daemon to test the rollback of every
 * staging integration and reports each result. Runs in the CLI; the server's
 * reply is untrusted (printed terminal-safe). */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "cli/cli.h"

static const char drill_usage[] = "usage: bulwark [--url URL] [--token-file FILE] rollback-test [--json]\n";

static void drill_put(const cli_ctx *ctx, const json_t *result, const char *key) {
        char cell[CLI_CELL_MAX];
        cli_format_cell(json_object_get(result, key), false, cell, sizeof(cell));
        cli_put_safe(ctx->out, cell, false);
}

/* Prints one line per result (or, with --json, the reply as it came) and
 * decides the exit status. The counts are taken from the results themselves,
 * not from the reply's "passed" and "failed", so the summary and the exit status
 * can never contradict the lines above them; a result whose "ok" is not true
 * failed. */
static int drill_report(const cli_ctx *ctx, const cli_response *resp, bool lines) {
        json_t *root = json_loadb(resp->body, resp->len, 0, NULL);
        json_t *results = json_object_get(root, "results");
        if (!json_is_array(results)) {
                json_decref(root);
                return cli_fail(ctx, "the server's reply has no \"results\" list");
        }
        if (!lines)
                cli_print_reply(ctx, resp);
        size_t passed = 0, failed = 0, i;
        json_t *result;
        json_array_foreach(results, i, result) {
                bool ok = json_is_true(json_object_get(result, "ok"));
                if (ok)
                        passed++;
                else
                        failed++;
                if (!lines)
                        continue;
                drill_put(ctx, result, "integration");
                fputs(" (", ctx->out);
                drill_put(ctx, result, "connector");
                fputs(ok ? "): ok\n" : "): FAILED: ", ctx->out);
                if (!ok) {
                        const char *detail = json_string_value(json_object_get(result, "detail"));
                        cli_put_safe(ctx->out, detail ? detail : "-", false);
                        fputc('\n', ctx->out);
                }
        }
        if (lines)
                fprintf(ctx->out, "%zu passed, %zu failed\n", passed, failed);
        json_decref(root);
        /* Nothing tested proves nothing: a script must not read it as success. */
        if (passed + failed == 0)
                return cli_fail(ctx, "no staging integration to test");
        return failed > 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

static int drill_show_lines(const cli_ctx *ctx, const cli_response *resp) {
        return drill_report(ctx, resp, true);
}

static int drill_show_json(const cli_ctx *ctx, const cli_response *resp) {
        return drill_report(ctx, resp, false);
}

int cli_rollback_drill_main(const cli_ctx *ctx, int argc, char **argv) {
        static const struct option options[] = {
                {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
        bool raw = false;
        optind = 0;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'j':
                        raw = true;
                        break;
                case 'h':
                        fputs(drill_usage, ctx->out);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage(ctx, drill_usage, NULL);
                }
        }
        if (argc - optind != 0)
                return cli_usage(ctx, drill_usage, "rollback-test: unexpected argument");
        return cli_request(ctx, drill_usage, "POST", "/v1/rollback-tests", NULL,
                           raw ? drill_show_json : drill_show_lines);
}
