/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the CLI's offline commands: `init` (the files it writes load as
 * a valid set-up), `playbook lint` and `playbook test` (dry run), how `alert
 * send` splits a file, and usage errors. */
#include "cli_tests.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_alert.h"
#include "config/config.h"
#include "config/playbooks.h"
#include "core/alert.h"
#include "core/playbook.h"
#include "util/clock.h"
#include "util/fileio.h"

static int run(capture *c, int (*fn)(const cli_ctx *, int, char **), int argc, char **argv) {
        capture_open(c, NULL, NULL);
        int code = fn(&c->ctx, argc, argv);
        capture_close(c);
        return code;
}

static void init_into(const char *dir) {
        capture c;
        char *argv[] = {"init", (char *)dir, NULL};
        assert_int_equal(run(&c, cli_init_main, 2, argv), CLI_EXIT_OK);
        capture_free(&c);
}

/* init writes a set-up that the daemon's own loaders accept as it is. */
static void test_init_writes_loadable_setup(void **state) {
        char dir[TMPDIR_MAX], path[PATH_MAX + 64];
        tmpdir_make(dir);
        capture c;
        char *argv[] = {"init", dir, NULL};
        assert_int_equal(run(&c, cli_init_main, 2, argv), CLI_EXIT_OK);
        snprintf(path, sizeof(path), "created %s/bulwark.yaml\ncreated %s/token\n", dir, dir);
        assert_non_null(strstr(c.out, path));
        capture_free(&c);

        /* The token: 64 hex characters and a newline, mode 0600. */
        struct stat st;
        snprintf(path, sizeof(path), "%s/token", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        char *token = file_get(path);
        assert_int_equal(strlen(token), 65);
        assert_int_equal(strspn(token, "0123456789abcdef"), 64);
        assert_int_equal(token[64], '\n');

        /* The configuration, with absolute paths. */
        bw_config *cfg = NULL;
        bw_error e = {0};
        snprintf(path, sizeof(path), "%s/bulwark.yaml", dir);
        assert_int_equal(config_load(path, &cfg, &e), 0);
        assert_string_equal(cfg->listen_address, "127.0.0.1");
        assert_int_equal(cfg->listen_port, 8080);
        snprintf(path, sizeof(path), "%s/data", dir);
        assert_string_equal(cfg->data_dir, path);
        snprintf(path, sizeof(path), "%s/token", dir);
        assert_string_equal(cfg->token_file, path);
        snprintf(path, sizeof(path), "%s/playbooks", dir);
        assert_string_equal(cfg->playbook_dir, path);
        assert_int_equal(cfg->n_integrations, 2);
        assert_string_equal(cfg->integrations[0].name, "edge-fw");
        assert_string_equal(cfg->integrations[1].kind, "notify");
        /* Issue 7: every guard on as written, so that the set-up cannot lock
         * itself out: the breaker tells someone, budgets open it, the private
         * networks and the built-in never-touch set (loopback in every
         * spelling) are protected. */
        assert_string_equal(cfg->governor_notify, "soc-chat");
        governor_budget b[GOVERNOR_BUDGETS_MAX];
        assert_int_equal(governor_budgets_for(&cfg->governor, "nft", "block", b), 5);
        assert_string_equal(b[0].key, "global");
        assert_int_equal(b[0].limit, 30);
        governor_action act = {.level = 3,
                               .connector = "nft",
                               .verb = "block",
                               .reversible = true,
                               .category = "",
                               .has_targets = true,
                               .kind = TARGET_IP,
                               .n_targets = 1};
        governor_state none = {0};
        governor_ruling ru;
        static char *const never[] = {"127.0.0.1", "10.1.2.3", "192.168.1.1", "::1", "fe80::1"};
        for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
                act.targets = &never[i];
                assert_int_equal(governor_decide(&cfg->governor, &act, &none, &ru), GOVERNOR_DENY);
        }
        static char *const root[] = {"CORP\\root"};
        act.kind = TARGET_ACCOUNT;
        act.targets = root;
        assert_int_equal(governor_decide(&cfg->governor, &act, &none, &ru), GOVERNOR_DENY);
        assert_string_equal(cfg->integrations[0].kind, "nft");
        assert_string_equal(json_string_value(json_object_get(cfg->integrations[0].settings, "table")),
                            "bulwark");
        assert_string_equal(json_string_value(json_object_get(cfg->integrations[0].settings, "set_v4")),
                            "blocklist_v4");
        assert_string_equal(json_string_value(json_object_get(cfg->integrations[0].settings, "set_v6")),
                            "blocklist_v6");

        /* The playbook directory passes the cross-check against that configuration. */
        playbook_set *set = NULL;
        bw_error errs[8];
        size_t nerrs = 99;
        assert_int_equal(playbook_set_load(cfg->playbook_dir, cfg, &set, errs, 8, &nerrs), 0);
        assert_int_equal(nerrs, 0);
        assert_int_equal(set->n, 1);
        const playbook *p = set->items[0];
        assert_string_equal(p->name, "block-ssh-bruteforce");
        assert_string_equal(p->author, "bulwark-init");
        assert_string_equal(p->trigger.type, "ssh.bruteforce");
        assert_int_equal(p->trigger.min_severity, SEVERITY_HIGH);
        assert_int_equal(p->level, LEVEL_AUTO_REVERSIBLE);
        assert_int_equal(p->n_steps, 1);
        assert_string_equal(p->steps[0].connector, "nft");
        assert_string_equal(p->steps[0].verb, "block");
        assert_string_equal(p->steps[0].integration, "edge-fw");
        assert_int_equal(p->steps[0].targets.path, TEMPLATE_ALERT_IPS);
        assert_int_equal(json_integer_value(json_object_get(p->steps[0].params, "timeout_s")), 3600);

        /* The sample alert parses and triggers that playbook. */
        snprintf(path, sizeof(path), "%s/alerts/sample.json", dir);
        char *text = file_get(path);
        alert *a = NULL;
        assert_int_equal(alert_parse(text, strlen(text), clock_wall_ms(), &a, &e), 0);
        assert_int_equal(a->severity, SEVERITY_HIGH);
        assert_int_equal(a->n_ips, 1);
        assert_string_equal(a->ips[0].text, "203.0.113.7");
        assert_true(playbook_matches(p, a));

        alert_free(a);
        free(text);
        playbook_set_free(set);
        config_free(cfg);
        free(token);
        tmpdir_remove(dir);
}

/* Without --force nothing is overwritten (the token stays); with it, all is. */
static void test_init_refuses_to_overwrite(void **state) {
        char dir[TMPDIR_MAX], path[PATH_MAX];
        tmpdir_make(dir);
        init_into(dir);
        snprintf(path, sizeof(path), "%s/token", dir);
        char *before = file_get(path);

        capture c;
        char *argv[] = {"init", dir, NULL};
        assert_int_equal(run(&c, cli_init_main, 2, argv), CLI_EXIT_FAIL);
        assert_non_null(strstr(c.err, "bulwark.yaml exists (use --force to overwrite)"));
        assert_string_equal(c.out, "");
        capture_free(&c);
        char *after = file_get(path);
        assert_string_equal(before, after);
        free(after);

        char *force[] = {"init", dir, "--force", NULL};
        assert_int_equal(run(&c, cli_init_main, 3, force), CLI_EXIT_OK);
        capture_free(&c);
        after = file_get(path);
        assert_string_not_equal(before, after);
        free(after);
        free(before);
        tmpdir_remove(dir);
}

/* Paths with YAML's special characters survive the round trip. */
static void test_init_quotes_paths(void **state) {
        char dir[TMPDIR_MAX], sub[TMPDIR_MAX + 32], path[PATH_MAX + 64];
        tmpdir_make(dir);
        snprintf(sub, sizeof(sub), "%s/a dir: #1 \"q\"", dir);
        init_into(sub);
        bw_config *cfg = NULL;
        bw_error e = {0};
        snprintf(path, sizeof(path), "%s/bulwark.yaml", sub);
        assert_int_equal(config_load(path, &cfg, &e), 0);
        snprintf(path, sizeof(path), "%s/token", sub);
        assert_string_equal(cfg->token_file, path);
        config_free(cfg);
        tmpdir_remove(dir);
}

static const char lint_good[] = "name: good\n"
                                "version: 1\n"
                                "trigger:\n"
                                "  type: ssh.bruteforce\n"
                                "steps:\n"
                                "  - id: block\n"
                                "    action: nft.block\n"
                                "    integration: edge-fw\n"
                                "    targets: alert.observables.ips\n";

/* Every error as file:line:col: field: message, then the summary; exit 1. */
static void test_lint_reports_every_error(void **state) {
        char dir[TMPDIR_MAX], path[PATH_MAX + 64];
        tmpdir_make(dir);
        file_put(dir, "a-good.yaml", lint_good, 0644, NULL);
        file_put(dir, "b-bad.yaml",
                 "name: bad\n"
                 "version: 1\n"
                 "colour: red\n"
                 "trigger:\n"
                 "  type: x\n"
                 "steps:\n"
                 "  - id: s\n"
                 "    action: nft.block\n"
                 "    integration: edge-fw\n",
                 0644, NULL);
        capture c;
        char *argv[] = {"playbook", "lint", dir, NULL};
        assert_int_equal(run(&c, cli_playbook_main, 3, argv), CLI_EXIT_FAIL);
        snprintf(path, sizeof(path), "%s/b-bad.yaml:3:1: colour: ", dir);
        assert_true(strncmp(c.out, path, strlen(path)) == 0);
        assert_non_null(strstr(c.out, "\n2 playbook(s), 1 error(s)\n"));
        capture_free(&c);

        /* A clean directory: exit 0 and only the summary. */
        snprintf(path, sizeof(path), "%s/b-bad.yaml", dir);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(run(&c, cli_playbook_main, 3, argv), CLI_EXIT_OK);
        assert_string_equal(c.out, "1 playbook(s), 0 error(s)\n");
        capture_free(&c);
        tmpdir_remove(dir);
}

/* --config cross-checks integrations: an unknown one is named. */
static void test_lint_with_config_checks_integrations(void **state) {
        char dir[TMPDIR_MAX], config[PATH_MAX + 32], pbdir[PATH_MAX + 32];
        tmpdir_make(dir);
        init_into(dir);
        snprintf(config, sizeof(config), "%s/bulwark.yaml", dir);
        snprintf(pbdir, sizeof(pbdir), "%s/playbooks", dir);
        file_put(pbdir, "other.yaml",
                 "name: other\n"
                 "version: 1\n"
                 "trigger:\n"
                 "  type: x\n"
                 "steps:\n"
                 "  - id: s\n"
                 "    action: nft.block\n"
                 "    integration: no-such-fw\n"
                 "    targets: alert.observables.ips\n",
                 0644, NULL);
        capture c;
        char *argv[] = {"playbook", "lint", pbdir, "--config", config, NULL};
        assert_int_equal(run(&c, cli_playbook_main, 5, argv), CLI_EXIT_FAIL);
        assert_non_null(strstr(c.out, "other.yaml:8:"));
        assert_non_null(strstr(c.out, "no-such-fw"));
        assert_non_null(strstr(c.out, "2 playbook(s), 1 error(s)\n"));
        capture_free(&c);

        /* Without --config the same directory is clean. */
        char *plain[] = {"playbook", "lint", pbdir, NULL};
        assert_int_equal(run(&c, cli_playbook_main, 3, plain), CLI_EXIT_OK);
        assert_string_equal(c.out, "2 playbook(s), 0 error(s)\n");
        capture_free(&c);
        tmpdir_remove(dir);
}

/* The dry run shows the rendered action and what level 3 does with it. */
static void test_playbook_test_dry_run(void **state) {
        char dir[TMPDIR_MAX], config[PATH_MAX + 32], pb[PATH_MAX + 64], al[PATH_MAX + 32];
        tmpdir_make(dir);
        init_into(dir);
        snprintf(config, sizeof(config), "%s/bulwark.yaml", dir);
        snprintf(pb, sizeof(pb), "%s/playbooks/block-ssh-bruteforce.yaml", dir);
        snprintf(al, sizeof(al), "%s/alerts/sample.json", dir);
        capture c;
        char *argv[] = {"playbook", "test", pb, "--alert", al, "--config", config, NULL};
        assert_int_equal(run(&c, cli_playbook_main, 7, argv), CLI_EXIT_OK);
        assert_non_null(strstr(c.out, "automation level: 3 "));
        assert_non_null(strstr(c.out, "\ntrigger: match\n"));
        assert_non_null(strstr(c.out, "\naction 1: step block-sources\n"));
        assert_non_null(strstr(c.out, "\n  integration: edge-fw\n"));
        assert_non_null(strstr(c.out, "\n  action: nft.block (reversible)\n"));
        assert_non_null(strstr(c.out, "\n  target kind: ip\n"));
        assert_non_null(strstr(c.out, "\n  targets: 203.0.113.7\n"));
        assert_non_null(strstr(c.out, "\n  params: {\"timeout_s\":3600}\n"));
        assert_non_null(strstr(c.out, "\n  engine: would apply\n"));
        static const char key_line[] = "\n  idempotency key: ";
        const char *key = strstr(c.out, key_line);
        assert_non_null(key);
        assert_int_equal(strspn(key + strlen(key_line), "0123456789abcdef"), 64);
        assert_string_equal(c.err, "");
        capture_free(&c);
        tmpdir_remove(dir);
}

/* A mismatch names each reason; level 2 would only record a recommendation. */
static void test_playbook_test_explains_mismatch(void **state) {
        char dir[TMPDIR_MAX], pb[PATH_MAX + 32], al[PATH_MAX + 32];
        tmpdir_make(dir);
        file_put(dir, "p.yaml",
                 "name: p\n"
                 "version: 2\n"
                 "trigger:\n"
                 "  type: ssh.bruteforce\n"
                 "  min_severity: high\n"
                 "  labels:\n"
                 "    env: prod\n"
                 "automation_level: 2\n"
                 "steps:\n"
                 "  - id: s\n"
                 "    action: nft.block\n"
                 "    integration: edge-fw\n"
                 "    targets: alert.observables.ips\n",
                 0644, pb);
        file_put(dir, "a.json",
                 "{\"source\":\"ids\",\"type\":\"port.scan\",\"severity\":\"low\","
                 "\"observables\":{\"ips\":[\"198.51.100.9\"]},\"labels\":{\"env\":\"dev\"}}",
                 0644, al);
        capture c;
        char *argv[] = {"playbook", "test", pb, "--alert", al, NULL};
        assert_int_equal(run(&c, cli_playbook_main, 5, argv), CLI_EXIT_OK);
        assert_non_null(strstr(c.out, "\ntrigger: no match\n"));
        assert_non_null(strstr(
                c.out, "\n  type: the alert is \"port.scan\", the trigger wants \"ssh.bruteforce\"\n"));
        assert_non_null(strstr(c.out, "\n  severity: the alert is low, the trigger wants at least high\n"));
        assert_non_null(strstr(c.out, "\n  label env: the alert has \"dev\", the trigger wants \"prod\"\n"));
        assert_non_null(strstr(c.out, "\n  engine: not run: the trigger does not match\n"));
        capture_free(&c);

        /* Matching now, at level 2. */
        file_put(dir, "a.json",
                 "{\"source\":\"ids\",\"type\":\"ssh.bruteforce\",\"severity\":\"critical\","
                 "\"observables\":{\"ips\":[\"198.51.100.9\"]},\"labels\":{\"env\":\"prod\"}}",
                 0644, NULL);
        assert_int_equal(run(&c, cli_playbook_main, 5, argv), CLI_EXIT_OK);
        assert_non_null(strstr(c.out, "\ntrigger: match\n"));
        assert_non_null(strstr(c.out, "\n  engine: recorded as recommendation\n"));
        capture_free(&c);
        tmpdir_remove(dir);
}

/* Invalid playbooks and alerts: exit 1 with the position or field named. */
static void test_playbook_test_rejects_invalid_input(void **state) {
        char dir[TMPDIR_MAX], pb[PATH_MAX + 32], al[PATH_MAX + 32], bad[PATH_MAX + 32];
        tmpdir_make(dir);
        file_put(dir, "p.yaml", lint_good, 0644, pb);
        file_put(dir, "a.json", "{\"source\":\"ids\",\"type\":\"x\",\"severity\":\"extreme\"}", 0644, al);
        capture c;
        char *argv[] = {"playbook", "test", pb, "--alert", al, NULL};
        assert_int_equal(run(&c, cli_playbook_main, 5, argv), CLI_EXIT_FAIL);
        assert_non_null(strstr(c.err, "a.json: severity: "));
        assert_string_equal(c.out, "");
        capture_free(&c);

        file_put(dir, "bad.yaml",
                 "name: bad\n"
                 "version: 0\n"
                 "trigger:\n"
                 "  type: x\n"
                 "steps:\n"
                 "  - id: s\n"
                 "    action: nft.block\n"
                 "    integration: edge-fw\n",
                 0644, bad);
        char *argv2[] = {"playbook", "test", bad, "--alert", al, NULL};
        assert_int_equal(run(&c, cli_playbook_main, 5, argv2), CLI_EXIT_FAIL);
        assert_non_null(strstr(c.err, "bad.yaml:2:"));
        capture_free(&c);

        char *no_alert[] = {"playbook", "test", pb, NULL};
        assert_int_equal(run(&c, cli_playbook_main, 3, no_alert), CLI_EXIT_USAGE);
        assert_non_null(strstr(c.err, "--alert ALERT.json is required"));
        capture_free(&c);
        tmpdir_remove(dir);
}

/* A pretty-printed object is one alert; several object lines are a batch
 * whose line numbers map back to the file's. */
static void test_alert_prepare(void **state) {
        static const char pretty[] =
                "{\n  \"source\": \"a\",\n  \"type\": \"b\",\n  \"severity\": \"low\"\n}\n";
        cli_alert_payload p;
        bw_error e = {0};
        assert_int_equal(cli_alert_prepare(pretty, strlen(pretty), &p, &e), 0);
        assert_false(p.batch);
        assert_string_equal(p.body, pretty);
        cli_alert_payload_clear(&p);

        static const char ndjson[] = "{\"n\":1}\r\n\n{\"n\":2}\n   \n{\"n\":3}";
        assert_int_equal(cli_alert_prepare(ndjson, strlen(ndjson), &p, &e), 0);
        assert_true(p.batch);
        assert_string_equal(p.body, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
        assert_int_equal(p.n_lines, 3);
        assert_int_equal(p.lines[0], 1);
        assert_int_equal(p.lines[1], 3);
        assert_int_equal(p.lines[2], 5);
        cli_alert_payload_clear(&p);

        /* A broken pretty-printed alert goes whole to the server, which names the error once. */
        static const char broken[] = "{\n  \"source\": \"a\",\n";
        assert_int_equal(cli_alert_prepare(broken, strlen(broken), &p, &e), 0);
        assert_false(p.batch);
        cli_alert_payload_clear(&p);

        assert_int_equal(cli_alert_prepare(" \n\n", 3, &p, &e), -ENODATA);

        size_t n = 1001, len = n * 8;
        char *many = malloc(len + 1);
        assert_non_null(many);
        for (size_t i = 0; i < n; i++)
                memcpy(many + i * 8, "{\"n\":0}\n", 8);
        many[len] = '\0';
        assert_int_equal(cli_alert_prepare(many, len, &p, &e), -E2BIG);
        assert_non_null(strstr(e.message, "1001 alerts"));
        free(many);
}

/* Bad arguments: usage on stderr, exit 2, nothing done. */
static void test_usage_errors(void **state) {
        capture c;
        char *show[] = {"exec", "show", NULL};
        assert_int_equal(run(&c, cli_exec_main, 2, show), CLI_EXIT_USAGE);
        assert_non_null(strstr(c.err, "exec show: expected one execution ID"));
        assert_non_null(strstr(c.err, "usage: bulwark"));
        capture_free(&c);

        char *bad_id[] = {"exec", "show", "12x", NULL};
        assert_int_equal(run(&c, cli_exec_main, 3, bad_id), CLI_EXIT_USAGE);
        capture_free(&c);

        char *verb[] = {"alert", "post", "x", NULL};
        assert_int_equal(run(&c, cli_alert_main, 3, verb), CLI_EXIT_USAGE);
        assert_non_null(strstr(c.err, "alert: unknown verb"));
        capture_free(&c);

        char *limit[] = {"exec", "list", "--limit", "0", NULL};
        assert_int_equal(run(&c, cli_exec_main, 4, limit), CLI_EXIT_USAGE);
        capture_free(&c);

        /* An API command without a token file is a usage error, not a request. */
        char *list[] = {"exec", "list", NULL};
        assert_int_equal(run(&c, cli_exec_main, 2, list), CLI_EXIT_USAGE);
        assert_non_null(strstr(c.err, "no token file"));
        capture_free(&c);

        char *init[] = {"init", NULL};
        assert_int_equal(run(&c, cli_init_main, 1, init), CLI_EXIT_USAGE);
        capture_free(&c);
}

int offline_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_init_writes_loadable_setup),
                cmocka_unit_test(test_init_refuses_to_overwrite),
                cmocka_unit_test(test_init_quotes_paths),
                cmocka_unit_test(test_lint_reports_every_error),
                cmocka_unit_test(test_lint_with_config_checks_integrations),
                cmocka_unit_test(test_playbook_test_dry_run),
                cmocka_unit_test(test_playbook_test_explains_mismatch),
                cmocka_unit_test(test_playbook_test_rejects_invalid_input),
                cmocka_unit_test(test_alert_prepare),
                cmocka_unit_test(test_usage_errors),
        };
        return cmocka_run_group_tests_name("cli_offline", tests, NULL, NULL);
}
