/* SPDX-License-Identifier: Apache-2.0 */
/* What the CLI's commands share (see cli.h): one "bulwark: ..." line per error,
 * usage on bad arguments, terminal-safe printing of untrusted text, the
 * connection to the API and the shapes replies are shown in. Runs in the CLI;
 * server replies are untrusted. */
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/limits.h"
#include "util/strutil.h"

/* Error lines often quote file names, server messages or field paths, none of
 * which we trust: everything goes through cli_put_safe. */
__attribute__((format(printf, 3, 0))) static void out_error_line(const cli_ctx *ctx, int r, const char *fmt,
                                                                 va_list ap) {
        char line[2048];
        vsnprintf(line, sizeof(line), fmt, ap);
        fputs("bulwark: ", ctx->err);
        cli_put_safe(ctx->err, line, false);
        if (r != 0)
                fprintf(ctx->err, ": %s", strerror(r < 0 ? -r : r));
        fputc('\n', ctx->err);
}

int cli_fail(const cli_ctx *ctx, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        out_error_line(ctx, 0, fmt, ap);
        va_end(ap);
        return CLI_EXIT_FAIL;
}

int cli_fail_errno(const cli_ctx *ctx, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        out_error_line(ctx, r, fmt, ap);
        va_end(ap);
        return CLI_EXIT_FAIL;
}

int cli_fail_error(const cli_ctx *ctx, const bw_error *e) {
        char line[1024];
        bw_error_format(e, line, sizeof(line));
        return cli_fail(ctx, "%s", line);
}

int cli_usage(const cli_ctx *ctx, const char *usage, const char *message) {
        if (message)
                fprintf(ctx->err, "bulwark: %s\n", message);
        fputs(usage, ctx->err);
        return CLI_EXIT_USAGE;
}

int cli_parse_id(const char *s, int64_t *ret) {
        return parse_int64(s, 1, INT64_MAX, ret);
}

/* Length of the UTF-8 sequence starting at s if it is valid and printable (not
 * a C1 control, which some terminals obey as 8-bit escape sequences), else 0. */
static size_t out_printable_utf8(const unsigned char *s, size_t left) {
        size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
        if (n == 0 || n > left || !utf8_valid((const char *)s, n))
                return 0;
        if (n == 2 && s[0] == 0xC2 && s[1] < 0xA0)
                return 0;
        return n;
}

void cli_put_safe(FILE *f, const char *s, bool newlines) {
        const unsigned char *p = (const unsigned char *)s;
        size_t left = strlen(s);
        while (left > 0) {
                if ((*p >= 0x20 && *p < 0x7F) || (*p == '\n' && newlines)) {
                        fputc(*p, f);
                        p++, left--;
                        continue;
                }
                size_t n = *p >= 0x80 ? out_printable_utf8(p, left) : 0;
                if (n == 0) {
                        fputc('?', f);
                        p++, left--;
                        continue;
                }
                fwrite(p, 1, n, f);
                p += n, left -= n;
        }
}

int cli_connect(const cli_ctx *ctx, const char *usage, cli_api **ret) {
        if (!ctx->token_file)
                return cli_usage(ctx, usage,
                                 "no token file: use --token-file FILE or set BULWARK_TOKEN_FILE");
        bw_error e = {0};
        int r = cli_api_open(ctx->url, ctx->token_file, ret, &e);
        if (r == -ENOMEM)
                return cli_fail_errno(ctx, r, "connecting to %s", ctx->url);
        return r < 0 ? cli_fail_error(ctx, &e) : CLI_EXIT_OK;
}

int cli_call(const cli_ctx *ctx, cli_api *a, const char *method, const char *path, const char *content_type,
             const char *body, size_t len, cli_response *ret) {
        bw_error e = {0};
        int r = cli_api_request(a, method, path, content_type, body, len, ret, &e);
        if (r == -ENOMEM)
                return cli_fail_errno(ctx, r, "%s %s", method, path);
        return r < 0 ? cli_fail_error(ctx, &e) : CLI_EXIT_OK;
}

int cli_fail_response(const cli_ctx *ctx, const cli_response *r) {
        bw_error e;
        cli_response_error(r, &e);
        char line[1024];
        bw_error_format(&e, line, sizeof(line));
        if (r->status == 503 && r->retry_after[0])
                return cli_fail(ctx, "HTTP %ld: %s (retry after %s s)", r->status, line, r->retry_after);
        return cli_fail(ctx, "HTTP %ld: %s", r->status, line);
}

void cli_print_reply(const cli_ctx *ctx, const cli_response *r) {
        if (r->len == 0)
                return;
        cli_put_safe(ctx->out, r->body, true);
        if (r->body[r->len - 1] != '\n')
                fputc('\n', ctx->out);
}

int cli_request(const cli_ctx *ctx, const char *usage, const char *method, const char *path,
                const char *json_body, cli_show_fn show) {
        cli_api *api = NULL;
        int code = cli_connect(ctx, usage, &api);
        if (code != CLI_EXIT_OK)
                return code;
        cli_response resp = {0};
        code = cli_call(ctx, api, method, path, json_body ? "application/json" : NULL, json_body,
                        json_body ? strlen(json_body) : 0, &resp);
        if (code == CLI_EXIT_OK)
                code = resp.status >= 200 && resp.status <= 299 ? show(ctx, &resp)
                                                                : cli_fail_response(ctx, &resp);
        cli_response_clear(&resp);
        cli_api_free(api);
        return code;
}

int cli_show_raw(const cli_ctx *ctx, const cli_response *resp) {
        cli_print_reply(ctx, resp);
        return CLI_EXIT_OK;
}

int cli_show_pretty(const cli_ctx *ctx, const cli_response *resp) {
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

int cli_text_body(const cli_ctx *ctx, const char *usage, const char *command, const char *key,
                  const char *text, char **ret_body) {
        char message[128];
        size_t len = text ? strlen(text) : 0;
        /* The text is what the audit trail keeps of why: an empty one says nothing. */
        if (len == 0)
                snprintf(message, sizeof(message), "%s: --%s TEXT is required", command, key);
        else if (len > BW_REASON_MAX)
                snprintf(message, sizeof(message), "--%s is longer than %u bytes", key, BW_REASON_MAX);
        /* JSON text must be UTF-8: other bytes are the user's mistake, not a failure. */
        else if (!utf8_valid(text, len))
                snprintf(message, sizeof(message), "--%s must be UTF-8 text", key);
        else {
                json_t *req = json_pack("{s:s}", key, text);
                char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
                json_decref(req);
                if (!body)
                        return cli_fail_errno(ctx, -ENOMEM, "%s", command);
                *ret_body = body;
                return CLI_EXIT_OK;
        }
        return cli_usage(ctx, usage, message);
}

void cli_format_time(int64_t ms, char *out, size_t outlen) {
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm) && strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
                return;
        snprintf(out, outlen, "%" PRId64, ms);
}

void cli_format_cell(const json_t *v, bool time, char *out, size_t outlen) {
        if (json_is_integer(v) && time)
                cli_format_time(json_integer_value(v), out, outlen);
        else if (json_is_integer(v))
                snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_string(v))
                snprintf(out, outlen, "%s", json_string_value(v));
        else
                snprintf(out, outlen, "-");
}

int cli_print_table(const cli_ctx *ctx, const cli_column *columns, size_t n_columns, const json_t *items) {
        size_t n_rows = json_array_size(items) + 1;
        /* Row 0 is the header. A reply of at most CLI_RESPONSE_MAX bytes bounds the rows. */
        char(*cells)[CLI_CELL_MAX] = calloc(n_rows * n_columns, CLI_CELL_MAX);
        size_t *width = calloc(n_columns, sizeof(*width));
        if (!cells || !width) {
                free(cells);
                free(width);
                return cli_fail_errno(ctx, -ENOMEM, "printing the table");
        }
        for (size_t i = 0; i < n_rows; i++) {
                const json_t *item = i > 0 ? json_array_get(items, i - 1) : NULL;
                for (size_t c = 0; c < n_columns; c++) {
                        char *cell = cells[i * n_columns + c];
                        if (i == 0)
                                snprintf(cell, CLI_CELL_MAX, "%s", columns[c].header);
                        else if (columns[c].cell)
                                columns[c].cell(item, cell, CLI_CELL_MAX);
                        else
                                cli_format_cell(json_object_get(item, columns[c].key), columns[c].time, cell,
                                                CLI_CELL_MAX);
                        if (strlen(cell) > width[c])
                                width[c] = strlen(cell);
                }
        }
        for (size_t i = 0; i < n_rows; i++)
                for (size_t c = 0; c < n_columns; c++) {
                        const char *cell = cells[i * n_columns + c];
                        cli_put_safe(ctx->out, cell, false);
                        if (c + 1 == n_columns)
                                fputc('\n', ctx->out);
                        else
                                fprintf(ctx->out, "%*s", (int)(width[c] - strlen(cell) + 2), "");
                }
        free(cells);
        free(width);
        return CLI_EXIT_OK;
}
