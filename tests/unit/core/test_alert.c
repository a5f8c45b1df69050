/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the alert parser: every class of bad input names its field and
 * code; good input comes out normalised and canonical. */
#include "core_tests.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alert.h"
#include "util/buf.h"

static alert *parse_ok(const char *json) {
        alert *a = NULL;
        bw_error e = {0};
        int r = alert_parse(json, strlen(json), TEST_NOW_MS, &a, &e);
        if (r != 0)
                fail_msg("parse failed: %s: %s: %s", e.code, e.field, e.message);
        return a;
}

static bw_error parse_bad(const char *json, size_t len) {
        alert *a = NULL;
        bw_error e = {0};
        assert_int_equal(alert_parse(json, len, TEST_NOW_MS, &a, &e), -EINVAL);
        assert_null(a);
        return e;
}

static bw_error parse_bad_str(const char *json) {
        return parse_bad(json, strlen(json));
}

static void test_full_alert_normalised(void **state) {
        alert *a = parse_ok("{\"source\":\"suricata\",\"type\":\"ssh.bruteforce\",\"severity\":\"high\","
                            "\"observed_at\":\"2026-11-22T12:00:00.5+02:00\","
                            "\"observables\":{\"ips\":[\"192.0.2.1\",\"::ffff:192.0.2.1\",\"10.1.2.3/8\","
                            "\"2001:DB8::1/32\"],\"accounts\":[\"root\",\"alice@corp\",\"root\"],"
                            "\"hosts\":[\"Web01.Example.com\",\"web01.example.com\"]},"
                            "\"labels\":{\"env\":\"prod\",\"team\":\"blue\"},\"raw\":{\"sid\":2001219}}");
        assert_string_equal(a->source, "suricata");
        assert_string_equal(a->type, "ssh.bruteforce");
        assert_int_equal(a->severity, SEVERITY_HIGH);
        assert_int_equal(a->observed_at_ms, TEST_NOW_MS + 500);
        /* The IPv4-mapped spelling folds into the first address. */
        assert_int_equal(a->n_ips, 3);
        assert_string_equal(a->ips[0].text, "192.0.2.1");
        assert_string_equal(a->ips[1].text, "10.0.0.0/8");
        assert_string_equal(a->ips[2].text, "2001:db8::/32");
        assert_int_equal(a->n_accounts, 2);
        assert_string_equal(a->accounts[0], "root");
        assert_string_equal(a->accounts[1], "alice@corp");
        assert_int_equal(a->n_hosts, 1);
        assert_string_equal(a->hosts[0], "web01.example.com");
        assert_string_equal(json_string_value(json_object_get(a->labels, "env")), "prod");

        size_t len = 0;
        char *dump = alert_dump(a, &len);
        assert_non_null(dump);
        assert_int_equal(len, strlen(dump));
        assert_string_equal(dump,
                            "{\"labels\":{\"env\":\"prod\",\"team\":\"blue\"},"
                            "\"observables\":{\"accounts\":[\"root\",\"alice@corp\"],"
                            "\"hosts\":[\"web01.example.com\"],"
                            "\"ips\":[\"192.0.2.1\",\"10.0.0.0/8\",\"2001:db8::/32\"]},"
                            "\"observed_at\":\"2026-11-22T10:00:00.500Z\",\"raw\":{\"sid\":2001219},"
                            "\"severity\":\"high\",\"source\":\"suricata\",\"type\":\"ssh.bruteforce\"}");

        /* The canonical form is a fixed point. */
        alert *b = NULL;
        bw_error e = {0};
        assert_int_equal(alert_parse(dump, len, TEST_NOW_MS, &b, &e), 0);
        char *again = alert_dump(b, NULL);
        assert_string_equal(again, dump);
        free(again);
        free(dump);
        alert_free(b);
        alert_free(a);
}

static void test_minimal_alert_defaults(void **state) {
        alert *a = parse_ok("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\"}");
        assert_int_equal(a->observed_at_ms, TEST_NOW_MS);
        assert_int_equal(a->n_ips + a->n_accounts + a->n_hosts, 0);
        assert_non_null(a->labels);
        assert_int_equal(json_object_size(a->labels), 0);
        assert_null(a->raw);
        char *dump = alert_dump(a, NULL);
        assert_string_equal(dump, "{\"labels\":{},\"observables\":{\"accounts\":[],\"hosts\":[],\"ips\":[]},"
                                  "\"observed_at\":\"2026-11-22T10:00:00.000Z\",\"raw\":null,"
                                  "\"severity\":\"low\",\"source\":\"s\",\"type\":\"t\"}");
        free(dump);
        alert_free(a);
}

/* Invalid UTF-8 (or a NUL) is refused naming the field that holds it: a key
 * path into the body, however deep, with the offset of the first bad byte. */
static void test_bad_utf8(void **state) {
        static const struct {
                const char *body;
                size_t len;
                const char *field;
                size_t offset;
        } cases[] = {
#define CASE(b, f, o) {b, sizeof(b) - 1, f, o}
                CASE("{\"source\":\"s\xff\",\"type\":\"t\",\"severity\":\"low\"}", "source", 12),
                CASE("{\"source\":\"s\0\",\"type\":\"t\",\"severity\":\"low\"}", "source", 12),
                CASE("{\"source\":\"s\",\"type\":\"t\xc3\",\"severity\":\"low\"}", "type", 23),
                CASE("{\"raw\":\"\xed\xa0\x80\",\"source\":\"s\"}", "raw", 8),
                CASE("{\"labels\":{\"env\":\"pr\xffod\"}}", "labels.env", 20),
                CASE("{\"observables\":{\"accounts\":[\"a\", \"b\",\"c\xff\"]}}", "observables.accounts[2]",
                     39),
                CASE("{\"raw\":{\"a\":[1,{\"b\":\"\xff\"}]}}", "raw.a[1].b", 21),
                CASE("{\"labels\":{\"k\xffy\":\"v\"}}", "labels.k?y", 13),
                CASE("{\"severity\": \xff}", "severity", 13),
                CASE("{\"raw\":\"a\\\"b\xff\"}", "raw", 12),
                CASE("{\"raw\":\"{[\",\"type\":\"\xf0\x9f\x98\"}", "type", 20),
                CASE("{\"source\":\"s\",\xff\"type\":\"t\"}", "", 14),
                CASE("\xef\xbb\xbf\xff{}", "", 3),
#undef CASE
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                bw_error e = parse_bad(cases[i].body, cases[i].len);
                assert_error(e, "bad_utf8", cases[i].field);
                char want[64];
                snprintf(want, sizeof(want), "not valid UTF-8 (byte %zu)", cases[i].offset);
                assert_string_equal(e.message, want);
        }
}

static char *nested_raw(unsigned levels) {
        buf b;
        buf_init(&b, 4096);
        assert_int_equal(buf_printf(&b, "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"raw\":"),
                         0);
        for (unsigned i = 0; i < levels; i++)
                assert_int_equal(buf_append(&b, "[", 1), 0);
        for (unsigned i = 0; i < levels; i++)
                assert_int_equal(buf_append(&b, "]", 1), 0);
        assert_int_equal(buf_append(&b, "}", 1), 0);
        return buf_steal(&b, NULL);
}

static void test_too_deep(void **state) {
        /* The top-level object is level 1, so raw may nest 15 more. */
        char *ok = nested_raw(BW_ALERT_MAX_DEPTH - 1);
        alert *a = parse_ok(ok);
        assert_true(json_is_array(a->raw));
        alert_free(a);
        free(ok);

        char *deep = nested_raw(BW_ALERT_MAX_DEPTH);
        bw_error e = parse_bad_str(deep);
        assert_error(e, "too_deep", "");
        free(deep);

        /* Brackets inside strings do not count. */
        a = parse_ok("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\","
                     "\"raw\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}");
        assert_string_equal(json_string_value(a->raw), "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[[[[");
        alert_free(a);
}

static void test_too_large_list(void **state) {
        buf b;
        buf_init(&b, 64 * 1024);
        assert_int_equal(buf_printf(&b, "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\","
                                        "\"observables\":{\"ips\":["),
                         0);
        for (unsigned i = 0; i <= BW_ALERT_MAX_IPS; i++)
                assert_int_equal(buf_printf(&b, "%s\"10.0.%u.%u\"", i ? "," : "", i / 256, i % 256), 0);
        assert_int_equal(buf_printf(&b, "]}}"), 0);
        bw_error e = parse_bad(b.data, b.len);
        assert_error(e, "too_large", "observables.ips");
        buf_free(&b);

        buf_init(&b, 64 * 1024);
        assert_int_equal(
                buf_printf(&b, "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"labels\":{"), 0);
        for (unsigned i = 0; i <= BW_ALERT_MAX_LABELS; i++)
                assert_int_equal(buf_printf(&b, "%s\"k%u\":\"v\"", i ? "," : "", i), 0);
        assert_int_equal(buf_printf(&b, "}}"), 0);
        e = parse_bad(b.data, b.len);
        assert_error(e, "too_large", "labels");
        buf_free(&b);
}

static void test_unknown_field(void **state) {
        bw_error e =
                parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"sevrity\":\"x\"}");
        assert_error(e, "unknown_field", "sevrity");
        e = parse_bad_str(
                "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"observables\":{\"urls\":[]}}");
        assert_error(e, "unknown_field", "observables.urls");
        /* Unprintable key bytes are not echoed back. */
        e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"a\\nb\":1}");
        assert_error(e, "unknown_field", "a?b");
        /* So is the empty key: found by fuzz_alert (fuzz/regress/alert/empty-key-unknown-field.json). */
        e = parse_bad_str("{\"\":\"x\",\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\"}");
        assert_error(e, "unknown_field", "\"\"");
}

static void test_missing_field(void **state) {
        bw_error e = parse_bad_str("{\"source\":\"s\",\"severity\":\"low\"}");
        assert_error(e, "missing", "type");
        e = parse_bad_str("{\"type\":\"t\",\"severity\":\"low\"}");
        assert_error(e, "missing", "source");
        e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\"}");
        assert_error(e, "missing", "severity");
}

static void test_bad_values(void **state) {
        bw_error e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"urgent\"}");
        assert_error(e, "invalid", "severity");
        e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"HIGH\"}");
        assert_error(e, "invalid", "severity");
        e = parse_bad_str("{\"source\":\"a b\",\"type\":\"t\",\"severity\":\"low\"}");
        assert_error(e, "invalid", "source");
        e = parse_bad_str("{\"source\":\"s\",\"type\":7,\"severity\":\"low\"}");
        assert_error(e, "invalid", "type");
        e = parse_bad_str("{\"source\":\"\",\"type\":\"t\",\"severity\":\"low\"}");
        assert_error(e, "invalid", "source");
        e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"observables\":[]}");
        assert_error(e, "invalid", "observables");
        e = parse_bad_str(
                "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"observables\":{\"ips\":[1]}}");
        assert_error(e, "invalid", "observables.ips[0]");
}

static void test_bad_json(void **state) {
        bw_error e = parse_bad_str("[]");
        assert_error(e, "invalid", "");
        e = parse_bad_str("{\"source\":");
        assert_error(e, "invalid", "");
        e = parse_bad_str("{\"source\":\"s\",\"source\":\"t\",\"type\":\"t\",\"severity\":\"low\"}");
        assert_error(e, "invalid", "");
        assert_non_null(strstr(e.message, "duplicate"));
        e = parse_bad_str("{\"source\":\"s\\u0000\",\"type\":\"t\",\"severity\":\"low\"}");
        assert_error(e, "invalid", "");
}

static void test_bad_ip(void **state) {
        bw_error e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\","
                                   "\"observables\":{\"ips\":[\"192.0.2.1\",\"192.0.2.2\",\"192.0.2.3\","
                                   "\"1.2.3.256\"]}}");
        assert_error(e, "invalid", "observables.ips[3]");
}

static void expect_prefix(const char *in, int family, unsigned prefix, const char *text) {
        ip_prefix p;
        assert_int_equal(ip_prefix_parse(in, strlen(in), &p), 0);
        assert_int_equal(p.family, family);
        assert_int_equal(p.prefix, prefix);
        assert_string_equal(p.text, text);
}

static void test_ip_prefix(void **state) {
        expect_prefix("192.0.2.1", AF_INET, 32, "192.0.2.1");
        expect_prefix("192.0.2.1/32", AF_INET, 32, "192.0.2.1");
        expect_prefix("10.1.2.3/8", AF_INET, 8, "10.0.0.0/8");
        expect_prefix("0.0.0.0/0", AF_INET, 0, "0.0.0.0/0");
        expect_prefix("::ffff:1.2.3.4", AF_INET, 32, "1.2.3.4");
        expect_prefix("::ffff:1.2.3.4/120", AF_INET, 24, "1.2.3.0/24");
        expect_prefix("2001:DB8:0:0::1", AF_INET6, 128, "2001:db8::1");
        expect_prefix("2001:db8::1/128", AF_INET6, 128, "2001:db8::1");
        expect_prefix("2001:db8:ffff::1/33", AF_INET6, 33, "2001:db8:8000::/33");

        static const char *const bad[] = {
                "1.2.3.256",  "1.2.3",        "01.2.3.4",   "1.2.3.4/33",  "1.2.3.4/08",
                "1.2.3.4/",   "1.2.3.4/+8",   "1.2.3.4/ 8", "1.2.3.4/\r8", "::1/129",
                "fe80::1%lo", "host.example", "",           "1.2.3.4/8/8", " 1.2.3.4",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ip_prefix p;
                if (ip_prefix_parse(bad[i], strlen(bad[i]), &p) != -EINVAL)
                        fail_msg("accepted bad address '%s'", bad[i]);
        }
        /* The length is authoritative: an embedded NUL does not truncate. */
        ip_prefix p;
        assert_int_equal(ip_prefix_parse("1.2.3.4\0x", 9, &p), -EINVAL);
}

static void test_bad_account(void **state) {
        bw_error e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\","
                                   "\"observables\":{\"accounts\":[\"-rf\"]}}");
        assert_error(e, "invalid", "observables.accounts[0]");
        assert_false(alert_account_name_valid("a b", 3));
        assert_false(alert_account_name_valid("a/b", 3));
        assert_true(alert_account_name_valid("svc$backup-01@corp.example", 26));
}

static void test_bad_host(void **state) {
        bw_error e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\","
                                   "\"observables\":{\"hosts\":[\"ok.example\",\"a..b\"]}}");
        assert_error(e, "invalid", "observables.hosts[1]");
        static const char *const bad[] = {"-a.b", "a-.b", "a.b.", ".a", "a_b", "a b"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(alert_host_name_valid(bad[i], strlen(bad[i])));
        char label[70];
        memset(label, 'a', 64);
        label[64] = '\0';
        assert_false(alert_host_name_valid(label, 64));
        assert_true(alert_host_name_valid(label, 63));
        assert_true(alert_host_name_valid("xn--bcher-kva.example", 21));
}

static void test_bad_label(void **state) {
        bw_error e = parse_bad_str(
                "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"labels\":{\"bad key\":\"v\"}}");
        assert_error(e, "invalid", "labels.bad?key");
        e = parse_bad_str(
                "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"labels\":{\"k\":\"a\\u0007b\"}}");
        assert_error(e, "invalid", "labels.k");
        e = parse_bad_str(
                "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"labels\":{\"k\":\"a\\u0085b\"}}");
        assert_error(e, "invalid", "labels.k");
        e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"labels\":{\"k\":\"\"}}");
        assert_error(e, "invalid", "labels.k");
        e = parse_bad_str("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"labels\":{\"k\":1}}");
        assert_error(e, "invalid", "labels.k");
        alert *a = parse_ok(
                "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"labels\":{\"k\":\"caf\\u00e9\"}}");
        assert_string_equal(json_string_value(json_object_get(a->labels, "k")), "caf\xc3\xa9");
        alert_free(a);
}

static void test_observed_at(void **state) {
        alert *a = parse_ok("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\","
                            "\"observed_at\":\"2026-11-21t23:30:00.123456789-10:30\"}");
        assert_int_equal(a->observed_at_ms, TEST_NOW_MS + 123);
        alert_free(a);
        a = parse_ok("{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"observed_at\":\"2026-02-28T00:"
                     "00:00Z\"}");
        char *dump = alert_dump(a, NULL);
        assert_non_null(strstr(dump, "\"observed_at\":\"2026-02-28T00:00:00.000Z\""));
        free(dump);
        alert_free(a);

        static const char *const bad[] = {
                "2026-02-29T00:00:00Z", /* not a leap year */
                "2026-13-01T00:00:00Z",  "2026-11-22 10:00:00Z",
                "2026-11-22T10:00:00",   "2026-11-22T24:00:00Z",
                "2026-11-22T10:00:00.Z", "2026-11-22T10:00:00+0200",
                "2024-11-22T10:00:00Z", /* more than 366 days ago */
                "2028-01-01T00:00:00Z",  "1795341600",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char body[256];
                snprintf(body, sizeof(body),
                         "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\",\"observed_at\":\"%s\"}",
                         bad[i]);
                bw_error e = parse_bad_str(body);
                if (strcmp(e.field, "observed_at") != 0 || strcmp(e.code, "invalid") != 0)
                        fail_msg("'%s': %s %s", bad[i], e.code, e.field);
        }
}

static void test_severity_names(void **state) {
        alert_severity s;
        for (int i = 0; i < _SEVERITY_MAX; i++) {
                assert_int_equal(alert_severity_parse(alert_severity_name((alert_severity)i), &s), 0);
                assert_int_equal(s, i);
        }
        assert_int_equal(alert_severity_parse("info", &s), -EINVAL);
        assert_true(SEVERITY_LOW < SEVERITY_MEDIUM && SEVERITY_HIGH < SEVERITY_CRITICAL);
}

int alert_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_alert_normalised),
                cmocka_unit_test(test_minimal_alert_defaults),
                cmocka_unit_test(test_bad_utf8),
                cmocka_unit_test(test_too_deep),
                cmocka_unit_test(test_too_large_list),
                cmocka_unit_test(test_unknown_field),
                cmocka_unit_test(test_missing_field),
                cmocka_unit_test(test_bad_values),
                cmocka_unit_test(test_bad_json),
                cmocka_unit_test(test_bad_ip),
                cmocka_unit_test(test_ip_prefix),
                cmocka_unit_test(test_bad_account),
                cmocka_unit_test(test_bad_host),
                cmocka_unit_test(test_bad_label),
                cmocka_unit_test(test_observed_at),
                cmocka_unit_test(test_severity_names),
        };
        return cmocka_run_group_tests_name("alert", tests, NULL, NULL);
}
