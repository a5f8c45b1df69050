/* SPDX-License-Identifier: Apache-2.0 */
/* The `bulwark` CLI's main: global options and dispatch to the nouns. Runs as
 * the user's command; its arguments and environment are the user's own. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char main_usage[] =
        "usage: bulwark [--url URL] [--token-file FILE] <command> ...\n"
        "\n"
        "commands:\n"
        "  alert send FILE|-                         send one alert, or an NDJSON batch\n"
        "  rec execute ACTION_ID                     run a recommended action (it still passes the "
        "governor)\n"
        "  breaker status [--json]                   the circuit breaker: open or closed, and why\n"
        "  breaker reset --reason TEXT               close the breaker (admin), saying why\n"
        "  exec list [--limit N] [--before ID] [--json]\n"
        "                                            list executions, newest first\n"
        "  exec show ID [--json]                     one execution with its actions\n"
        "  exec rollback ID --reason TEXT            undo what an execution applied, saying why\n"
        "  approval list [--state pending|approved|rejected|all] [--json]\n"
        "                                            approvals, newest first (default: pending)\n"
        "  approval show ID [--json]                 one approval with its actions\n"
        "  approval approve ID --reason TEXT         approve a waiting action, saying why\n"
        "  approval reject ID --reason TEXT          reject a waiting action, saying why\n"
        "  approval review ID --note TEXT            acknowledge an approval's review\n"
        "  rollback-test [--json]                    test rollback on every staging integration\n"
        "  init DIR [--force]                        write a ready set-up into DIR\n"
        "  playbook lint DIR|FILE [--config FILE]    check playbooks, print every error\n"
        "  playbook test FILE --alert ALERT.json [--config FILE] [--alert-id N]\n"
        "                                            dry run: what the engine would do\n"
        "  version                                   print the version\n"
        "\n"
        "options:\n"
        "  --url URL          API base URL (default $BULWARK_URL, else " CLI_DEFAULT_URL ")\n"
        "  --token-file FILE  API token file, mode 0600 (default $BULWARK_TOKEN_FILE)\n"
        "\n"
        "exit status: 0 success, 1 failure, 2 bad arguments.\n";

static int main_version(const cli_ctx *ctx, int argc, char **argv) {
        if (argc != 1)
                return cli_usage(ctx, main_usage, "version: unexpected argument");
        fprintf(ctx->out, "bulwark %s\n", BULWARK_VERSION);
        return CLI_EXIT_OK;
}

static const struct {
        const char *noun;
        int (*run)(const cli_ctx *ctx, int argc, char **argv);
} main_commands[] = {
        {"alert", cli_alert_main},       {"approval", cli_approval_main},
        {"breaker", cli_breaker_main},   {"rec", cli_rec_main},
        {"exec", cli_exec_main},         {"init", cli_init_main},
        {"playbook", cli_playbook_main}, {"rollback-test", cli_rollback_drill_main},
        {"version", main_version},
};

int main(int argc, char **argv) {
        const char *url = getenv("BULWARK_URL");
        cli_ctx ctx = {
                .url = url && *url ? url : CLI_DEFAULT_URL,
                .token_file = getenv("BULWARK_TOKEN_FILE"),
                .out = stdout,
                .err = stderr,
        };
        if (ctx.token_file && !*ctx.token_file)
                ctx.token_file = NULL;
        static const struct option options[] = {{"url", required_argument, NULL, 'u'},
                                                {"token-file", required_argument, NULL, 't'},
                                                {"help", no_argument, NULL, 'h'},
                                                {"version", no_argument, NULL, 'V'},
                                                {0}};
        int c;
        /* "+": stop at the noun; each command parses its own options. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
                switch (c) {
                case 'u':
                        ctx.url = optarg;
                        break;
                case 't':
                        ctx.token_file = optarg;
                        break;
                case 'h':
                        fputs(main_usage, stdout);
                        return CLI_EXIT_OK;
                case 'V':
                        return main_version(&ctx, 1, argv);
                default:
                        return cli_usage(&ctx, main_usage, NULL);
                }
        }
        if (optind >= argc)
                return cli_usage(&ctx, main_usage, "missing command");
        const char *noun = argv[optind];
        if (strcmp(noun, "help") == 0) {
                fputs(main_usage, stdout);
                return CLI_EXIT_OK;
        }
        for (size_t i = 0; i < sizeof(main_commands) / sizeof(main_commands[0]); i++) {
                if (strcmp(noun, main_commands[i].noun) != 0)
                        continue;
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return cli_fail(&ctx, "libcurl failed to initialise");
                int code = main_commands[i].run(&ctx, argc - optind, argv + optind);
                curl_global_cleanup();
                if (fflush(stdout) != 0 && code == CLI_EXIT_OK)
                        code = cli_fail(&ctx, "writing the output failed");
                return code;
        }
        char message[160];
        snprintf(message, sizeof(message), "unknown command \"%.100s\"", noun);
        return cli_usage(&ctx, main_usage, message);
}
