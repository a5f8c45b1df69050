/* SPDX-License-Identifier: Apache-2.0 */
/* `bulwark playbook lint|test`: offline checks and dry runs of playbooks; they
 * touch nothing but the files they read. Runs in the CLI; playbooks, alerts and
 * configuration files are untrusted. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "config/config.h"
#include "config/playbooks.h"
#include "core/governor.h"
#include "connectors/connector.h"
#include "core/alert.h"
#include "core/limits.h"
#include "core/playbook.h"
#include "config/governed_action.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/strutil.h"

static const char playbook_usage[] =
        "usage: bulwark playbook lint DIR|FILE [--config FILE]\n"
        "       bulwark playbook test FILE --alert ALERT.json [--config FILE] [--alert-id N] [--live]\n"
        "         --live: also read the daemon's rate budgets and breaker now (--url, --token-file)\n";

typedef struct playbook_args {
        const char *path;
        const char *alert;
        const char *config;
        int64_t alert_id;
        bool live;
} playbook_args;

/* What --live read from the daemon: the budgets as used now and the breaker. */
typedef struct pb_live {
        json_t *budgets; /* [{"key","window","limit","used","spent"}], NULL without --live */
        bool breaker_open;
} pb_live;

/* One line of the report on ctx->out; every piece may come from a file. */
__attribute__((format(printf, 2, 3))) static void pb_line(const cli_ctx *ctx, const char *fmt, ...) {
        char line[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        cli_put_safe(ctx->out, line, false);
        fputc('\n', ctx->out);
}

static int pb_load_config(const cli_ctx *ctx, const char *path, bw_config **ret) {
        *ret = NULL;
        if (!path)
                return CLI_EXIT_OK;
        bw_error e = {0};
        int r = config_load(path, ret, &e);
        if (r == -EINVAL)
                return cli_fail_error(ctx, &e);
        return r < 0 ? cli_fail_errno(ctx, r, "%s", path) : CLI_EXIT_OK;
}

static void pb_print_errors(const cli_ctx *ctx, const bw_error *errs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char line[1024];
                bw_error_format(&errs[i], line, sizeof(line));
                pb_line(ctx, "%s", line);
        }
}

static int pb_parse_file(const char *path, playbook **ret, bw_error *err) {
        char *data = NULL;
        size_t len = 0;
        int r = file_read_all(path, BW_PLAYBOOK_FILE_MAX, &data, &len);
        if (r == -EFBIG)
                return bw_error_set_at(err, path, 0, 0, "too_large", NULL, "larger than %u bytes",
                                       BW_PLAYBOOK_FILE_MAX);
        if (r < 0) {
                bw_error_set_at(err, path, 0, 0, "unreadable", NULL, "%s", strerror(-r));
                return r;
        }
        r = playbook_parse(data, len, path, ret, err);
        free(data);
        return r;
}

/* --- lint ------------------------------------------------------------------- */

static int pb_lint(const cli_ctx *ctx, const playbook_args *args) {
        bw_config *cfg = NULL;
        int code = pb_load_config(ctx, args->config, &cfg);
        if (code != CLI_EXIT_OK)
                return code;
        bw_error *errs = calloc(CLI_LINT_MAX_ERRORS, sizeof(*errs));
        if (!errs) {
                config_free(cfg);
                return cli_fail_errno(ctx, -ENOMEM, "playbook lint");
        }
        size_t nerrs = 0, nbooks = 0;
        struct stat st;
        int r = stat(args->path, &st) < 0 ? -errno : 0;
        if (r == 0 && S_ISDIR(st.st_mode)) {
                playbook_set *set = NULL;
                r = playbook_set_load(args->path, cfg, &set, errs, CLI_LINT_MAX_ERRORS, &nerrs);
                if (r >= 0 || r == -EINVAL)
                        nbooks = playbook_set_files(set);
                playbook_set_free(set);
        } else if (r == 0) {
                playbook *p = NULL;
                r = pb_parse_file(args->path, &p, &errs[0]);
                nbooks = 1;
                if (r == -EINVAL || r == -EFBIG)
                        nerrs = 1;
                else if (r == 0 && cfg)
                        r = playbook_check(p, cfg, errs, CLI_LINT_MAX_ERRORS, &nerrs);
                playbook_free(p);
        }
        if (r < 0 && r != -EINVAL && nerrs == 0)
                code = cli_fail_errno(ctx, r, "%s", args->path);
        else {
                pb_print_errors(ctx, errs, nerrs);
                pb_line(ctx, "%zu playbook(s), %zu error(s)", nbooks, nerrs);
                code = nerrs == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        }
        free(errs);
        config_free(cfg);
        return code;
}

/* --- test (dry run) ----------------------------------------------------------- */

/* Cross-checks p against the configuration, printing every error on ctx->err. */
static int pb_check(const cli_ctx *ctx, const playbook *p, const bw_config *cfg) {
        bw_error *errs = calloc(CLI_LINT_MAX_ERRORS, sizeof(*errs));
        if (!errs)
                return cli_fail_errno(ctx, -ENOMEM, "%s", p->file);
        size_t n = 0;
        int r = playbook_check(p, cfg, errs, CLI_LINT_MAX_ERRORS, &n);
        for (size_t i = 0; i < n; i++)
                cli_fail_error(ctx, &errs[i]);
        int code = n > 0 ? CLI_EXIT_FAIL : r < 0 ? cli_fail_errno(ctx, r, "%s", p->file) : CLI_EXIT_OK;
        free(errs);
        return code;
}

/* Prints why the trigger does not match, one reason per line, in the order
 * playbook_matches checks them. */
static void pb_explain_mismatch(const cli_ctx *ctx, const playbook *p, const alert *a) {
        const playbook_trigger *t = &p->trigger;
        if (strcmp(t->type, a->type) != 0)
                pb_line(ctx, "  type: the alert is \"%s\", the trigger wants \"%s\"", a->type, t->type);
        if (a->severity < t->min_severity)
                pb_line(ctx, "  severity: the alert is %s, the trigger wants at least %s",
                        alert_severity_name(a->severity), alert_severity_name(t->min_severity));
        const char *key;
        json_t *want;
        json_object_foreach(t->labels, key, want) {
                const char *have = json_string_value(json_object_get(a->labels, key));
                if (have && json_string_value(want) && strcmp(have, json_string_value(want)) == 0)
                        continue;
                if (have)
                        pb_line(ctx, "  label %s: the alert has \"%s\", the trigger wants \"%s\"", key, have,
                                json_string_value(want));
                else
                        pb_line(ctx, "  label %s: the alert has none, the trigger wants \"%s\"", key,
                                json_string_value(want));
        }
}

static const char *pb_level_text(automation_level level) {
        switch (level) {
        case LEVEL_ALERT_ONLY:
                return "alert only: record and notify, no action";
        case LEVEL_RECOMMEND:
                return "recommend: actions recorded, not run";
        case LEVEL_AUTO_REVERSIBLE:
                return "automatic: reversible actions run at once, others after approval";
        case LEVEL_AUTO_IRREVERSIBLE:
                return "automatic after approval";
        }
        return "unknown";
}

/* What the engine would do on the governor's verdict. */
static const char *pb_engine_text(bool matched, const governor_ruling *ru, bool breaker_open) {
        if (!matched)
                return "not run: the trigger does not match";
        switch (ru->verdict) {
        case GOVERNOR_SKIP:
                return "skipped";
        case GOVERNOR_DENY:
                return "refused whole by the governor";
        case GOVERNOR_RECOMMEND:
                if (ru->open_breaker)
                        return "recorded as recommendation (over budget: the circuit breaker opens)";
                return breaker_open ? "recorded as recommendation (the circuit breaker is open)"
                                    : "recorded as recommendation";
        case GOVERNOR_NEEDS_APPROVAL:
                return "awaits approval";
        case GOVERNOR_SATISFIED:
                return "already in effect";
        case GOVERNOR_ALLOW:
                return "would apply";
        default:
                return "unknown";
        }
}

/* How much of budget b the daemon reports used now, or -1 when unknown. */
static int64_t pb_live_used(const pb_live *live, const governor_budget *b) {
        size_t i;
        json_t *e;
        json_array_foreach(live->budgets, i, e) {
                const char *key = json_string_value(json_object_get(e, "key"));
                const char *window = json_string_value(json_object_get(e, "window"));
                json_t *used = json_object_get(e, "used");
                if (key && window && json_is_integer(used) && strcmp(key, b->key) == 0 &&
                    strcmp(window, rate_window_name(b->window)) == 0)
                        return json_integer_value(used);
        }
        return -1;
}

/* The rate budgets an automatic run would be charged to; with --live, what each
 * has used now, into used[] (for the governor). Returns true when used[] is
 * known. */
static bool pb_print_budgets(const cli_ctx *ctx, const governor_policy *gp, const playbook_step *s,
                             const pb_live *live, uint64_t used[GOVERNOR_BUDGETS_MAX]) {
        governor_budget b[GOVERNOR_BUDGETS_MAX];
        size_t n = governor_budgets_for(gp, s->connector, s->verb, b);
        for (size_t i = 0; i < n; i++) {
                int64_t u = live->budgets ? pb_live_used(live, &b[i]) : -1;
                used[i] = u > 0 ? (uint64_t)u : 0;
                fprintf(ctx->out, "%s%s ", i ? ", " : "  budgets: ", b[i].key);
                if (u >= 0)
                        fprintf(ctx->out, "%" PRId64 " used of ", u);
                fprintf(ctx->out, "%u/%s", b[i].limit, rate_window_name(b[i].window));
        }
        if (n > 0)
                fputs(live->budgets ? " (now, as the daemon reports)\n"
                                    : " (charged when it runs; a spent one opens the circuit breaker)\n",
                      ctx->out);
        return live->budgets != NULL;
}

static int pb_print_action(const cli_ctx *ctx, const playbook *p, size_t i, const alert *a, int64_t alert_id,
                           bool matched, const governor_policy *gp, const bw_config *cfg,
                           const pb_live *live) {
        rendered_action ra;
        int r = playbook_render_step(p, i, a, alert_id, &ra);
        if (r < 0)
                return cli_fail_errno(ctx, r, "rendering step %s", p->steps[i].id);
        const playbook_step *s = &p->steps[i];
        char *params = json_dumps(ra.params, JSON_COMPACT | JSON_SORT_KEYS);
        if (!params) {
                rendered_action_clear(&ra);
                return cli_fail_errno(ctx, -ENOMEM, "rendering step %s", s->id);
        }
        pb_line(ctx, "action %zu: step %s", i + 1, s->id);
        pb_line(ctx, "  integration: %s", s->integration);
        /* The action as the engine's gates describe it to the governor. */
        governor_action ga;
        governed_action_describe(p, &ra, cfg ? config_integration_find(cfg, s->integration) : NULL,
                                 GOVERNOR_RUN, false, &ga);
        pb_line(ctx, "  action: %s.%s (%s)", s->connector, s->verb,
                ga.reversible || ga.inert ? "reversible" : "not reversible");
        pb_line(ctx, "  target kind: %s", target_kind_name(ra.targets.kind));
        fputs("  targets:", ctx->out);
        for (size_t t = 0; t < ra.targets.n; t++) {
                fputc(' ', ctx->out);
                cli_put_safe(ctx->out, ra.targets.items[t], false);
        }
        fputs(ra.targets.n == 0 ? " (none)\n" : "\n", ctx->out);
        pb_line(ctx, "  params: %s", params);
        pb_line(ctx, "  idempotency key: %s", ra.idempotency_key);
        uint64_t used[GOVERNOR_BUDGETS_MAX] = {0};
        bool known = pb_print_budgets(ctx, gp, s, live, used);
        /* Live: the daemon's breaker and budgets; offline: none (no approval is
         * known either, so an action that needs one awaits it). */
        governor_state st = {
                .now_ms = clock_wall_ms(),
                .breaker_open = live->breaker_open,
                .budget_used = known ? used : NULL,
        };
        governor_ruling ru;
        governor_decide(gp, &ga, &st, &ru);
        for (size_t k = 0; k < ru.n_approval_reasons; k++)
                pb_line(ctx, "%s%s", k ? "    " : "  approval: needed: ", ru.approval_reasons[k]);
        if (s->duration_s > 0)
                pb_line(ctx, "  expires: reverted %" PRId64 " s after it is applied", s->duration_s);
        if (matched)
                pb_line(ctx, "  governor: %s%s%s (%s)", governor_verdict_name(ru.verdict),
                        ru.verdict == GOVERNOR_ALLOW ? "" : ": ",
                        ru.verdict == GOVERNOR_ALLOW ? "" : ru.rule, ru.reason);
        pb_line(ctx, "  engine: %s", pb_engine_text(matched, &ru, live->breaker_open));
        free(params);
        rendered_action_clear(&ra);
        return CLI_EXIT_OK;
}

/* A threshold trigger counts alerts: one alert alone shows its key only. */
static void pb_print_threshold(const cli_ctx *ctx, const playbook *p, const alert *a) {
        char key[BW_THRESHOLD_KEY_MAX + 1];
        int r = playbook_threshold_key(p, a, key);
        fprintf(ctx->out, "  threshold: %u alerts sharing ", p->trigger.count);
        if (r == 0)
                cli_put_safe(ctx->out, key, false);
        else
                fputs("(no value: this alert never counts)", ctx->out);
        fprintf(ctx->out, " within %" PRId64 " s; runs on the alert that reaches it\n", p->trigger.window_s);
}

static int pb_load_alert(const cli_ctx *ctx, const char *path, alert **ret) {
        char *data = NULL;
        size_t len = 0;
        int r = file_read_all(path, BW_ALERT_BODY_MAX_CEILING, &data, &len);
        if (r == -EFBIG)
                return cli_fail(ctx, "%s: larger than %u bytes", path, BW_ALERT_BODY_MAX_CEILING);
        if (r < 0)
                return cli_fail_errno(ctx, r, "%s", path);
        bw_error e = {0};
        r = alert_parse(data, len, clock_wall_ms(), ret, &e);
        free(data);
        if (r == -EINVAL) {
                str_copy(e.file, sizeof(e.file), path);
                return cli_fail_error(ctx, &e);
        }
        return r < 0 ? cli_fail_errno(ctx, r, "%s", path) : CLI_EXIT_OK;
}

/* --live: GET /v1/budgets. Budgets used now and the breaker are the daemon's
 * state; a dry run alone cannot know them. */
static int pb_load_live(const cli_ctx *ctx, pb_live *ret) {
        cli_api *api = NULL;
        int code = cli_connect(ctx, playbook_usage, &api);
        if (code != CLI_EXIT_OK)
                return code;
        cli_response resp = {0};
        code = cli_call(ctx, api, "GET", "/v1/budgets", NULL, NULL, 0, &resp);
        if (code == CLI_EXIT_OK && (resp.status < 200 || resp.status > 299))
                code = cli_fail_response(ctx, &resp);
        json_t *doc = code == CLI_EXIT_OK ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
        json_t *budgets = json_object_get(doc, "budgets");
        if (code == CLI_EXIT_OK && !json_is_array(budgets))
                code = cli_fail(ctx, "the server's reply has no \"budgets\" list");
        if (code == CLI_EXIT_OK)
                *ret = (pb_live){.budgets = json_incref(budgets),
                                 .breaker_open = json_is_true(json_object_get(doc, "breaker_open"))};
        json_decref(doc);
        cli_response_clear(&resp);
        cli_api_free(api);
        return code;
}

static int pb_test(const cli_ctx *ctx, const playbook_args *args) {
        playbook *p = NULL;
        bw_config *cfg = NULL;
        alert *a = NULL;
        pb_live live = {0};
        bw_error e = {0};
        int r = pb_parse_file(args->path, &p, &e);
        int code = r == -ENOMEM ? cli_fail_errno(ctx, r, "%s", args->path)
                   : r < 0      ? cli_fail_error(ctx, &e)
                                : pb_load_config(ctx, args->config, &cfg);
        if (code == CLI_EXIT_OK && cfg)
                code = pb_check(ctx, p, cfg);
        if (code == CLI_EXIT_OK)
                code = pb_load_alert(ctx, args->alert, &a);
        if (code == CLI_EXIT_OK && args->live)
                code = pb_load_live(ctx, &live);
        if (code == CLI_EXIT_OK) {
                bool matched = playbook_matches(p, a);
                if (args->live)
                        pb_line(ctx, "circuit breaker: %s (now)", live.breaker_open ? "open" : "closed");
                pb_line(ctx, "playbook: %s version %" PRId64 " (%s)", p->name, p->version, args->path);
                pb_line(ctx, "automation level: %d (%s)", (int)p->level, pb_level_text(p->level));
                pb_line(ctx, "alert: %s from %s, severity %s", a->type, a->source,
                        alert_severity_name(a->severity));
                pb_line(ctx, "trigger: %s", matched ? "match" : "no match");
                if (matched && p->trigger.count > 0)
                        pb_print_threshold(ctx, p, a);
                if (!matched)
                        pb_explain_mismatch(ctx, p, a);
                /* Without --config, the compiled ceilings and the never-touch set. */
                governor_policy compiled;
                r = governor_policy_init(&compiled);
                if (r < 0)
                        code = cli_fail_errno(ctx, r, "governor policy");
                const governor_policy *gp = cfg ? &cfg->governor : &compiled;
                for (size_t i = 0; i < p->n_steps && code == CLI_EXIT_OK; i++)
                        code = pb_print_action(ctx, p, i, a, args->alert_id, matched, gp, cfg, &live);
                if (r == 0)
                        governor_policy_clear(&compiled);
        }
        json_decref(live.budgets);
        alert_free(a);
        config_free(cfg);
        playbook_free(p);
        return code;
}

int cli_playbook_main(const cli_ctx *ctx, int argc, char **argv) {
        if (argc < 2)
                return cli_usage(ctx, playbook_usage, "playbook: missing verb");
        bool lint = strcmp(argv[1], "lint") == 0;
        if (!lint && strcmp(argv[1], "test") != 0)
                return cli_usage(ctx, playbook_usage, "playbook: unknown verb");
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},   {"alert", required_argument, NULL, 'a'},
                {"alert-id", required_argument, NULL, 'i'}, {"live", no_argument, NULL, 'l'},
                {"help", no_argument, NULL, 'h'},           {0}};
        playbook_args args = {0};
        optind = 0;
        int c;
        while ((c = getopt_long(argc - 1, argv + 1, "h", options, NULL)) != -1) {
                switch (c) {
                case 'c':
                        args.config = optarg;
                        break;
                case 'a':
                        if (lint)
                                return cli_usage(ctx, playbook_usage,
                                                 "--alert is an option of playbook test");
                        args.alert = optarg;
                        break;
                case 'l':
                        if (lint)
                                return cli_usage(ctx, playbook_usage,
                                                 "--live is an option of playbook test");
                        args.live = true;
                        break;
                case 'i':
                        if (lint || cli_parse_id(optarg, &args.alert_id) < 0)
                                return cli_usage(ctx, playbook_usage,
                                                 "--alert-id takes an alert id (playbook test)");
                        break;
                case 'h':
                        fputs(playbook_usage, ctx->out);
                        return CLI_EXIT_OK;
                default:
                        return cli_usage(ctx, playbook_usage, NULL);
                }
        }
        if (argc - 1 - optind != 1)
                return cli_usage(ctx, playbook_usage,
                                 lint ? "playbook lint: expected one DIR or FILE"
                                      : "playbook test: expected one FILE");
        args.path = argv[1 + optind];
        if (lint)
                return pb_lint(ctx, &args);
        if (!args.alert)
                return cli_usage(ctx, playbook_usage, "playbook test: --alert ALERT.json is required");
        return pb_test(ctx, &args);
}
