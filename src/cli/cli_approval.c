/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark approval list|show|approve|reject|review`: the approvals that
 * level-4 and high-risk actions wait for, read and decided through the API. Runs
 * in the CLI; the server's replies are untrusted (printed terminal-safe). */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char approval_usage[] =
        "usage: bulwark [--url URL] [--token-file FILE] approval list [--state "
        "pending|approved|rejected|all] "
        "[--json]\n"
        "       bulwark [--url URL] [--token-file FILE] approval show ID [--json]\n"
        "       bulwark [--url URL] [--token-file FILE] approval approve ID --reason TEXT\n"
        "       bulwark [--url URL] [--token-file FILE] approval reject ID --reason TEXT\n"
        "       bulwark [--url URL] [--token-file FILE] approval review ID --note TEXT\n";

static const struct option approval_options[] = {
        {"state", required_argument, NULL, 's'},  {"json", no_argument, NULL, 'j'},
        {"reason", required_argument, NULL, 'r'}, {"note", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},         {0}};

/* The verbs, the options each accepts (their getopt values) and, for the
 * decisions, the member of the POST body that carries the person's text. */
static const struct approval_verb {
        const char *name;
        const char *options;
        const char *text_key; /* NULL: a GET */
} approval_verbs[] = {
        {"list", "sj", NULL},      {"show", "j", NULL},     {"approve", "r", "reason"},
        {"reject", "r", "reason"}, {"review", "n", "note"},
};

/* The states the server filters on; anything else would only be refused later. */
static const char *const approval_states[] = {"pending", "approved", "rejected", "all"};

/* "<approved>/<required>": how far an approval is from its decision (a
 * high-risk action may need two approvers). */
static void approval_count(const json_t *approval, char *out, size_t outlen) {
        const json_t *required = json_object_get(approval, "approvals_required");
        if (!json_is_integer(required)) {
                snprintf(out, outlen, "-");
                return;
        }
        snprintf(out, outlen, "%zu/%" JSON_INTEGER_FORMAT,
                 json_array_size(json_object_get(approval, "approved_by")), json_integer_value(required));
}

static const cli_column approval_columns[] = {
        {"ID", "id", false, NULL},
        {"EXEC", "exec_id", false, NULL},
        {"PLAYBOOK", "playbook", false, NULL},
        {"STATE", "state", false, NULL},
        {"REQUESTED_BY", "requested_by", false, NULL},
        {"APPROVALS", NULL, false, approval_count},
        {"EXPIRES", "expires_at", true, NULL},
};

static int approval_show_list(const cli_ctx *ctx, const cli_response *resp) {
        json_t *root = json_loadb(resp->body, resp->len, 0, NULL);
        json_t *list = json_object_get(root, "approvals");
        int code = json_is_array(list)
                           ? cli_print_table(ctx, approval_columns,
                                             sizeof(approval_columns) / sizeof(approval_columns[0]), list)
                           : cli_fail(ctx, "the server's reply has no \"approvals\" list");
        json_decref(root);
        return code;
}

/* The approval after a decision: its state, its count and, when it carries a
 * review, the review's state. */
static int approval_show_decision(const cli_ctx *ctx, const cli_response *resp) {
        json_t *approval = json_loadb(resp->body, resp->len, 0, NULL);
        const char *state = json_string_value(json_object_get(approval, "state"));
        if (!state) {
                json_decref(approval);
                return cli_fail(ctx, "the server's reply has no \"state\"");
        }
        char cell[CLI_CELL_MAX];
        cli_format_cell(json_object_get(approval, "id"), false, cell, sizeof(cell));
        fputs("approval ", ctx->out);
        cli_put_safe(ctx->out, cell, false);
        fputs(": ", ctx->out);
        cli_put_safe(ctx->out, state, false);
        approval_count(approval, cell, sizeof(cell));
        fprintf(ctx->out, "\napprovals: %s\n", cell);
        json_t *review = json_object_get(approval, "review");
        if (json_is_object(review)) {
                cli_format_cell(json_object_get(review, "state"), false, cell, sizeof(cell));
                fputs("review: ", ctx->out);
                cli_put_safe(ctx->out, cell, false);
                fputc('\n', ctx->out);
        }
        json_decref(approval);
        return CLI_EXIT_OK;
}

static int approval_list(const cli_ctx *ctx, const char *state, bool raw) {
        bool known = false;
        for (size_t i = 0; i < sizeof(approval_states) / sizeof(approval_states[0]); i++)
                known = known || strcmp(state, approval_states[i]) == 0;
        if (!known)
                return cli_usage(ctx, approval_usage, "--state must be pending, approved, rejected or all");
        char path[64];
        snprintf(path, sizeof(path), "/v1/approvals?state=%s", state);
        return cli_request(ctx, approval_usage, "GET", path, NULL, raw ? cli_show_raw : approval_show_list);
}

static int approval_decide(const cli_ctx *ctx, const struct approval_verb *verb, int64_t id,
                           const char *text) {
        char command[32], path[96];
        snprintf(command, sizeof(command), "approval %s", verb->name);
        char *body = NULL;
        int code = cli_text_body(ctx, approval_usage, command, verb->text_key, text, &body);
        if (code != CLI_EXIT_OK)
                return code;
        snprintf(path, sizeof(path), "/v1/approvals/%" PRId64 "/%s", id, verb->name);
        code = cli_request(ctx, approval_usage, "POST", path, body, approval_show_decision);
        free(body);
        return code;
}

int cli_approval_main(const cli_ctx *ctx, int argc, char **argv) {
        if (argc < 2)
                return cli_usage(ctx, approval_usage, "approval: missing verb");
        const struct approval_verb *verb = NULL;
        for (size_t i = 0; i < sizeof(approval_verbs) / sizeof(approval_verbs[0]); i++)
                if (strcmp(argv[1], approval_verbs[i].name) == 0)
                        verb = &approval_verbs[i];
        if (!verb)
                return cli_usage(ctx, approval_usage, "approval: unknown verb");
        const char *state = "pending", *text = NULL;
        bool raw = false;
        optind = 0;
        int c, opt_index = -1;
        while ((c = getopt_long(argc - 1, argv + 1, "h", approval_options, &opt_index)) != -1) {
                if (c == 'h') {
                        fputs(approval_usage, ctx->out);
                        return CLI_EXIT_OK;
                }
                /* Every option but -h is long-only: opt_index names it, or getopt refused it. */
                if (c == '?' || opt_index < 0)
                        return cli_usage(ctx, approval_usage, NULL);
                if (!strchr(verb->options, c)) {
                        char message[80];
                        snprintf(message, sizeof(message), "--%s is not an option of approval %s",
                                 approval_options[opt_index].name, verb->name);
                        return cli_usage(ctx, approval_usage, message);
                }
                if (c == 's')
                        state = optarg;
                else if (c == 'j')
                        raw = true;
                else
                        text = optarg; /* --reason or --note: a verb accepts only one of them */
                opt_index = -1;
        }
        int rest = argc - 1 - optind;
        if (strcmp(verb->name, "list") == 0) {
                if (rest != 0)
                        return cli_usage(ctx, approval_usage, "approval list: unexpected argument");
                return approval_list(ctx, state, raw);
        }
        int64_t id;
        if (rest != 1 || cli_parse_id(argv[1 + optind], &id) < 0) {
                char message[80];
                snprintf(message, sizeof(message), "approval %s: expected one approval ID", verb->name);
                return cli_usage(ctx, approval_usage, message);
        }
        if (verb->text_key)
                return approval_decide(ctx, verb, id, text);
        char path[64];
        snprintf(path, sizeof(path), "/v1/approvals/%" PRId64, id);
        return cli_request(ctx, approval_usage, "GET", path, NULL, raw ? cli_show_raw : cli_show_pretty);
}
