/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of core/governor.c, core/target.c and core/approval.c: every rule of
 * governor_decide (G0-G5 in docs/controls.md), each defect of issue 7 that
 * leaked past them, and property tests over random policies and actions. */
#include "core_tests.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/governor.h"
#include "core/journal.h"
#include "core/target.h"
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

/* A level-3 action of connector.verb on targets, judged with no live state. */
static governor_verdict judge(const governor_policy *p, const char *connector, const char *verb,
                              target_kind kind, char *const *targets, size_t n, governor_ruling *ru) {
        governor_action a = {.op = GOVERNOR_RUN,
                             .level = 3,
                             .connector = connector,
                             .verb = verb,
                             .reversible = true,
                             .category = "",
                             .has_targets = true,
                             .kind = kind,
                             .targets = targets,
                             .n_targets = n};
        governor_state none = {0};
        return governor_decide(p, &a, &none, ru);
}

static governor_verdict judge_one(const governor_policy *p, target_kind kind, const char *target,
                                  governor_ruling *ru) {
        char *t[] = {(char *)target};
        return judge(p, "nft", "block", kind, t, 1, ru);
}

static void policy(governor_policy *p) {
        assert_int_equal(governor_policy_init(p), 0);
}

static void protect_ip(governor_policy *p, const char *text) {
        ip_prefix ip;
        assert_int_equal(ip_prefix_parse(text, strlen(text), &ip), 0);
        assert_int_equal(governor_policy_protect_ip(p, &ip), 0);
}

static void test_compiled_ceilings(void **state) {
        governor_policy p;
        policy(&p);
        governor_ruling d;
        char **t = ips(51);
        assert_int_equal(judge(&p, "nft", "block", TARGET_IP, t, 50, &d), GOVERNOR_ALLOW);
        assert_int_equal(judge(&p, "nft", "block", TARGET_IP, t, 51, &d), GOVERNOR_DENY);
        assert_non_null(strstr(d.reason, "51 addresses exceed the ceiling of 50 per nft.block action"));
        free_targets(t, 51);
        char *accounts[21], *hosts[6];
        char names[21][16];
        for (int i = 0; i < 21; i++) {
                snprintf(names[i], sizeof(names[i]), "user%d", i);
                accounts[i] = names[i];
        }
        for (int i = 0; i < 6; i++)
                hosts[i] = names[i];
        /* 20 accounts is a bulk account action: it needs an approval, it is not denied. */
        assert_int_equal(judge(&p, "exec", "run", TARGET_ACCOUNT, accounts, 20, &d),
                         GOVERNOR_NEEDS_APPROVAL);
        assert_int_equal(judge(&p, "exec", "run", TARGET_ACCOUNT, accounts, 21, &d), GOVERNOR_DENY);
        assert_int_equal(judge(&p, "exec", "run", TARGET_HOST, hosts, 5, &d), GOVERNOR_ALLOW);
        assert_int_equal(judge(&p, "exec", "run", TARGET_HOST, hosts, 6, &d), GOVERNOR_DENY);
        governor_policy_clear(&p);
}

static void test_configuration_lowers_never_raises(void **state) {
        governor_policy p;
        policy(&p);
        assert_int_equal(governor_policy_lower(&p, TARGET_IP, 51), -ERANGE);
        assert_int_equal(governor_policy_lower(&p, TARGET_IP, 0), -ERANGE);
        assert_int_equal(governor_policy_lower(&p, TARGET_STRING, 3), -EINVAL);
        assert_int_equal(p.ceiling[TARGET_IP], BW_CEILING_IPS);
        assert_int_equal(governor_policy_lower(&p, TARGET_IP, 10), 0);
        governor_ruling d;
        char **t = ips(11);
        assert_int_equal(judge(&p, "nft", "block", TARGET_IP, t, 10, &d), GOVERNOR_ALLOW);
        assert_int_equal(judge(&p, "nft", "block", TARGET_IP, t, 11, &d), GOVERNOR_DENY);
        free_targets(t, 11);
        governor_policy_clear(&p);
}

/* Issue 7: "Networks beat the ceiling". A prefix counts the addresses it
 * covers, whatever the connector. */
static void test_prefixes_count_their_addresses(void **state) {
        governor_policy p;
        policy(&p);
        governor_ruling d;
        assert_int_equal(judge_one(&p, TARGET_IP, "198.51.100.0/27", &d), GOVERNOR_ALLOW); /* 32 */
        assert_int_equal(judge_one(&p, TARGET_IP, "198.51.100.0/26", &d), GOVERNOR_DENY);  /* 64 */
        assert_non_null(strstr(d.reason, "64 addresses exceed the ceiling of 50"));
        char *all4[] = {"0.0.0.0/0"};
        char *all6[] = {"::/0"};
        /* Through any connector, not only nft. */
        assert_int_equal(judge(&p, "exec", "run", TARGET_IP, all4, 1, &d), GOVERNOR_DENY);
        assert_int_equal(judge(&p, "http", "request", TARGET_IP, all6, 1, &d), GOVERNOR_DENY);
        assert_non_null(strstr(d.reason, "more than"));
        /* Many small prefixes add up: 22 prefixes of IPv4 outside 10/8. */
        char *cover[22];
        char text[22][32];
        for (int i = 0; i < 22; i++) {
                snprintf(text[i], sizeof(text[i]), "%d.0.0.0/8", 11 + i);
                cover[i] = text[i];
        }
        assert_int_equal(judge(&p, "exec", "run", TARGET_IP, cover, 22, &d), GOVERNOR_DENY);
        /* 50 addresses as two prefixes and a host: at the ceiling, allowed. */
        char *fifty[] = {"198.51.100.0/27", "198.51.100.32/28", "198.51.100.48/31"};
        assert_int_equal(judge(&p, "nft", "block", TARGET_IP, fifty, 3, &d), GOVERNOR_ALLOW);
        char *fiftyone[] = {"198.51.100.0/27", "198.51.100.32/28", "198.51.100.48/31", "203.0.113.1"};
        assert_int_equal(judge(&p, "nft", "block", TARGET_IP, fiftyone, 4, &d), GOVERNOR_DENY);
        ip_prefix ip;
        assert_int_equal(ip_prefix_parse("2001:db8::/64", 13, &ip), 0);
        assert_true(ip_prefix_size(&ip) == UINT64_MAX);
        assert_int_equal(ip_prefix_parse("2001:db8::/120", 14, &ip), 0);
        assert_true(ip_prefix_size(&ip) == 256);
        governor_policy_clear(&p);
}

/* Issue 7: "::ffff:10.0.0.0/95 escapes v4-mapped folding". Protected IPv4 is
 * compared with v4-mapped IPv6 targets of any length, and the reverse. */
static void test_v4_mapped_prefixes(void **state) {
        governor_policy p;
        policy(&p);
        protect_ip(&p, "10.0.0.0/8");
        protect_ip(&p, "::ffff:192.0.2.0/120"); /* folded: 192.0.2.0/24 */
        governor_ruling d;
        assert_int_equal(judge_one(&p, TARGET_IP, "::ffff:10.0.0.0/95", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_IP, "::ffff:10.1.2.3", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_IP, "192.0.2.9", &d), GOVERNOR_DENY);
        assert_non_null(strstr(d.reason, "protected asset (192.0.2.0/24)"));
        ip_prefix a, b;
        assert_int_equal(ip_prefix_parse("::/80", 5, &a), 0);
        assert_int_equal(ip_prefix_parse("10.9.0.0/16", 11, &b), 0);
        assert_true(ip_prefix_overlaps(&a, &b) && ip_prefix_overlaps(&b, &a));
        assert_int_equal(ip_prefix_parse("2001:db8::/32", 13, &a), 0);
        assert_false(ip_prefix_overlaps(&a, &b));
        governor_policy_clear(&p);
}

/* Issue 7: "nothing is protected by default". The never-touch set is built in. */
static void test_never_touch_set_is_built_in(void **state) {
        governor_policy p;
        policy(&p);
        governor_ruling d;
        static const char *const never[] = {"127.0.0.1", "::ffff:127.0.0.1", "::1",         "0.0.0.0",
                                            "::",        "169.254.1.1",      "fe80::1",     "224.0.0.251",
                                            "ff02::1",   "255.255.255.255",  "127.0.0.0/30"};
        for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
                /* As the alert parser hands them over: normalised. */
                char canon[TARGET_TEXT_MAX + 1];
                assert_int_equal(
                        target_normalise(TARGET_IP, never[i], strlen(never[i]), canon, sizeof(canon)), 0);
                assert_int_equal(judge_one(&p, TARGET_IP, canon, &d), GOVERNOR_DENY);
                if (!strstr(d.reason, "protected asset"))
                        fail_msg("%s: %s", never[i], d.reason);
        }
        assert_int_equal(judge_one(&p, TARGET_IP, "203.0.113.7", &d), GOVERNOR_ALLOW);
        /* A host named by an address is an address. */
        assert_int_equal(judge_one(&p, TARGET_HOST, "127.0.0.1", &d), GOVERNOR_DENY);
        governor_policy_clear(&p);
}

static void test_protected_assets_refuse_the_whole_action(void **state) {
        governor_policy p;
        policy(&p);
        protect_ip(&p, "192.0.2.1");
        protect_ip(&p, "2001:db8:1::/48");
        assert_int_equal(governor_policy_protect_account(&p, "break-glass-*"), 0);
        assert_int_equal(governor_policy_protect_host(&p, "gw-*.corp.example"), 0);
        governor_ruling d;
        char *a[] = {"203.0.113.9", "192.0.2.1"};
        assert_int_equal(judge(&p, "nft", "block", TARGET_IP, a, 2, &d), GOVERNOR_DENY);
        assert_non_null(strstr(d.reason, "192.0.2.1"));
        assert_int_equal(judge_one(&p, TARGET_IP, "192.0.2.0/24", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_IP, "2001:db8:1:5::7", &d), GOVERNOR_DENY);
        char *near[] = {"192.0.2.2", "2001:db8:2::1"};
        assert_int_equal(judge(&p, "nft", "block", TARGET_IP, near, 2, &d), GOVERNOR_ALLOW);
        char *acc[] = {"alice", "Break-Glass-01"}; /* case-insensitive */
        assert_int_equal(judge(&p, "exec", "run", TARGET_ACCOUNT, acc, 2, &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_HOST, "gw-1.corp.example", &d), GOVERNOR_DENY);
        /* What the governor cannot judge, it refuses. */
        assert_int_equal(judge_one(&p, TARGET_IP, "not-an-ip", &d), GOVERNOR_DENY);
        assert_non_null(strstr(d.reason, "not a valid ip"));
        assert_int_equal(judge_one(&p, TARGET_ACCOUNT, "-rf", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_HOST, "GW-1.corp.example", &d),
                         GOVERNOR_DENY); /* not normal */
        governor_policy_clear(&p);
        assert_int_equal(p.n_protected_ips, 0);
}

/* Issue 7: "Protected accounts and hosts match one spelling only". */
static void test_protected_accounts_and_hosts_in_canonical_form(void **state) {
        governor_policy p;
        policy(&p);
        assert_int_equal(governor_policy_protect_account(&p, "administrator"), 0);
        assert_int_equal(governor_policy_protect_account(&p, "svc-backup@corp.example"), 0);
        assert_int_equal(governor_policy_protect_host(&p, "dc01"), 0);
        assert_int_equal(governor_policy_protect_host(&p, "fs01.corp.example"), 0);
        protect_ip(&p, "10.0.0.0/8");
        governor_ruling d;
        static const char *const admins[] = {"administrator", "Administrator", "administrator@corp.example",
                                             "CORP\\administrator", "corp\\ADMINISTRATOR@corp.example"};
        for (size_t i = 0; i < sizeof(admins) / sizeof(admins[0]); i++)
                assert_int_equal(judge_one(&p, TARGET_ACCOUNT, admins[i], &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_ACCOUNT, "svc-backup", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_ACCOUNT, "CORP\\svc-backup", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_ACCOUNT, "alice@corp.example", &d), GOVERNOR_ALLOW);
        assert_int_equal(judge_one(&p, TARGET_HOST, "dc01.corp.example", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_HOST, "dc01", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_HOST, "fs01", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_HOST, "10.0.0.1", &d), GOVERNOR_DENY);
        assert_int_equal(judge_one(&p, TARGET_HOST, "dc02.corp.example", &d), GOVERNOR_ALLOW);
        assert_int_equal(judge_one(&p, TARGET_HOST, "fs01.lab.example", &d), GOVERNOR_ALLOW);
        char canon[BW_ACCOUNT_NAME_MAX + 1];
        account_canonical_user("CORP\\Alice@corp.example", canon, sizeof(canon));
        assert_string_equal(canon, "alice");
        governor_policy_clear(&p);
}

/* Issue 7: "String targets are never judged". */
static void test_string_targets_reach_only_inert_connectors(void **state) {
        governor_policy p;
        policy(&p);
        governor_ruling d;
        char *label[] = {"0.0.0.0/0"};
        assert_int_equal(judge(&p, "exec", "run", TARGET_STRING, label, 1, &d), GOVERNOR_DENY);
        assert_non_null(strstr(d.reason, "untyped targets"));
        governor_action a = {.level = 3,
                             .connector = "notify",
                             .verb = "send",
                             .inert = true,
                             .has_targets = true,
                             .kind = TARGET_STRING,
                             .targets = label,
                             .n_targets = 1};
        governor_state none = {0};
        assert_int_equal(governor_decide(&p, &a, &none, &d), GOVERNOR_ALLOW);
        assert_true(governor_targets_typed(TARGET_IP, false));
        assert_false(governor_targets_typed(TARGET_STRING, false));
        governor_policy_clear(&p);
}

/* Property: for random ceilings, protected lists and prefixes, an allowed
 * action never covers more addresses than its ceiling and never overlaps a
 * protected prefix (the built-in never-touch set included). */
static void test_property_never_over_ceiling_or_protected(void **state) {
        srand(20261122);
        char **pool = calloc(200, sizeof(*pool));
        for (size_t i = 0; i < 200; i++) {
                pool[i] = malloc(64);
                unsigned len = 24 + (unsigned)rand() % 9;
                if (rand() % 4 == 0)
                        snprintf(pool[i], 64, "::ffff:%d.%d.%d.0/%u", rand() % 256, rand() % 256,
                                 rand() % 256, 96 + len - (unsigned)(rand() % 3));
                else
                        snprintf(pool[i], 64, "%d.%d.%d.0/%u", rand() % 256, rand() % 256, rand() % 256,
                                 len);
                ip_prefix ip;
                assert_int_equal(ip_prefix_parse(pool[i], strlen(pool[i]), &ip), 0);
                snprintf(pool[i], 64, "%s", ip.text);
        }
        for (int round = 0; round < 2000; round++) {
                governor_policy p;
                policy(&p);
                unsigned ceiling = 1 + (unsigned)rand() % BW_CEILING_IPS;
                assert_int_equal(governor_policy_lower(&p, TARGET_IP, ceiling), 0);
                size_t n_protected = (size_t)rand() % 4;
                for (size_t i = 0; i < n_protected; i++)
                        protect_ip(&p, pool[rand() % 200]);
                size_t n = (size_t)rand() % 6;
                size_t start = (size_t)rand() % 190;
                governor_ruling d;
                if (judge(&p, "exec", "run", TARGET_IP, pool + start, n, &d) != GOVERNOR_ALLOW) {
                        governor_policy_clear(&p);
                        continue;
                }
                uint64_t covered = 0;
                for (size_t i = 0; i < n; i++) {
                        ip_prefix t;
                        assert_int_equal(ip_prefix_parse(pool[start + i], strlen(pool[start + i]), &t), 0);
                        covered += ip_prefix_size(&t);
                        for (size_t k = 0; k < p.n_protected_ips; k++)
                                assert_false(ip_prefix_overlaps(&t, &p.protected_ips[k]));
                }
                assert_true(covered <= ceiling);
                governor_policy_clear(&p);
        }
        free_targets(pool, 200);
}

static size_t reasons_for(const governor_policy *p, unsigned level, bool reversible, const char *connector,
                          const char *verb, const char *category, target_kind kind, size_t n,
                          governor_ruling *ru) {
        char *t[BW_CEILING_IPS];
        char names[BW_CEILING_IPS][32];
        for (size_t i = 0; i < n && i < BW_CEILING_IPS; i++) {
                snprintf(names[i], sizeof(names[i]), kind == TARGET_IP ? "203.0.113.%zu" : "user%zu", i + 1);
                t[i] = names[i];
        }
        governor_action a = {.level = level,
                             .connector = connector,
                             .verb = verb,
                             .reversible = reversible,
                             .category = category,
                             .has_targets = n > 0,
                             .kind = n > 0 ? kind : TARGET_NONE,
                             .targets = t,
                             .n_targets = n};
        governor_state none = {0};
        governor_decide(p, &a, &none, ru);
        return ru->n_approval_reasons;
}

static void test_approval_reasons(void **state) {
        governor_policy p;
        policy(&p);
        governor_ruling ru;
        assert_int_equal(p.approvals.timeout_s, BW_APPROVAL_TIMEOUT_S_DEFAULT);
        assert_int_equal(p.approvals.valid_s, BW_APPROVAL_TIMEOUT_S_DEFAULT);
        assert_int_equal(p.approvals.approvers, 1);
        assert_int_equal(p.approvals.n_categories, 4);
        /* Level 3, reversible, no category: runs. */
        assert_int_equal(reasons_for(&p, 3, true, "nft", "block", "", TARGET_IP, 1, &ru), 0);
        assert_int_equal(ru.verdict, GOVERNOR_ALLOW);
        /* Level 4: always. */
        assert_int_equal(reasons_for(&p, 4, true, "nft", "block", "", TARGET_IP, 1, &ru), 1);
        assert_string_equal(ru.approval_reasons[0], "automation level 4");
        assert_int_equal(ru.verdict, GOVERNOR_NEEDS_APPROVAL);
        /* Level 3, irreversible. */
        assert_int_equal(reasons_for(&p, 3, false, "exec", "run", "", TARGET_ACCOUNT, 1, &ru), 1);
        assert_non_null(strstr(ru.approval_reasons[0], "exec.run cannot be rolled back"));
        /* A declared category. */
        assert_int_equal(reasons_for(&p, 3, true, "nft", "block", "system_isolation", TARGET_IP, 1, &ru), 1);
        assert_string_equal(ru.approval_reasons[0], "category system_isolation");
        /* Bulk account actions from BW_BULK_ACCOUNTS accounts on. */
        assert_int_equal(
                reasons_for(&p, 3, true, "exec", "run", "", TARGET_ACCOUNT, BW_BULK_ACCOUNTS - 1, &ru), 0);
        assert_int_equal(reasons_for(&p, 3, true, "exec", "run", "", TARGET_ACCOUNT, BW_BULK_ACCOUNTS, &ru),
                         1);
        assert_non_null(strstr(ru.approval_reasons[0], "bulk_account_action"));
        /* Configuration adds categories and classifies action kinds; none is removed. */
        assert_int_equal(approval_policy_add_category(&p.approvals, "payment_block"), 0);
        assert_int_equal(approval_policy_add_category(&p.approvals, "data_deletion"), -EEXIST);
        assert_int_equal(approval_policy_classify(&p.approvals, "http.request", "nope"), -ENOENT);
        assert_int_equal(approval_policy_classify(&p.approvals, "http.request", "payment_block"), 0);
        assert_int_equal(reasons_for(&p, 3, true, "http", "request", "", TARGET_NONE, 0, &ru), 1);
        assert_string_equal(ru.approval_reasons[0], "category payment_block (http.request)");
        for (size_t i = 0; approval_builtin_categories[i]; i++)
                assert_true(approval_policy_has_category(&p.approvals, approval_builtin_categories[i]));
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
        static const target_kind tkinds[] = {TARGET_IP, TARGET_ACCOUNT, TARGET_HOST};
        for (int round = 0; round < 5000; round++) {
                governor_policy p;
                policy(&p);
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
                target_kind kind = tkinds[rand() % 3];
                size_t n = 1 + (size_t)rand() % 5;
                governor_ruling ru;
                size_t got = reasons_for(&p, level, reversible, connector, dot + 1, cat, kind, n, &ru);
                bool must = level == 4 || !reversible || cat[0] ||
                            (classified && strcmp(action, "exec.run") == 0) ||
                            (kind == TARGET_ACCOUNT && n >= BW_BULK_ACCOUNTS);
                assert_int_equal(got > 0, must);
                assert_true(got <= GOVERNOR_APPROVAL_REASONS_MAX);
                /* Without a valid approval, nothing that needs one is allowed. */
                assert_true(!must || ru.verdict == GOVERNOR_NEEDS_APPROVAL);
                governor_policy_clear(&p);
        }
}

static approval_record pending_record(void) {
        approval_record r = {.state = APPROVAL_PENDING, .required = 1, .expires_at_ms = 10000};
        assert_int_equal(approval_actors_add(&r.requesters, "siem"), 0);
        assert_int_equal(approval_actors_add(&r.requesters, "analyst-ann"), 0);
        snprintf(r.author, sizeof(r.author), "engineer-eve");
        return r;
}

/* Issue 7: approvals granted after expires_at, self-approval by the analyst
 * who ran the action, and approvals that never lapse. */
static void test_approval_decisions(void **state) {
        approval_record r = pending_record();
        assert_int_equal(approval_may_decide(&r, "bob", APPROVAL_APPROVE, 9999), 0);
        /* At or past expires_at, whatever the sweeper has done: expired. */
        assert_int_equal(approval_may_decide(&r, "bob", APPROVAL_APPROVE, 10000), -ETIMEDOUT);
        assert_int_equal(approval_may_decide(&r, "bob", APPROVAL_REJECT, 10001), -ETIMEDOUT);
        /* Separation of duties: every requester and the author. */
        assert_int_equal(approval_may_decide(&r, "siem", APPROVAL_APPROVE, 1), -EPERM);
        assert_int_equal(approval_may_decide(&r, "analyst-ann", APPROVAL_APPROVE, 1), -EPERM);
        assert_int_equal(approval_may_decide(&r, "engineer-eve", APPROVAL_APPROVE, 1), -EPERM);
        assert_int_equal(approval_may_decide(&r, "", APPROVAL_APPROVE, 1), -EPERM);
        /* Anyone with the role may refuse. */
        assert_int_equal(approval_may_decide(&r, "analyst-ann", APPROVAL_REJECT, 1), 0);
        /* Two approvers: not the same twice. */
        r.required = 2;
        assert_int_equal(approval_actors_add(&r.approved_by, "bob"), 0);
        assert_int_equal(approval_may_decide(&r, "bob", APPROVAL_APPROVE, 1), -EPERM);
        assert_int_equal(approval_may_decide(&r, "carol", APPROVAL_APPROVE, 1), 0);
        r.state = APPROVAL_APPROVED;
        assert_int_equal(approval_may_decide(&r, "carol", APPROVAL_APPROVE, 1), -EALREADY);
        /* A granted approval is valid for valid_s after it was given. */
        approval_policy ap;
        approval_policy_init(&ap);
        ap.valid_s = 60;
        r.decided_at_ms = 1000;
        assert_false(approval_valid(&ap, &r, 1000)); /* one of the two approvals */
        assert_int_equal(approval_actors_add(&r.approved_by, "carol"), 0);
        assert_true(approval_valid(&ap, &r, 1000));
        /* Approved by a requester or the author on the record: not valid. */
        approval_record bad = r;
        assert_int_equal(approval_actors_add(&bad.approved_by, "analyst-ann"), 0);
        assert_false(approval_valid(&ap, &bad, 1000));
        bad = r;
        bad.approved_by = (approval_actors){0};
        assert_int_equal(approval_actors_add(&bad.approved_by, "engineer-eve"), 0);
        assert_int_equal(approval_actors_add(&bad.approved_by, "bob"), 0);
        assert_false(approval_valid(&ap, &bad, 1000));
        bad = r;
        bad.required = 3; /* fewer approvers than it needs */
        assert_false(approval_valid(&ap, &bad, 1000));
        assert_true(approval_valid(&ap, &r, 60999));
        assert_false(approval_valid(&ap, &r, 61000));
        assert_false(approval_valid(&ap, &r, 999)); /* a clock that went back proves nothing */
        r.state = APPROVAL_REJECTED;
        assert_false(approval_valid(&ap, &r, 1000));
        assert_false(approval_valid(&ap, NULL, 1000));
        approval_actors many = {0};
        for (unsigned i = 0; i < BW_APPROVAL_REQUESTERS_MAX; i++) {
                char name[16];
                snprintf(name, sizeof(name), "a%u", i);
                assert_int_equal(approval_actors_add(&many, name), 0);
        }
        assert_int_equal(approval_actors_add(&many, "a0"), 0); /* known */
        assert_int_equal(approval_actors_add(&many, "one-more"), -ENOSPC);
}

/* The order of governor_decide's rules, with live state. */
static void test_decide_with_state(void **state) {
        governor_policy p;
        policy(&p);
        assert_int_equal(governor_policy_rate_limit(&p, "global", RATE_PER_MINUTE, 5), 0);
        assert_int_equal(governor_policy_rate_limit(&p, "nft.block", RATE_PER_HOUR, 2), 0);
        char *t[] = {"203.0.113.7"};
        governor_action a = {.op = GOVERNOR_RUN,
                             .level = 3,
                             .connector = "nft",
                             .verb = "block",
                             .reversible = true,
                             .category = "",
                             .has_targets = true,
                             .kind = TARGET_IP,
                             .targets = t,
                             .n_targets = 1};
        uint64_t used[GOVERNOR_BUDGETS_MAX] = {4, 1};
        governor_state st = {.now_ms = 5000, .budget_used = used};
        governor_ruling ru;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_ALLOW);
        assert_int_equal(ru.n_charge, 2);
        assert_string_equal(ru.charge[0].key, "global");
        assert_string_equal(ru.charge[1].key, "nft.block");
        used[1] = 2; /* spent: degraded, and the breaker opens */
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_RECOMMEND);
        assert_true(ru.open_breaker);
        assert_int_equal(ru.n_charge, 0);
        assert_non_null(strstr(ru.reason, "rate limit nft.block: 2 actions per hour spent"));
        used[1] = 0;
        st.breaker_open = true;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_RECOMMEND);
        assert_false(ru.open_breaker);
        /* A rollback passes the breaker and the budgets, never the target rule. */
        a.op = GOVERNOR_ROLLBACK;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_ALLOW);
        assert_int_equal(ru.n_charge, 0);
        char *lo[] = {"127.0.0.1"};
        a.targets = lo;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_DENY);
        a.targets = t;
        st.breaker_open = false;
        /* In doubt: it was charged already. */
        a.op = GOVERNOR_IN_DOUBT;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_ALLOW);
        assert_int_equal(ru.n_charge, 0);
        /* Folding: covered is satisfied, charged to nothing; not for in doubt. */
        st.covered = true;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_ALLOW);
        a.op = GOVERNOR_RUN;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_SATISFIED);
        assert_int_equal(ru.n_charge, 0);
        st.covered = false;
        /* Levels 1 and 2; an analyst's run of a level-2 recommendation. */
        a.level = 1;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_SKIP);
        a.level = 2;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_RECOMMEND);
        a.released = true;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_ALLOW);
        /* A released recommendation in a high-risk category needs an approval;
         * a valid one lets it run; a lapsed one does not. */
        a.category = "data_deletion";
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_NEEDS_APPROVAL);
        approval_record granted = {.state = APPROVAL_APPROVED, .decided_at_ms = 4000, .required = 1};
        assert_int_equal(approval_actors_add(&granted.approved_by, "bob"), 0);
        st.approval = &granted;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_ALLOW);
        st.now_ms = 4000 + (int64_t)p.approvals.valid_s * 1000;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_NEEDS_APPROVAL);
        assert_non_null(strstr(ru.reason, "lapsed"));
        granted.state = APPROVAL_PENDING;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_NEEDS_APPROVAL);
        /* Nothing to act on. */
        a.n_targets = 0;
        assert_int_equal(governor_decide(&p, &a, &st, &ru), GOVERNOR_SKIP);
        governor_policy_clear(&p);
}

/* core/journal.c: an applied action never goes back to INTENT (invariant 6),
 * PLANNED is only initial, and an execution's status follows its actions. */
static void test_journal_rules(void **state) {
        assert_false(action_transition_allowed(ACTION_APPLIED, ACTION_INTENT));
        assert_false(action_transition_allowed(ACTION_INTENT, ACTION_PLANNED));
        assert_true(action_transition_allowed(ACTION_INTENT, ACTION_APPLIED));
        assert_true(action_transition_allowed(ACTION_APPLIED, ACTION_ROLLBACK_REQUESTED));
        action_state st;
        assert_int_equal(action_state_parse("rollback_failed", &st), 0);
        assert_int_equal(st, ACTION_ROLLBACK_FAILED);
        assert_int_equal(action_state_parse("gone", &st), -EBADMSG);
        char summary[256];
        action_state mixed[] = {ACTION_APPLIED, ACTION_FAILED};
        assert_int_equal(exec_status_of_actions(mixed, 2, 3, summary, sizeof(summary)), EXEC_PARTIAL);
        assert_non_null(strstr(summary, "1 applied, 0 already in effect, 1 failed"));
        action_state folded[] = {ACTION_SATISFIED};
        assert_int_equal(exec_status_of_actions(folded, 1, 3, summary, sizeof(summary)), EXEC_SUCCEEDED);
        action_state waiting[] = {ACTION_AWAITING_APPROVAL, ACTION_DENIED};
        assert_int_equal(exec_status_of_actions(waiting, 2, 4, summary, sizeof(summary)),
                         EXEC_AWAITING_APPROVAL);
        action_state refused[] = {ACTION_DENIED};
        assert_int_equal(exec_status_of_actions(refused, 1, 3, summary, sizeof(summary)), EXEC_DENIED);
}

int governor_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_compiled_ceilings),
                cmocka_unit_test(test_configuration_lowers_never_raises),
                cmocka_unit_test(test_prefixes_count_their_addresses),
                cmocka_unit_test(test_v4_mapped_prefixes),
                cmocka_unit_test(test_never_touch_set_is_built_in),
                cmocka_unit_test(test_protected_assets_refuse_the_whole_action),
                cmocka_unit_test(test_protected_accounts_and_hosts_in_canonical_form),
                cmocka_unit_test(test_string_targets_reach_only_inert_connectors),
                cmocka_unit_test(test_property_never_over_ceiling_or_protected),
                cmocka_unit_test(test_approval_reasons),
                cmocka_unit_test(test_property_never_an_unapproved_level4),
                cmocka_unit_test(test_approval_decisions),
                cmocka_unit_test(test_decide_with_state),
                cmocka_unit_test(test_journal_rules),
        };
        return cmocka_run_group_tests_name("governor", tests, NULL, NULL);
}
