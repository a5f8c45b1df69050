/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark exec list|show`: executions read from the API, as a table or JSON.
 * Runs in the CLI; the server's replies are untrusted (printed terminal-safe). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "util/strutil.h"

static const char exec_usage[] =
        "usage: bulwark [--url URL] [--token-file FILE] exec list [--limit N] [--before ID] [--json]\n"
        "       bulwark [--url URL] [--token-file FILE] exec show ID [--json]\n";

/* The columns of `exec list`, in order: header and the execution's key. */
static const struct {
        const char *header;
        const char *key;
        bool time;
} exec_columns[] = {
        {"ID", "id", false},       {"ALERT", "alert_id", false}, {"PLAYBOOK", "playbook", false},
        {"LEVEL", "level", false}, {"STATUS", "status", false},  {"CREATED", "created_at", true},
};
#define EXEC_N_COLUMNS (sizeof(exec_columns) / sizeof(exec_columns[0]))

/* Wide enough for a playbook name (BW_NAME_MAX), a status or an RFC 3339 time. */
#define EXEC_CELL_MAX 72

typedef char exec_row[EXEC_N_COLUMNS][EXEC_CELL_MAX];

/* Timestamps are integer milliseconds since the epoch; shown as UTC RFC 3339. */
static void exec_cell(const json_t *v, bool time, char *out, size_t outlen) {
        if (json_is_integer(v) && time) {
                time_t t = (time_t)(json_integer_value(v) / 1000);
                struct tm tm;
                if (gmtime_r(&t, &tm) && strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
                        return;
        }
        if (json_is_integer(v))
                snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_string(v))
                snprintf(out, outlen, "%s", json_string_value(v));
        else
                snprintf(out, outlen, "-");
}

static int exec_print_table(const cli_ctx *ctx, const json_t *executions) {
        size_t n = json_array_size(executions);
        exec_row *rows = calloc(n + 1, sizeof(*rows));
        if (!rows)
                return cli_fail_errno(ctx, -ENOMEM, "exec list");
        size_t width[EXEC_N_COLUMNS] = {0};
        for (size_t c = 0; c < EXEC_N_COLUMNS; c++)
                snprintf(rows[0][c], EXEC_CELL_MAX, "%s", exec_columns[c].header);
        for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(executions, i);
                for (size_t c = 0; c < EXEC_N_COLUMNS; c++)
                        exec_cell(json_object_get(e, exec_columns[c].key), exec_columns[c].time,
                                  rows[i + 1][c], EXEC_CELL_MAX);
        }
        for (size_t i = 0; i <= n; i++)
                for (size_t c = 0; c < EXEC_N_COLUMNS; c++)
                        if (strlen(rows[i][c]) > width[c])
                                width[c] = strlen(rows[i][c]);
        for (size_t i = 0; i <= n; i++)
                for (size_t c = 0; c < EXEC_N_COLUMNS; c++) {
                        cli_put_safe(ctx->out, rows[i][c], false);
                        if (c + 1 == EXEC_N_COLUMNS) {
                                fputc('\n', ctx->out);
                                continue;
                        }
                        fprintf(ctx->out, "%*s", (int)(width[c] - strlen(rows[i][c]) + 2), "");
                }
        free(rows);
        return CLI_EXIT_OK;
}

static int exec_print_pretty(const cli_ctx *ctx, const cli_response *resp) {
        json_t *root = json_loadb(resp->body, resp->len, 0, NULL);
        char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(root);
        if (!text)
                return cli_fail(ctx, "the server's reply is not a JSON object");
        cli_put_safe(ctx->out, text, true);
        fputc('\n', ctx->out);
        free(text);
        return CLI_EXIT_OK;
}

/* Runs GET path and hands a 2xx reply to show (or prints it raw with --json). */
static int exec_get(const cli_ctx *ctx, const char *path, bool raw,
                    int (*show)(const cli_ctx *ctx, const cli_response *resp)) {
        cli_api *api = NULL;
        int code = cli_connect(ctx, exec_usage, &api);
        if (code != CLI_EXIT_OK)
                return code;
        cli_response resp = {0};
        code = cli_call(ctx, api, "GET", path, NULL, NULL, 0, &resp);
        if (code == CLI_EXIT_OK) {
                if (resp.status < 200 || resp.status > 299)
                        code = cli_fail_response(ctx, &resp);
                else if (raw)
                        cli_print_reply(ctx, &resp);
                else
                        code = show(ctx, &resp);
        }
        cli_response_clear(&resp);
        cli_api_free(api);
        return code;
}

static int exec_show_table(const cli_ctx *ctx, const cli_response *resp) {
        json_t *root = json_loadb(resp->body, resp->len, 0, NULL);
        json_t *list = json_object_get(root, "executions");
        int code = json_is_array(list) ? exec_print_table(ctx, list)
                                       : cli_fail(ctx, "the server's reply has no \"executions\" list");
        json_decref(root);
        return code;
}

int cli_exec_main(const cli_ctx *ctx, int argc, char **argv) {
        if (argc < 2)
                return cli_usage(ctx, exec_usage, "exec: missing verb");
        bool list = strcmp(argv[1], "list") == 0;
        if (!list && strcmp(argv[1], "show") != 0)
                return cli_usage(ctx, exec_usage, "exec: unknown verb");
        static const struct option options[] = {{"limit", required_argument, NULL, 'l'},
                                                {"before", required_argument, NULL, 'b'},
                                                {"json", no_argument, NULL, 'j'},
                                                {"help", no_argument, NULL, 'h'},
                                                {0}};
        int64_t limit = 50, before = 0;
        bool raw = false;
        optind = 0;
        int c;
        while ((c = getopt_long(argc - 1, argv + 1, "h", options, NULL)) != -1) {
                switch (c) {
                case 'l':
                        if (!list || parse_int64(optarg, 1, INT32_MAX, &limit) < 0)
                                return cli_usage(ctx, exec_usage,
                                                 "--limit takes a positive number (exec list)");
                        break;
                case 'b':
                        if (!list || cli_parse_id(optarg, &before) < 0)
                                return cli_usage(ctx, exec_usage,
                                                 "--before takes an execution id (exec list)");
                        break;
                case 'j':
                        raw = true;
                        break;
                case 'h':
                        fputs(exec_usage, ctx->out);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage(ctx, exec_usage, NULL);
                }
        }
        int rest = argc - 1 - optind;
        char path[96];
        if (list) {
                if (rest != 0)
                        return cli_usage(ctx, exec_usage, "exec list: unexpected argument");
                if (before > 0)
                        snprintf(path, sizeof(path), "/v1/executions?limit=%" PRId64 "&before=%" PRId64,
                                 limit, before);
                else
                        snprintf(path, sizeof(path), "/v1/executions?limit=%" PRId64, limit);
                return exec_get(ctx, path, raw, exec_show_table);
        }
        int64_t id;
        if (rest != 1 || cli_parse_id(argv[1 + optind], &id) < 0)
                return cli_usage(ctx, exec_usage, "exec show: expected one execution ID");
        snprintf(path, sizeof(path), "/v1/executions/%" PRId64, id);
        return exec_get(ctx, path, raw, exec_print_pretty);
}
