/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the configuration the governor's approvals need: the `approvals:`
 * section, the API actors (api.actor, api.actors) and staging integrations, with
 * errors naming file:line:col and the field; trusted test input. */
#include "config_tests.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/limits.h"

#define REQUIRED "api: {token_file: token}\nplaybook_dir: playbooks\n"
#define INTEGRATIONS                                                                                        \
        "integrations:\n"                                                                                   \
        "  - {name: chat, kind: notify, settings: {url: \"https://c.example/h\"}}\n"                        \
        "  - {name: fw, kind: nft}\n"

/* --- approvals: ------------------------------------------------------------------------ */

static void test_defaults(void **state) {
        bw_config *c = config_parse_ok(REQUIRED);
        const approval_policy *p = &c->governor.approvals;
        assert_int_equal(p->timeout_s, 1800);
        assert_int_equal(p->approvers, 1);
        static const char *const builtin[] = {"infrastructure_change", "bulk_account_action",
                                              "data_deletion", "system_isolation"};
        assert_int_equal(p->n_categories, 4);
        for (size_t i = 0; i < 4; i++) {
                assert_string_equal(p->categories[i], builtin[i]);
                assert_true(approval_policy_has_category(p, builtin[i]));
        }
        assert_false(approval_policy_has_category(p, "payments_change"));
        assert_int_equal(p->n_action_categories, 0);
        assert_string_equal(c->approvals_notify, "");
        assert_string_equal(c->token_actor, "admin");
        assert_int_equal(c->n_actors, 0);
        config_free(c);
}

static void test_approvals_section(void **state) {
        bw_config *c = config_parse_ok(REQUIRED INTEGRATIONS "approvals:\n"
                                                             "  timeout_s: 600\n"
                                                             "  approvers: 2\n"
                                                             "  notify: chat\n"
                                                             "  categories: [payments_change]\n"
                                                             "  actions:\n"
                                                             "    exec.run: payments_change\n"
                                                             "    nft.block: system_isolation\n");
        const approval_policy *p = &c->governor.approvals;
        assert_int_equal(p->timeout_s, 600);
        assert_int_equal(p->approvers, 2);
        assert_string_equal(c->approvals_notify, "chat");
        assert_int_equal(p->n_categories, 5); /* the built-in ones stay */
        assert_string_equal(p->categories[4], "payments_change");
        assert_true(approval_policy_has_category(p, "data_deletion"));
        assert_int_equal(p->n_action_categories, 2);
        assert_string_equal(p->action_categories[0].action, "exec.run");
        assert_string_equal(p->action_categories[0].category, "payments_change");
        assert_string_equal(p->action_categories[1].action, "nft.block");
        assert_string_equal(p->action_categories[1].category, "system_isolation");
        config_free(c);

        /* Categories are known before the actions are classified, whatever the order. */
        c = config_parse_ok(REQUIRED "approvals:\n  actions: {exec.run: pci}\n  categories: [pci]\n"
                                     "  timeout_s: 604800\n  approvers: 1\n");
        assert_int_equal(c->governor.approvals.timeout_s, BW_APPROVAL_TIMEOUT_S_MAX);
        assert_int_equal(c->governor.approvals.approvers, 1);
        assert_string_equal(c->governor.approvals.action_categories[0].category, "pci");
        config_free(c);
}

static void test_approvals_errors(void **state) {
        /* The approval webhook must be a notify integration. */
        config_expect_error(REQUIRED INTEGRATIONS "approvals: {notify: fw}\n", 6, 21, "invalid",
                            "approvals.notify");
        config_expect_error(REQUIRED INTEGRATIONS "approvals: {notify: pager}\n", 6, 21, "invalid",
                            "approvals.notify");
        config_expect_error(REQUIRED "approvals: {notify: chat}\n", 3, 21, "invalid", "approvals.notify");

        config_expect_error(REQUIRED "approvals: {approvers: 3}\n", 3, 24, "out_of_range",
                            "approvals.approvers");
        config_expect_error(REQUIRED "approvals: {approvers: 0}\n", 3, 24, "out_of_range",
                            "approvals.approvers");
        config_expect_error(REQUIRED "approvals: {timeout_s: 0}\n", 3, 24, "out_of_range",
                            "approvals.timeout_s");
        config_expect_error(REQUIRED "approvals: {timeout_s: 604801}\n", 3, 24, "out_of_range",
                            "approvals.timeout_s");
        config_expect_error(REQUIRED "approvals: {quorum: 2}\n", 3, 13, "unknown_key", "approvals.quorum");
        config_expect_error(REQUIRED "approvals: 5\n", 3, 12, "wrong_type", "approvals");

        /* A built-in category, or one listed twice, is a duplicate. */
        config_expect_error(REQUIRED "approvals: {categories: [data_deletion]}\n", 3, 26, "duplicate",
                            "approvals.categories[0]");
        config_expect_error(REQUIRED "approvals: {categories: [pci, pci]}\n", 3, 31, "duplicate",
                            "approvals.categories[1]");
        config_expect_error(REQUIRED "approvals: {categories: [\"pci dss\"]}\n", 3, 26, "bad_charset",
                            "approvals.categories[0]");

        /* actions: keys are real action kinds, values known categories. */
        config_expect_error(REQUIRED "approvals:\n  actions:\n    ldap.bind: data_deletion\n", 5, 5,
                            "invalid", "approvals.actions.ldap.bind");
        config_expect_error(REQUIRED "approvals:\n  actions:\n    nft.drop: data_deletion\n", 5, 5,
                            "invalid", "approvals.actions.nft.drop");
        config_expect_error(REQUIRED "approvals:\n  actions:\n    nft: data_deletion\n", 5, 5, "invalid",
                            "approvals.actions.nft");
        config_expect_error(REQUIRED "approvals:\n  actions:\n    exec.run: payments\n", 5, 15,
                            "unknown_category", "approvals.actions.exec.run");
}

/* --- api.actor and api.actors ------------------------------------------------------------- */

static void test_api_actors(void **state) {
        bw_config *c =
                config_parse_ok("api:\n"
                                "  token_file: token\n"
                                "  actors:\n"
                                "    - {name: bob, token_file: tokens/bob, roles: [approver, analyst]}\n"
                                "    - {name: carol.soc, token_file: /run/secrets/carol}\n"
                                "playbook_dir: p\n");
        assert_string_equal(c->token_actor, "admin");
        assert_int_equal(c->n_actors, 2);
        assert_int_equal(c->actors[0].roles, (1u << ROLE_APPROVER) | (1u << ROLE_ANALYST));
        assert_int_equal(c->actors[1].roles, 0); /* reads only */
        assert_string_equal(c->actors[0].name, "bob");
        assert_string_equal(c->actors[0].token_file, "/etc/bulwark/tokens/bob");
        assert_string_equal(c->actors[1].name, "carol.soc");
        assert_string_equal(c->actors[1].token_file, "/run/secrets/carol");
        config_free(c);

        /* Renaming the main token's actor frees "admin" for another one. */
        c = config_parse_ok("api: {token_file: t, actor: soc-lead, actors: [{name: admin, token_file: a}]}\n"
                            "playbook_dir: p\n");
        assert_string_equal(c->token_actor, "soc-lead");
        assert_string_equal(c->actors[0].name, "admin");
        config_free(c);

        /* Token files are relative to the configuration's directory, not the cwd. */
        char cwd[PATH_MAX];
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        static const char rel[] = "api: {token_file: t, actors: [{name: bob, token_file: ./tokens/bob}]}\n"
                                  "playbook_dir: p\n";
        bw_error e = {0};
        assert_int_equal(config_parse(rel, strlen(rel), "conf/bulwark.yaml", &c, &e), 0);
        char want[PATH_MAX + 32];
        snprintf(want, sizeof(want), "%s/conf/tokens/bob", cwd);
        assert_string_equal(c->actors[0].token_file, want);
        config_free(c);
}

static void test_api_actors_errors(void **state) {
        config_expect_error("api:\n  token_file: t\n  actors:\n    - {name: bob, token_file: a}\n"
                            "    - {name: bob, token_file: b}\nplaybook_dir: p\n",
                            5, 14, "duplicate", "api.actors[1].name");
        config_expect_error(
                "api:\n  token_file: t\n  actors:\n    - {name: admin, token_file: a}\nplaybook_dir: p\n", 4,
                14, "duplicate", "api.actors[0].name");
        /* api.actor counts wherever it is written. */
        config_expect_error("api:\n  actors:\n    - {name: soc-lead, token_file: a}\n  actor: soc-lead\n"
                            "  token_file: t\nplaybook_dir: p\n",
                            3, 14, "duplicate", "api.actors[0].name");
        config_expect_error("api:\n  token_file: t\n  actors:\n    - {name: bob}\nplaybook_dir: p\n", 4, 7,
                            "missing", "api.actors[0].token_file");
        config_expect_error("api:\n  token_file: t\n  actors:\n    - {token_file: a}\nplaybook_dir: p\n", 4,
                            7, "missing", "api.actors[0].name");
        config_expect_error(
                "api:\n  token_file: t\n  actors:\n    - {name: bob, token_file: a, role: admin}\n"
                "playbook_dir: p\n",
                4, 34, "unknown_key", "api.actors[0].role");
        config_expect_error("api:\n  token_file: t\n  actors:\n    - {name: \"bob smith\", token_file: a}\n"
                            "playbook_dir: p\n",
                            4, 14, "bad_charset", "api.actors[0].name");
        config_expect_error("api: {token_file: t, actor: \"a b\"}\nplaybook_dir: p\n", 1, 29, "bad_charset",
                            "api.actor");
        config_expect_error(
                "api:\n  token_file: t\n  actors:\n    - {name: bob, token_file: a, roles: [root]}\n"
                "playbook_dir: p\n",
                4, 42, "invalid", "api.actors[0].roles[0]");
        config_expect_error("api: {token_file: t, actors: {bob: a}}\nplaybook_dir: p\n", 1, 30, "wrong_type",
                            "api.actors");
}

/* The names the engine records as its own (timeouts, expiries, sweeps) are
 * nobody's: an actor so named would pass for the engine in approval records. */
static void test_api_actors_reserved_names(void **state) {
        static const char *const reserved[] = {"bulwark",  "system", "engine",  "sweeper",
                                               "governor", "expiry", "Bulwark", "SYSTEM"};
        for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
                char yaml[256];
                snprintf(yaml, sizeof(yaml),
                         "api:\n  token_file: t\n  actors:\n    - {name: %s, token_file: a}\nplaybook_dir: "
                         "p\n",
                         reserved[i]);
                config_expect_error(yaml, 4, 14, "reserved", "api.actors[0].name");
                snprintf(yaml, sizeof(yaml), "api: {token_file: t, actor: %s}\nplaybook_dir: p\n",
                         reserved[i]);
                config_expect_error(yaml, 1, 29, "reserved", "api.actor");
        }
        /* Names that merely contain one are anybody's. */
        bw_config *c = config_parse_ok("api: {token_file: t, actor: bulwark-admin, actors: [{name: systems, "
                                       "token_file: a}]}\nplaybook_dir: p\n");
        assert_string_equal(c->token_actor, "bulwark-admin");
        assert_string_equal(c->actors[0].name, "systems");
        config_free(c);
}

/* --- staging integrations ------------------------------------------------------------------- */

#define STAGING_HEAD REQUIRED "integrations:\n  - name: fw-staging\n    kind: nft\n    staging:\n"

static void test_staging(void **state) {
        bw_config *c =
                config_parse_ok(STAGING_HEAD "      verb: block\n"
                                             "      targets: [192.0.2.200, \"2001:db8::7\"]\n"
                                             "  - {name: fw, kind: nft}\n"
                                             "  - name: chat\n    kind: notify\n"
                                             "    settings: {url: \"https://c.example/h\"}\n"
                                             "    staging: {verb: send, targets: [soc@example.org]}\n");
        const integration_config *ic = config_integration_find(c, "fw-staging");
        assert_non_null(ic);
        assert_string_equal(ic->staging_verb, "block");
        char *targets = json_dumps(ic->staging_targets, JSON_COMPACT);
        assert_string_equal(targets, "[\"192.0.2.200\",\"2001:db8::7\"]");
        free(targets);
        ic = config_integration_find(c, "fw");
        assert_null(ic->staging_targets); /* not a staging integration */
        assert_string_equal(ic->staging_verb, "");
        ic = config_integration_find(c, "chat");
        assert_string_equal(ic->staging_verb, "send");
        assert_int_equal(json_array_size(ic->staging_targets), 1);
        config_free(c);

        /* Up to BW_STAGING_TARGETS_MAX targets. */
        char yaml[2048];
        int len = snprintf(yaml, sizeof(yaml), STAGING_HEAD "      verb: unblock\n      targets: [");
        for (unsigned i = 0; i < BW_STAGING_TARGETS_MAX; i++)
                len += snprintf(yaml + len, sizeof(yaml) - (size_t)len, "%s192.0.2.%u", i ? ", " : "",
                                i + 1);
        snprintf(yaml + len, sizeof(yaml) - (size_t)len, "]\n");
        c = config_parse_ok(yaml);
        assert_int_equal(json_array_size(c->integrations[0].staging_targets), BW_STAGING_TARGETS_MAX);
        config_free(c);
        snprintf(yaml + len, sizeof(yaml) - (size_t)len, ", 192.0.2.99]\n");
        config_expect_error(yaml, 8, 16, "too_large", "integrations[0].staging.targets");
}

static void test_staging_errors(void **state) {
        config_expect_error(STAGING_HEAD "      verb: run\n      targets: [192.0.2.200]\n", 7, 13, "invalid",
                            "integrations[0].staging.verb");
        config_expect_error(STAGING_HEAD "      verb: block\n      targets: []\n", 8, 16, "out_of_range",
                            "integrations[0].staging.targets");
        config_expect_error(STAGING_HEAD "      verb: block\n      targets: 192.0.2.200\n", 8, 16,
                            "wrong_type", "integrations[0].staging.targets");
        config_expect_error(STAGING_HEAD "      verb: block\n      targets: [\"192.0.2.200 x\"]\n", 8, 17,
                            "bad_charset", "integrations[0].staging.targets[0]");
        config_expect_error(STAGING_HEAD "      verb: block\n", 7, 7, "missing",
                            "integrations[0].staging.targets");
        config_expect_error(STAGING_HEAD "      targets: [192.0.2.200]\n", 7, 7, "missing",
                            "integrations[0].staging.verb");
        config_expect_error(STAGING_HEAD
                            "      verb: block\n      targets: [192.0.2.200]\n      mode: dry\n",
                            9, 7, "unknown_key", "integrations[0].staging.mode");
}

int approvals_config_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),          cmocka_unit_test(test_approvals_section),
                cmocka_unit_test(test_approvals_errors),  cmocka_unit_test(test_api_actors),
                cmocka_unit_test(test_api_actors_errors), cmocka_unit_test(test_api_actors_reserved_names),
                cmocka_unit_test(test_staging),           cmocka_unit_test(test_staging_errors),
        };
        return cmocka_run_group_tests_name("approvals-config", tests, NULL, NULL);
}
