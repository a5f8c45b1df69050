/* SPDX-License-Identifier: Apache-2.0 */
/* What the commands of the `bulwark` CLI share: the invocation context, exit
 * codes, the noun entry points and the output conventions. Runs in the CLI; its
 * inputs (files, server replies) are untrusted. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli_api.h"
#include "util/error.h"

/* Output contract (scripts and the end-to-end tests rely on it):
 * - Errors: one line "bulwark: <message>" on stderr. An API refusal reads
 *   "bulwark: HTTP <status>: [<field>: ]<message>"; a rejected batch line
 *   "bulwark: <file>:<line>: [<field>: ]<message>" (the file's own numbering).
 * - alert send: the server's JSON reply on stdout (also on refusal); exit 0 on
 *   any 2xx, so a batch with rejected lines exits 0 after listing them on stderr.
 * - exec list: a header "ID ALERT PLAYBOOK LEVEL STATUS CREATED" and one row
 *   per execution, columns separated by two or more spaces, CREATED in UTC
 *   (2026-11-22T10:00:00Z); with --json the server's reply as it came.
 * - exec show: the execution as JSON indented by two spaces; --json: as it came.
 * - init: "created <absolute path>" per file written.
 * - playbook lint: "<file>:<line>:<col>: <field>: <message>" per error on
 *   stdout, then "<N> playbook(s), <M> error(s)".
 * - playbook test: "playbook:", "automation level:", "alert:", "trigger: match"
 *   or "trigger: no match" followed by indented reasons ("  type: ...",
 *   "  severity: ...", "  label <key>: ..."), then per step "action <i>: step
 *   <id>" with indented "integration:", "action: <connector>.<verb>
 *   (reversible|not reversible)", "target kind:", "targets:", "params:" (compact
 *   JSON, sorted keys), "idempotency key:", "governor: <verdict> (<reason>)" when
 *   the action has targets, "budgets: <key> <n>/<window>, ..." when rate limits
 *   apply, and "engine:" (would apply | recorded as
 *   recommendation | alert only | awaits approval | refused whole by the
 *   governor | skipped: ... | not run: ...).
 * - rec execute: the server's JSON reply ({"action_id","alert_id","status"}).
 * - breaker status: "breaker: open|closed"; when open "reason: ..." and
 *   "opened at: <UTC>"; when reset before "last reset: <UTC> by <actor>:
 *   <reason>"; --json: the reply as it came. breaker reset: the same lines from
 *   the reply. */

/* Exit codes, stable for scripts: 0 success, 1 the operation failed (or the
 * server refused it), 2 bad arguments (usage printed). */
enum {
        CLI_EXIT_OK = 0,
        CLI_EXIT_FAIL = 1,
        CLI_EXIT_USAGE = 2,
};

#define CLI_DEFAULT_URL "http://127.0.0.1:8080"

/* Errors `playbook lint` reports per run: enough for a directory of broken
 * playbooks, bounded so a pathological one cannot make us allocate without limit. */
#define CLI_LINT_MAX_ERRORS 1000u

/* `init` draws the API token from 32 random bytes (64 hex characters), as much
 * entropy as the daemon's token hash keeps. */
#define CLI_INIT_TOKEN_BYTES 32u

typedef struct cli_ctx {
        const char *url;        /* API base URL, never NULL */
        const char *token_file; /* NULL when neither --token-file nor BULWARK_TOKEN_FILE is set */
        FILE *out;              /* results */
        FILE *err;              /* one-line errors and usage */
} cli_ctx;

/* Noun entry points: argv[0] is the noun, argv[1] the verb. Each returns an exit
 * code and prints its own errors on ctx->err. */
int cli_alert_main(const cli_ctx *ctx, int argc, char **argv);
int cli_rec_main(const cli_ctx *ctx, int argc, char **argv);
int cli_breaker_main(const cli_ctx *ctx, int argc, char **argv);
int cli_exec_main(const cli_ctx *ctx, int argc, char **argv);
int cli_init_main(const cli_ctx *ctx, int argc, char **argv);
int cli_playbook_main(const cli_ctx *ctx, int argc, char **argv);

/* Prints "bulwark: <message>" on ctx->err and returns CLI_EXIT_FAIL. */
int cli_fail(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "bulwark: <what>: <errno text>" and returns CLI_EXIT_FAIL. */
int cli_fail_errno(const cli_ctx *ctx, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints a validation error as "bulwark: file:line:col: field: message" (the
 * parts that are known) and returns CLI_EXIT_FAIL. */
int cli_fail_error(const cli_ctx *ctx, const bw_error *e);

/* Prints "bulwark: <message>" and the usage text on ctx->err; returns
 * CLI_EXIT_USAGE. message may be NULL. */
int cli_usage(const cli_ctx *ctx, const char *usage, const char *message);

/* Parses a positive decimal id (1..INT64_MAX) given on the command line. */
int cli_parse_id(const char *s, int64_t *ret);

/* Writes s to f with every byte that is not printable ASCII or part of valid
 * UTF-8 (or a newline, if newlines) replaced by '?': server replies and files
 * must not be able to send escape sequences to the user's terminal. */
void cli_put_safe(FILE *f, const char *s, bool newlines);

/* Opens the API client for ctx (URL and token file), printing why not on
 * failure. Returns CLI_EXIT_OK and *ret, or another exit code (CLI_EXIT_USAGE
 * when no token file was given). */
int cli_connect(const cli_ctx *ctx, const char *usage, cli_api **ret);

/* cli_api_request, printing transport errors. Returns CLI_EXIT_OK with *ret for
 * any HTTP status, else CLI_EXIT_FAIL. */
int cli_call(const cli_ctx *ctx, cli_api *a, const char *method, const char *path, const char *content_type,
             const char *body, size_t len, cli_response *ret);

/* Prints "bulwark: HTTP <status>: field: message" from the server's error reply
 * (and Retry-After on 503); returns CLI_EXIT_FAIL. */
int cli_fail_response(const cli_ctx *ctx, const cli_response *r);

/* Prints the reply body (terminal-safe) on ctx->out, newline-terminated. */
void cli_print_reply(const cli_ctx *ctx, const cli_response *r);
