/* SPDX-License-Identifier: Apache-2.0 */
/* What the commands of the `bulwark` CLI share: the invocation context, exit
 * codes, the noun entry points and the output conventions. Runs in the CLI; its
 * inputs (files, server replies) are untrusted. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

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
 * - exec rollback: the server's reply as it came ({"exec_id","alert_id",
 *   "actions","status"}).
 * - approval list: a header "ID EXEC PLAYBOOK STATE REQUESTED_BY APPROVALS
 *   EXPIRES" and one row per approval, newest first, columns separated by two or
 *   more spaces, APPROVALS as "<approved>/<required>", EXPIRES in UTC; with
 *   --json the server's reply as it came.
 * - approval show: the approval with its actions as JSON indented by two
 *   spaces; --json: as it came.
 * - approval approve|reject|review: "approval <id>: <state>", "approvals:
 *   <approved>/<required>" and, when the approval has a review, "review:
 *   <pending|acknowledged>".
 * - rollback-test: "<integration> (<connector>): ok" or "<integration>
 *   (<connector>): FAILED: <detail>" per staging integration, then "<P> passed,
 *   <F> failed"; exit 1 when one failed or none was tested ("bulwark: no staging
 *   integration to test"); --json: the reply as it came, same exit status.
 * - init: "created <absolute path>" per file written.
 * - playbook lint: "<file>:<line>:<col>: <field>: <message>" per error on
 *   stdout, then "<N> playbook(s), <M> error(s)".
 * - playbook test: "playbook:", "automation level:", "alert:", with --live
 *   "circuit breaker: open|closed (now)", "trigger: match" (then, for a
 *   threshold, "  threshold: <count> alerts sharing <key> within <s> s; ...")
 *   or "trigger: no match" followed by indented reasons ("  type: ...",
 *   "  severity: ...", "  label <key>: ..."), then per step "action <i>: step
 *   <id>" with indented "integration:", "action: <connector>.<verb>
 *   (reversible|not reversible)", "target kind:", "targets:", "params:" (compact
 *   JSON, sorted keys), "idempotency key:", "governor: <verdict> (<reason>)" when
 *   the action has targets, "budgets: <key> [<used> used of ]<n>/<window>, ..."
 *   when rate limits apply (used: with --live), "governor: over_budget
 *   (<which> spent; ...)" when --live finds one spent, "approval: needed:
 *   <reason>" (further reasons on indented lines) at levels 3-4, "expires:
 *   reverted <s> s after it is applied" with duration_s, and "engine:" (would
 *   apply | recorded as recommendation[ (over budget...| (the circuit breaker
 *   is open)] | alert only | awaits approval | refused whole by the governor |
 *   skipped: ... | not run: ...).
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

/* A table cell: wide enough for a playbook name (BW_NAME_MAX), an actor, a
 * status or an RFC 3339 time; a longer server string is cut. */
#define CLI_CELL_MAX 72

/* "2026-11-22T10:00:00Z", or any 64-bit integer, with its NUL. */
#define CLI_TIME_MAX 32

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
int cli_approval_main(const cli_ctx *ctx, int argc, char **argv);
/* `rollback-test` has no verb: argv[0] is the command, options follow. */
int cli_rollback_drill_main(const cli_ctx *ctx, int argc, char **argv);

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

/* Prints a successful (2xx) reply; returns an exit code. */
typedef int (*cli_show_fn)(const cli_ctx *ctx, const cli_response *resp);

/* Connects (cli_connect), sends one request whose body, when not NULL, is JSON
 * text, and hands a 2xx reply to show; any other status is the server's refusal,
 * printed by cli_fail_response. Returns an exit code. */
int cli_request(const cli_ctx *ctx, const char *usage, const char *method, const char *path,
                const char *json_body, cli_show_fn show);

/* cli_show_fn: the reply as it came (cli_print_reply). */
int cli_show_raw(const cli_ctx *ctx, const cli_response *resp);

/* cli_show_fn: the JSON reply indented by two spaces, keys in the server's
 * order, terminal-safe. */
int cli_show_pretty(const cli_ctx *ctx, const cli_response *resp);

/* Checks the free text given as --<key> (a reason or a note): present,
 * non-empty, at most BW_REASON_MAX bytes (what the API accepts), UTF-8 (it is kept as JSON text); and
 * encodes the request body {"<key>": text} with jansson. command names the
 * command in the "required" message ("approval approve"). Returns CLI_EXIT_OK
 * with *ret_body (free() it), CLI_EXIT_USAGE (message and usage printed) or
 * CLI_EXIT_FAIL. */
int cli_text_body(const cli_ctx *ctx, const char *usage, const char *command, const char *key,
                  const char *text, char **ret_body);

/* Writes ms (integer milliseconds since the epoch) as UTC RFC 3339
 * ("2026-11-22T10:00:00Z"); a time gmtime cannot represent stays the plain
 * number rather than being hidden. outlen >= CLI_TIME_MAX. */
void cli_format_time(int64_t ms, char *out, size_t outlen);

/* Writes a reply's value as a table cell: a string as is, an integer as a
 * number (as a UTC time when time), anything else (absent, null) as "-". */
void cli_format_cell(const json_t *v, bool time, char *out, size_t outlen);

/* One column of a table: its header and either the key of the item's member it
 * shows (see cli_format_cell) or, when cell is not NULL, a function computing
 * the cell from the whole item. */
typedef struct cli_column {
        const char *header;
        const char *key;
        bool time;
        void (*cell)(const json_t *item, char *out, size_t outlen);
} cli_column;

/* Prints the header and one row per object of items, each column as wide as
 * its widest cell plus two spaces, terminal-safe. Returns an exit code. */
int cli_print_table(const cli_ctx *ctx, const cli_column *columns, size_t n_columns, const json_t *items);
