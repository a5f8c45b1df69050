/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark alert send FILE|-`: one alert or an NDJSON batch to the API. Runs in
 * the CLI; the file and the server's reply are untrusted. */
#include "cli/cli_alert.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/limits.h"
#include "util/buf.h"
#include "util/fileio.h"

static const char alert_usage[] =
        "usage: bulwark [--url URL] [--token-file FILE] alert send FILE|-\n"
        "  FILE holds one JSON alert, or one alert per line (NDJSON, at most 1000);\n"
        "  - reads standard input.\n";

typedef struct alert_line {
        const char *start;
        size_t len;
        unsigned number;
} alert_line;

static bool alert_blank(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        return false;
        return true;
}

/* Calls back for each non-blank line (without its "\n" or "\r\n"). */
static void alert_each_line(const char *data, size_t len, void (*fn)(const alert_line *l, void *userdata),
                            void *userdata) {
        unsigned number = 0;
        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(data + pos, '\n', len - pos);
                size_t end = nl ? (size_t)(nl - data) : len;
                alert_line l = {.start = data + pos, .len = end - pos, .number = ++number};
                if (l.len > 0 && l.start[l.len - 1] == '\r')
                        l.len--;
                pos = end + 1;
                if (!alert_blank(l.start, l.len))
                        fn(&l, userdata);
        }
}

typedef struct alert_scan {
        size_t n;
        alert_line first;
} alert_scan;

static void alert_scan_line(const alert_line *l, void *userdata) {
        alert_scan *s = userdata;
        if (s->n++ == 0)
                s->first = *l;
}

static void alert_collect_line(const alert_line *l, void *userdata) {
        cli_alert_payload *p = userdata;
        memcpy(p->body + p->len, l->start, l->len);
        p->len += l->len;
        p->body[p->len++] = '\n';
        p->lines[p->n_lines++] = l->number;
}

static bool alert_is_object(const char *s, size_t len) {
        json_t *v = json_loadb(s, len, 0, NULL);
        bool ok = json_is_object(v);
        json_decref(v);
        return ok;
}

int cli_alert_prepare(const char *data, size_t len, cli_alert_payload *ret, bw_error *err) {
        alert_scan scan = {0};
        alert_each_line(data, len, alert_scan_line, &scan);
        if (scan.n == 0)
                return -ENODATA;
        cli_alert_payload p = {0};
        if (scan.n < 2 || alert_is_object(data, len) || !alert_is_object(scan.first.start, scan.first.len)) {
                p.body = malloc(len + 1);
                if (!p.body)
                        return -ENOMEM;
                memcpy(p.body, data, len);
                p.body[len] = '\0';
                p.len = len;
                *ret = p;
                return 0;
        }
        if (scan.n > BW_BATCH_MAX_ALERTS) {
                bw_error_set(err, "too_large", NULL, "%zu alerts: a batch holds at most %u; split the file",
                             scan.n, BW_BATCH_MAX_ALERTS);
                return -E2BIG;
        }
        p.batch = true;
        /* Each kept line gains at most one "\n" it may not have had (the last). */
        p.body = malloc(len + 2);
        p.lines = calloc(scan.n, sizeof(*p.lines));
        if (!p.body || !p.lines) {
                cli_alert_payload_clear(&p);
                return -ENOMEM;
        }
        alert_each_line(data, len, alert_collect_line, &p);
        p.body[p.len] = '\0';
        *ret = p;
        return 0;
}

void cli_alert_payload_clear(cli_alert_payload *p) {
        if (!p)
                return;
        free(p->body);
        free(p->lines);
        *p = (cli_alert_payload){0};
}

/* Standard input may be a pipe: read it through the same bound as a file. */
static int alert_read_stdin(char **ret, size_t *ret_len) {
        buf b;
        buf_init(&b, BW_BATCH_BODY_MAX);
        char chunk[65536];
        for (;;) {
                ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
                if (n < 0 && errno == EINTR)
                        continue;
                int r = n < 0 ? -errno : buf_append(&b, chunk, (size_t)n);
                if (r == -EMSGSIZE)
                        r = -EFBIG;
                if (r < 0) {
                        buf_free(&b);
                        return r;
                }
                if (n == 0)
                        break;
        }
        *ret = buf_steal(&b, ret_len);
        return *ret ? 0 : -ENOMEM;
}

/* Reports each rejected line of a batch reply against the file's own numbering. */
static void alert_report_rejected(const cli_ctx *ctx, const char *file, const cli_alert_payload *p,
                                  const cli_response *resp) {
        json_t *root = json_loadb(resp->body, resp->len, 0, NULL);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(root, "results"), i, item) {
                json_t *e = json_object_get(item, "error");
                json_int_t line = json_integer_value(json_object_get(item, "line"));
                if (!e)
                        continue;
                const char *field = json_string_value(json_object_get(e, "field"));
                const char *message = json_string_value(json_object_get(e, "message"));
                unsigned number = line >= 1 && (size_t)line <= p->n_lines ? p->lines[line - 1] : 0;
                cli_fail(ctx, "%s:%u: %s%s%s", file, number, field ? field : "", field && *field ? ": " : "",
                         message ? message : "rejected");
        }
        json_decref(root);
}

static int alert_send(const cli_ctx *ctx, const char *file) {
        cli_api *api = NULL;
        int code = cli_connect(ctx, alert_usage, &api);
        if (code != CLI_EXIT_OK)
                return code;
        char *data = NULL;
        size_t len = 0;
        cli_alert_payload p = {0};
        cli_response resp = {0};
        bw_error e = {0};
        const char *name = strcmp(file, "-") == 0 ? "<stdin>" : file;
        int r = strcmp(file, "-") == 0 ? alert_read_stdin(&data, &len)
                                       : file_read_all(file, BW_BATCH_BODY_MAX, &data, &len);
        if (r == -EFBIG)
                code = cli_fail(ctx, "%s: larger than %u bytes", name, BW_BATCH_BODY_MAX);
        else if (r < 0)
                code = cli_fail_errno(ctx, r, "%s", name);
        else if ((r = cli_alert_prepare(data, len, &p, &e)) == -ENODATA)
                code = cli_fail(ctx, "%s: no alert in the file", name);
        else if (r == -E2BIG)
                code = cli_fail(ctx, "%s: %s", name, e.message);
        else if (r < 0)
                code = cli_fail_errno(ctx, r, "%s", name);
        else
                code = cli_call(ctx, api, "POST", p.batch ? "/v1/alerts/batch" : "/v1/alerts",
                                p.batch ? "application/x-ndjson" : "application/json", p.body, p.len, &resp);
        if (r >= 0 && code == CLI_EXIT_OK) {
                cli_print_reply(ctx, &resp);
                if (resp.status < 200 || resp.status > 299)
                        code = cli_fail_response(ctx, &resp);
                else if (p.batch)
                        alert_report_rejected(ctx, name, &p, &resp);
        }
        cli_response_clear(&resp);
        cli_alert_payload_clear(&p);
        free(data);
        cli_api_free(api);
        return code;
}

int cli_alert_main(const cli_ctx *ctx, int argc, char **argv) {
        if (argc < 2)
                return cli_usage(ctx, alert_usage, "alert: missing verb");
        if (strcmp(argv[1], "send") != 0)
                return cli_usage(ctx, alert_usage, "alert: unknown verb");
        static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {0}};
        optind = 0;
        int c;
        while ((c = getopt_long(argc - 1, argv + 1, "h", options, NULL)) != -1) {
                if (c != 'h')
                        return cli_usage(ctx, alert_usage, NULL);
                fputs(alert_usage, ctx->out);
                return CLI_EXIT_OK;
        }
        if (argc - 1 - optind != 1)
                return cli_usage(ctx, alert_usage,
                                 "alert send: expected one FILE (or - for standard input)");
        return alert_send(ctx, argv[1 + optind]);
}
