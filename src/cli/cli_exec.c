/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark exec list|show|rollback`: executions read from the API, as a table or
 * JSON, and their rollback asked for with a reason. Runs in the CLI; the
 * server's replies are untrusted (printed terminal-safe). */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/strutil.h"

static const char exec_usage[] =
        "usage: bulwark [--url URL] [--token-file FILE] exec list [--limit N] [--before ID] [--json]\n"
        "       bulwark [--url URL] [--token-file FILE] exec show ID [--json]\n"
        "       bulwark [--url URL] [--token-file FILE] exec rollback ID --reason TEXT\n";

/* The columns of `exec list`, in order. */
static const cli_column exec_columns[] = {
        {"ID", "id", false, NULL},
        {"ALERT", "alert_id", false, NULL},
        {"PLAYBOOK", "playbook", false, NULL},
        {"LEVEL", "level", false, NULL},
        {"STATUS", "status", false, NULL},
        {"CREATED", "created_at", true, NULL},
};

static int exec_show_table(const cli_ctx *ctx, const cli_response *resp) {
        json_t *root = json_loadb(resp->body, resp->len, 0, NULL);
        json_t *list = json_object_get(root, "executions");
        int code = json_is_array(list)
                           ? cli_print_table(ctx, exec_columns,
                                             sizeof(exec_columns) / sizeof(exec_columns[0]), list)
                           : cli_fail(ctx, "the server's reply has no \"executions\" list");
        json_decref(root);
        return code;
}

/* Asks the engine to undo what an execution applied; the reason goes into the
 * audit trail with the request. */
static int exec_rollback(const cli_ctx *ctx, int64_t id, const char *reason) {
        char *body = NULL;
        int code = cli_text_body(ctx, exec_usage, "exec rollback", "reason", reason, &body);
        if (code != CLI_EXIT_OK)
                return code;
        char path[96];
        snprintf(path, sizeof(path), "/v1/executions/%" PRId64 "/rollback", id);
        code = cli_request(ctx, exec_usage, "POST", path, body, cli_show_raw);
        free(body);
        return code;
}

int cli_exec_main(const cli_ctx *ctx, int argc, char **argv) {
        if (argc < 2)
                return cli_usage(ctx, exec_usage, "exec: missing verb");
        bool list = strcmp(argv[1], "list") == 0, rollback = strcmp(argv[1], "rollback") == 0;
        if (!list && !rollback && strcmp(argv[1], "show") != 0)
                return cli_usage(ctx, exec_usage, "exec: unknown verb");
        static const struct option options[] = {
                {"limit", required_argument, NULL, 'l'}, {"before", required_argument, NULL, 'b'},
                {"json", no_argument, NULL, 'j'},        {"reason", required_argument, NULL, 'r'},
                {"help", no_argument, NULL, 'h'},        {0}};
        int64_t limit = 50, before = 0;
        const char *reason = NULL;
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
                        if (rollback)
                                return cli_usage(ctx, exec_usage,
                                                 "--json belongs to exec list and exec show");
                        raw = true;
                        break;
                case 'r':
                        if (!rollback)
                                return cli_usage(ctx, exec_usage, "--reason belongs to exec rollback");
                        reason = optarg;
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
                return cli_request(ctx, exec_usage, "GET", path, NULL, raw ? cli_show_raw : exec_show_table);
        }
        int64_t id;
        if (rest != 1 || cli_parse_id(argv[1 + optind], &id) < 0)
                return cli_usage(ctx, exec_usage,
                                 rollback ? "exec rollback: expected one execution ID"
                                          : "exec show: expected one execution ID");
        if (rollback)
                return exec_rollback(ctx, id, reason);
        snprintf(path, sizeof(path), "/v1/executions/%" PRId64, id);
        return cli_request(ctx, exec_usage, "GET", path, NULL, raw ? cli_show_raw : cli_show_pretty);
}
