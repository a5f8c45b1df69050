/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark rec execute ID`: an analyst runs a recommended action (level 2) with
 * one call; the engine still passes it through the governor. Runs in the CLI;
 * the server's reply is untrusted (printed terminal-safe). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char rec_usage[] = "usage: bulwark [--url URL] [--token-file FILE] rec execute ACTION_ID\n";

int cli_rec_main(const cli_ctx *ctx, int argc, char **argv) {
        int64_t id;
        if (argc != 3 || strcmp(argv[1], "execute") != 0 || cli_parse_id(argv[2], &id) < 0)
                return cli_usage(ctx, rec_usage, "rec: expected execute and an action id");
        cli_api *api = NULL;
        int code = cli_connect(ctx, rec_usage, &api);
        if (code != CLI_EXIT_OK)
                return code;
        char path[64];
        snprintf(path, sizeof(path), "/v1/recommendations/%" PRId64 "/execute", id);
        cli_response resp = {0};
        code = cli_call(ctx, api, "POST", path, NULL, NULL, 0, &resp);
        if (code == CLI_EXIT_OK) {
                if (resp.status < 200 || resp.status > 299)
                        code = cli_fail_response(ctx, &resp);
                else
                        cli_print_reply(ctx, &resp);
        }
        cli_response_clear(&resp);
        cli_api_free(api);
        return code;
}
