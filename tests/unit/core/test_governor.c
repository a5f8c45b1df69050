/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of core/governor.c: the compiled blast-radius ceilings (lowered,
 * never raised), protected assets, and a property test over random actions. */
#include "core_tests.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/governor.h"
#include "core/limits.h"

/* n distinct IPv4 targets 10.0.x.y */
static char **ips(size_t n) {
        char **t = calloc(n ? n : 1, sizeof(*t));
        for (size_t i = 0; i < n; i++) {
                t[i] = malloc(32);
                snprintf(t[i], 32, "10.0.%zu.%zu", i / 250, i % 250 + 1);
        }
        return t;
}

static void free_targets(char **t, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(t[i]);
        free(t);
}

static void test_compiled_ceilings(void **state) {
        governor_policy p;
        governor_policy_init(&p);
        governor_decision d;
        char **t = ips(51);
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_IP, t, 50, &d), GOVERNOR_ALLOW);
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_IP, t, 51, &d),
                         GOVERNOR_DENY_CEILING);
        assert_non_null(strstr(d.reason, "51 ip targets exceed the ceiling of 50 per nft.block action"));
        free_targets(t, 51);
        char *accounts[21], *hosts[6];
        char names[21][16];
        for (int i = 0; i < 21; i++) {
                snprintf(names[i], sizeof(names[i]), "user%d", i);
                accounts[i] = names[i];
        }
        for (int i = 0; i < 6; i++)
                hosts[i] = names[i];
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_ACCOUNT, accounts, 20, &d),
                         GOVERNOR_ALLOW);
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_ACCOUNT, accounts, 21, &d),
                         GOVERNOR_DENY_CEILING);
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_HOST, hosts, 5, &d),
                         GOVERNOR_ALLOW);
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_HOST, hosts, 6, &d),
                         GOVERNOR_DENY_CEILING);
}

static void test_configuration_lowers_never_raises(void **state) {
        governor_policy p;
        governor_policy_init(&p);
        assert_int_equal(governor_policy_lower(&p, TARGET_IP, 51), -ERANGE);
        assert_int_equal(governor_policy_lower(&p, TARGET_IP, 0), -ERANGE);
        assert_int_equal(governor_policy_lower(&p, TARGET_STRING, 3), -EINVAL);
        assert_int_equal(p.ceiling[TARGET_IP], BW_CEILING_IPS);
        assert_int_equal(governor_policy_lower(&p, TARGET_IP, 10), 0);
        governor_decision d;
        char **t = ips(11);
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_IP, t, 10, &d), GOVERNOR_ALLOW);
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_IP, t, 11, &d),
                         GOVERNOR_DENY_CEILING);
        free_targets(t, 11);
}

static void test_protected_assets_refuse_the_whole_action(void **state) {
        governor_policy p;
        governor_policy_init(&p);
        ip_prefix gw, net6;
        assert_int_equal(ip_prefix_parse("192.0.2.1", 9, &gw), 0);
        assert_int_equal(ip_prefix_parse("2001:db8:1::/48", 15, &net6), 0);
        assert_int_equal(governor_policy_protect_ip(&p, &gw), 0);
        assert_int_equal(governor_policy_protect_ip(&p, &net6), 0);
        assert_int_equal(governor_policy_protect_account(&p, "break-glass-*"), 0);
        assert_int_equal(governor_policy_protect_host(&p, "gw-*.corp.example"), 0);
        governor_decision d;
        char *a[] = {"203.0.113.9", "192.0.2.1"};
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_IP, a, 2, &d),
                         GOVERNOR_DENY_PROTECTED);
        assert_non_null(strstr(d.reason, "192.0.2.1"));
        char *wide[] = {"192.0.2.0/24"}; /* a network containing the gateway */
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_IP, wide, 1, &d),
                         GOVERNOR_DENY_PROTECTED);
        char *inside[] = {"2001:db8:1:5::7"};
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_IP, inside, 1, &d),
                         GOVERNOR_DENY_PROTECTED);
        char *near[] = {"192.0.2.2", "2001:db8:2::1"};
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_IP, near, 2, &d), GOVERNOR_ALLOW);
        char *acc[] = {"alice", "Break-Glass-01"}; /* case-insensitive */
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_ACCOUNT, acc, 2, &d),
                         GOVERNOR_DENY_PROTECTED);
        char *host[] = {"GW-1.corp.example"};
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_HOST, host, 1, &d),
                         GOVERNOR_DENY_PROTECTED);
        char *garbage[] = {"not-an-ip"}; /* what the governor cannot judge, it refuses */
        assert_int_equal(governor_check_targets(&p, "nft", "block", TARGET_IP, garbage, 1, &d),
                         GOVERNOR_DENY_PROTECTED);
        governor_policy_clear(&p);
        assert_int_equal(p.n_protected_ips, 0);
}

static void test_prefix_overlap(void **state) {
        ip_prefix a, b;
        assert_int_equal(ip_prefix_parse("10.1.0.0/16", 11, &a), 0);
        assert_int_equal(ip_prefix_parse("10.1.200.3", 10, &b), 0);
        assert_true(ip_prefix_overlaps(&a, &b) && ip_prefix_overlaps(&b, &a));
        assert_int_equal(ip_prefix_parse("10.2.0.0/16", 11, &b), 0);
        assert_false(ip_prefix_overlaps(&a, &b));
        assert_int_equal(ip_prefix_parse("10.0.0.0/7", 10, &b), 0);
        assert_true(ip_prefix_overlaps(&a, &b));
        assert_int_equal(ip_prefix_parse("::ffff:10.1.2.3", 15, &b), 0); /* folded to IPv4 */
        assert_true(ip_prefix_overlaps(&a, &b));
}

/* Property: for random ceilings, protected lists and actions, an allowed action
 * never exceeds its ceiling and never names a protected address. */
static void test_property_never_over_ceiling_or_protected(void **state) {
        srand(20261122);
        char **pool = ips(200);
        for (int round = 0; round < 2000; round++) {
                governor_policy p;
                governor_policy_init(&p);
                unsigned ceiling = 1 + (unsigned)rand() % BW_CEILING_IPS;
                assert_int_equal(governor_policy_lower(&p, TARGET_IP, ceiling), 0);
                size_t n_protected = (size_t)rand() % 4;
                for (size_t i = 0; i < n_protected; i++) {
                        ip_prefix ip;
                        const char *t = pool[rand() % 200];
                        assert_int_equal(ip_prefix_parse(t, strlen(t), &ip), 0);
                        assert_int_equal(governor_policy_protect_ip(&p, &ip), 0);
                }
                size_t n = (size_t)rand() % 80;
                size_t start = (size_t)rand() % 120;
                governor_decision d;
                if (governor_check_targets(&p, "nft", "block", TARGET_IP, pool + start, n, &d) ==
                    GOVERNOR_ALLOW) {
                        assert_true(n <= ceiling);
                        for (size_t i = 0; i < n; i++) {
                                ip_prefix t;
                                assert_int_equal(
                                        ip_prefix_parse(pool[start + i], strlen(pool[start + i]), &t), 0);
                                for (size_t k = 0; k < p.n_protected_ips; k++)
                                        assert_false(ip_prefix_overlaps(&t, &p.protected_ips[k]));
                        }
                }
                governor_policy_clear(&p);
        }
        free_targets(pool, 200);
}

static size_t reasons_for(const governor_policy *p, unsigned level, bool reversible, const char *connector,
                          const char *verb, const char *category, target_kind kind, size_t n,
                          char out[GOVERNOR_APPROVAL_REASONS_MAX][GOVERNOR_APPROVAL_REASON_LEN]) {
        approval_subject s = {.level = level,
                              .reversible = reversible,
                              .connector = connector,
                              .verb = verb,
                              .category = category,
                              .kind = kind,
                              .n_targets = n};
        return governor_approval_reasons(p, &s, out);
}

static void test_approval_rules(void **state) {
        governor_policy p;
        governor_policy_init(&p);
        char why[GOVERNOR_APPROVAL_REASONS_MAX][GOVERNOR_APPROVAL_REASON_LEN];
        assert_int_equal(p.approvals.timeout_s, BW_APPROVAL_TIMEOUT_S_DEFAULT);
        assert_int_equal(p.approvals.approvers, 1);
        assert_int_equal(p.approvals.n_categories, 4);
        /* Level 3, reversible, no category: runs. */
        assert_int_equal(reasons_for(&p, 3, true, "nft", "block", "", TARGET_IP, 1, why), 0);
        /* Level 4: always. */
        assert_int_equal(reasons_for(&p, 4, true, "nft", "block", "", TARGET_IP, 1, why), 1);
        assert_string_equal(why[0], "automation level 4");
        /* Level 3, irreversible. */
        assert_int_equal(reasons_for(&p, 3, false, "exec", "run", "", TARGET_ACCOUNT, 1, why), 1);
        assert_non_null(strstr(why[0], "exec.run cannot be rolled back"));
        /* A declared category. */
        assert_int_equal(reasons_for(&p, 3, true, "nft", "block", "system_isolation", TARGET_IP, 1, why), 1);
        assert_string_equal(why[0], "category system_isolation");
        /* Bulk account actions from BW_BULK_ACCOUNTS accounts on. */
        assert_int_equal(
                reasons_for(&p, 3, true, "exec", "run", "", TARGET_ACCOUNT, BW_BULK_ACCOUNTS - 1, why), 0);
        assert_int_equal(reasons_for(&p, 3, true, "exec", "run", "", TARGET_ACCOUNT, BW_BULK_ACCOUNTS, why),
                         1);
        assert_non_null(strstr(why[0], "bulk_account_action"));
        /* Configuration adds categories and classifies action kinds; none is removed. */
        assert_int_equal(approval_policy_add_category(&p.approvals, "payment_block"), 0);
        assert_int_equal(approval_policy_add_category(&p.approvals, "data_deletion"), -EEXIST);
        assert_int_equal(approval_policy_classify(&p.approvals, "http.request", "nope"), -ENOENT);
        assert_int_equal(approval_policy_classify(&p.approvals, "http.request", "payment_block"), 0);
        assert_int_equal(reasons_for(&p, 3, true, "http", "request", "", TARGET_NONE, 0, why), 1);
        assert_string_equal(why[0], "category payment_block (http.request)");
        for (size_t i = 0; governor_builtin_categories[i]; i++)
                assert_true(approval_policy_has_category(&p.approvals, governor_builtin_categories[i]));
        governor_policy_clear(&p);
}

/* Property: over random policies and actions, a level 4 action always needs an
 * approval, an irreversible level 3 action too, and so does any action in a
 * high-risk category; the only actions that run without one are reversible (or
 * inert) level 3 actions outside every category. */
static void test_property_never_an_unapproved_level4(void **state) {
        srand(4242);
        static const char *const cats[] = {
                "", "", "data_deletion", "system_isolation", "infrastructure_change", "custom"};
        static const char *const kinds[] = {"nft.block", "exec.run", "http.request"};
        for (int round = 0; round < 5000; round++) {
                governor_policy p;
                governor_policy_init(&p);
                if (rand() % 2)
                        assert_int_equal(approval_policy_add_category(&p.approvals, "custom"), 0);
                bool classified = rand() % 3 == 0;
                if (classified)
                        assert_int_equal(approval_policy_classify(&p.approvals, "exec.run", "data_deletion"),
                                         0);
                unsigned level = 3 + (unsigned)rand() % 2;
                bool reversible = rand() % 2;
                const char *action = kinds[rand() % 3];
                char connector[16];
                const char *dot = strchr(action, '.');
                snprintf(connector, sizeof(connector), "%.*s", (int)(dot - action), action);
                const char *cat = cats[rand() % 6];
                if (strcmp(cat, "custom") == 0 && !approval_policy_has_category(&p.approvals, "custom"))
                        cat = "";
                target_kind kind = (target_kind)(rand() % _TARGET_KIND_MAX);
                size_t n = (size_t)rand() % 30;
                char why[GOVERNOR_APPROVAL_REASONS_MAX][GOVERNOR_APPROVAL_REASON_LEN];
                size_t got = reasons_for(&p, level, reversible, connector, dot + 1, cat, kind, n, why);
                bool must = level == 4 || !reversible || cat[0] ||
                            (classified && strcmp(action, "exec.run") == 0) ||
                            (kind == TARGET_ACCOUNT && n >= BW_BULK_ACCOUNTS);
                assert_int_equal(got > 0, must);
                assert_true(got <= GOVERNOR_APPROVAL_REASONS_MAX);
                governor_policy_clear(&p);
        }
}

int governor_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_compiled_ceilings),
                cmocka_unit_test(test_configuration_lowers_never_raises),
                cmocka_unit_test(test_protected_assets_refuse_the_whole_action),
                cmocka_unit_test(test_prefix_overlap),
                cmocka_unit_test(test_property_never_over_ceiling_or_protected),
                cmocka_unit_test(test_approval_rules),
                cmocka_unit_test(test_property_never_an_unapproved_level4),
        };
        return cmocka_run_group_tests_name("governor", tests, NULL, NULL);
}
