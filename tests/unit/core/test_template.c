/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the target template: exactly the listed paths parse, nothing
 * else does, and evaluation copies the alert's normalised values. */
#include "core_tests.h"

#include <stdlib.h>
#include <string.h>

#include "core/template.h"

static alert *sample_alert(void) {
        static const char body[] = "{\"source\":\"zeek\",\"type\":\"scan\",\"severity\":\"critical\","
                                   "\"observables\":{\"ips\":[\"10.1.2.3/8\",\"192.0.2.7\"],"
                                   "\"accounts\":[\"bob\"],\"hosts\":[\"DB1.example\",\"db2.example\"]},"
                                   "\"labels\":{\"env\":\"prod\"}}";
        alert *a = NULL;
        bw_error e;
        assert_int_equal(alert_parse(body, strlen(body), TEST_NOW_MS, &a, &e), 0);
        return a;
}

static void test_all_paths(void **state) {
        static const struct {
                const char *text;
                template_path path;
                target_kind kind;
        } cases[] = {
                {"alert.source", TEMPLATE_ALERT_SOURCE, TARGET_STRING},
                {"alert.type", TEMPLATE_ALERT_TYPE, TARGET_STRING},
                {"alert.severity", TEMPLATE_ALERT_SEVERITY, TARGET_STRING},
                {"alert.observables.ips", TEMPLATE_ALERT_IPS, TARGET_IP},
                {"alert.observables.accounts", TEMPLATE_ALERT_ACCOUNTS, TARGET_ACCOUNT},
                {"alert.observables.hosts", TEMPLATE_ALERT_HOSTS, TARGET_HOST},
                {"alert.labels.env", TEMPLATE_ALERT_LABEL, TARGET_STRING},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                template_expr t;
                bw_error e;
                assert_int_equal(template_parse(cases[i].text, strlen(cases[i].text), &t, &e), 0);
                assert_int_equal(t.path, cases[i].path);
                assert_int_equal(template_kind(&t), cases[i].kind);
                if (cases[i].path != TEMPLATE_ALERT_LABEL)
                        assert_string_equal(template_path_name(t.path), cases[i].text);
        }
        template_expr t;
        assert_int_equal(template_parse("alert.labels.a-b_c.9", 20, &t, NULL), 0);
        assert_string_equal(t.label, "a-b_c.9");
        assert_string_equal(template_path_name(TEMPLATE_ALERT_LABEL), "alert.labels");
        assert_string_equal(target_kind_name(TARGET_IP), "ip");
        assert_string_equal(target_kind_name(TARGET_NONE), "none");
        assert_string_equal(target_kind_name(_TARGET_KIND_MAX), "?");
}

static void test_rejects(void **state) {
        static const char *const bad[] = {
                "alert.observables.ips.x",
                "alert.labels.",
                "$(x)",
                "alert.source ",
                " alert.source",
                "alert.labels.a b",
                "alert.Source",
                "alert",
                "alert.observables",
                "alert.labels",
                "{{alert.source}}",
                "alert.labels.a/b",
                "alert.source;rm",
                "",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                template_expr t;
                bw_error e = {0};
                if (template_parse(bad[i], strlen(bad[i]), &t, &e) != -EINVAL)
                        fail_msg("accepted '%s'", bad[i]);
                assert_string_equal(e.code, "invalid");
                assert_true(strlen(e.message) > 0);
        }
        template_expr t;
        /* An embedded NUL does not shorten the expression to a valid prefix. */
        assert_int_equal(template_parse("alert.source\0x", 14, &t, NULL), -EINVAL);
        /* A label key over 64 characters. */
        char longkey[200] = "alert.labels.";
        memset(longkey + 13, 'k', 65);
        longkey[13 + 65] = '\0';
        assert_int_equal(template_parse(longkey, strlen(longkey), &t, NULL), -EINVAL);
        longkey[13 + 64] = '\0';
        assert_int_equal(template_parse(longkey, strlen(longkey), &t, NULL), 0);
}

static void expect_eval(const alert *a, const char *expr, target_kind kind, size_t n,
                        const char *const *items) {
        template_expr t;
        assert_int_equal(template_parse(expr, strlen(expr), &t, NULL), 0);
        template_value v;
        assert_int_equal(template_eval(&t, a, &v), 0);
        assert_int_equal(v.kind, kind);
        assert_int_equal(v.n, n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(v.items[i], items[i]);
        template_value_clear(&v);
        assert_int_equal(v.n, 0);
        assert_null(v.items);
}

static void test_eval(void **state) {
        alert *a = sample_alert();
        expect_eval(a, "alert.source", TARGET_STRING, 1, (const char *const[]){"zeek"});
        expect_eval(a, "alert.type", TARGET_STRING, 1, (const char *const[]){"scan"});
        expect_eval(a, "alert.severity", TARGET_STRING, 1, (const char *const[]){"critical"});
        expect_eval(a, "alert.observables.ips", TARGET_IP, 2,
                    (const char *const[]){"10.0.0.0/8", "192.0.2.7"});
        expect_eval(a, "alert.observables.accounts", TARGET_ACCOUNT, 1, (const char *const[]){"bob"});
        expect_eval(a, "alert.observables.hosts", TARGET_HOST, 2,
                    (const char *const[]){"db1.example", "db2.example"});
        expect_eval(a, "alert.labels.env", TARGET_STRING, 1, (const char *const[]){"prod"});
        expect_eval(a, "alert.labels.absent", TARGET_STRING, 0, NULL);

        /* The value is a copy: it outlives the alert. */
        template_expr t;
        assert_int_equal(template_parse("alert.observables.ips", 21, &t, NULL), 0);
        template_value v;
        assert_int_equal(template_eval(&t, a, &v), 0);
        alert_free(a);
        assert_string_equal(v.items[1], "192.0.2.7");
        template_value_clear(&v);
        template_value_clear(NULL);
}

int template_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_all_paths),
                cmocka_unit_test(test_rejects),
                cmocka_unit_test(test_eval),
        };
        return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
