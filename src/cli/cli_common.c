/* SPDX-License-Identifier: Apache-2.0 */
/* What the CLI's commands share (see cli.h): one "bulwark: ..." line per error,
 * usage on bad arguments, terminal-safe printing of untrusted text, and the
 * connection to the API. Runs in the CLI. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

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
