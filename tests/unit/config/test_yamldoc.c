/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of util/yamldoc: the loader's limits (aliases, depth, nodes, tags,
 * documents, encoding), the strict typed getters, and the settings converter. */
#include "config_tests.h"

#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "util/buf.h"
#include "core/yamldoc.h"

static yamldoc *load_ok(const char *text) {
        yamldoc *d = NULL;
        bw_error e = {0};
        if (yamldoc_load(text, strlen(text), "t.yaml", &d, &e) != 0)
                fail_msg("%u:%u %s %s", e.line, e.col, e.code, e.message);
        return d;
}

static bw_error load_bad(const char *text, size_t len) {
        yamldoc *d = NULL;
        bw_error e = {0};
        assert_int_equal(yamldoc_load(text, len, "t.yaml", &d, &e), -EINVAL);
        assert_null(d);
        assert_string_equal(e.file, "t.yaml");
        return e;
}

static void test_load_limits(void **state) {
        bw_error e = load_bad("a: &x [1, 2]\nb: *x\n", 19);
        assert_error_at(&e, "invalid", "", 2, 4);
        assert_non_null(strstr(e.message, "aliases"));

        /* An anchor alone is harmless. */
        yamldoc *d = load_ok("a: &x 1\n");
        yamldoc_free(d);

        e = load_bad("a: !!int 5\n", 11);
        assert_error_at(&e, "invalid", "", 1, 4);
        e = load_bad("a: 1\n---\nb: 2\n", 14);
        assert_error_at(&e, "invalid", "", 2, 1);
        e = load_bad("# only a comment\n", 17);
        assert_error_at(&e, "invalid", "", 1, 1);
        e = load_bad("a: [1, 2\n", 9);
        assert_string_equal(e.code, "syntax");
        assert_int_equal(e.line, 2);
        e = load_bad("a: \"\xc3\x28\"\n", 8);
        assert_string_equal(e.code, "bad_utf8");
        e = load_bad("a: 1\0b: 2\n", 10);
        assert_string_equal(e.code, "bad_utf8");
        /* A control character libyaml refuses is located from its byte offset. */
        e = load_bad("a: 1\nb: x\x01y\n", 12);
        assert_error_at(&e, "syntax", "", 2, 5);
}

static char *nested(unsigned levels) {
        buf b;
        buf_init(&b, 4096);
        for (unsigned i = 0; i < levels; i++)
                assert_int_equal(buf_append(&b, "[", 1), 0);
        assert_int_equal(buf_append(&b, "x", 1), 0);
        for (unsigned i = 0; i < levels; i++)
                assert_int_equal(buf_append(&b, "]", 1), 0);
        return buf_steal(&b, NULL);
}

static void test_depth_and_nodes(void **state) {
        char *ok = nested(BW_YAML_MAX_DEPTH);
        yamldoc *d = load_ok(ok);
        yamldoc_free(d);
        free(ok);
        char *deep = nested(BW_YAML_MAX_DEPTH + 1);
        bw_error e = load_bad(deep, strlen(deep));
        assert_error_at(&e, "too_deep", "", 1, BW_YAML_MAX_DEPTH + 1);
        free(deep);

        buf b;
        buf_init(&b, 1024 * 1024);
        assert_int_equal(buf_append(&b, "[", 1), 0);
        for (unsigned i = 0; i < BW_YAML_MAX_NODES; i++)
                assert_int_equal(buf_append(&b, "1,", 2), 0);
        assert_int_equal(buf_append(&b, "1]", 2), 0);
        e = load_bad(b.data, b.len);
        assert_string_equal(e.code, "too_large");
        buf_free(&b);
}

static void test_getters(void **state) {
        yamldoc *d = load_ok("b1: true\nb2: yes\nb3: True\n"
                             "i1: -3\ni2: 0x10\ni3: 1_000\ni4: \"5\"\ni5: 7\ni6: +5\ni7: 1.0\n"
                             "s1: hello\ns2: \"a\\0b\"\ns3: ~\ns4: \"\"\ns5: \"tab\\there\"\n"
                             "n1: web-01\nn2: web 01\n");
        yaml_node_t *root = yamldoc_root(d);
        bw_error e = {0};
        bool b;
        assert_int_equal(yamldoc_get_bool(d, yamldoc_map_get(d, root, "b1"), "b1", &b, &e), 0);
        assert_true(b);
        assert_int_equal(yamldoc_get_bool(d, yamldoc_map_get(d, root, "b2"), "b2", &b, &e), -EINVAL);
        assert_error_at(&e, "wrong_type", "b2", 2, 5);
        assert_int_equal(yamldoc_get_bool(d, yamldoc_map_get(d, root, "b3"), "b3", &b, &e), -EINVAL);

        int64_t v;
        assert_int_equal(yamldoc_get_int(d, yamldoc_map_get(d, root, "i1"), "i1", -5, 5, &v, &e), 0);
        assert_int_equal(v, -3);
        assert_int_equal(yamldoc_get_int(d, yamldoc_map_get(d, root, "i1"), "i1", 0, 5, &v, &e), -EINVAL);
        assert_error_at(&e, "out_of_range", "i1", 4, 5);
        static const char *const bad_ints[] = {"i2", "i3", "i4", "i6", "i7"};
        for (size_t i = 0; i < sizeof(bad_ints) / sizeof(bad_ints[0]); i++) {
                assert_int_equal(yamldoc_get_int(d, yamldoc_map_get(d, root, bad_ints[i]), bad_ints[i], 0,
                                                 10000, &v, &e),
                                 -EINVAL);
                assert_string_equal(e.code, "wrong_type");
        }
        assert_int_equal(yamldoc_get_int(d, yamldoc_map_get(d, root, "i5"), "i5", 8, 9, &v, &e), -EINVAL);
        assert_string_equal(e.code, "out_of_range");

        const char *s;
        size_t len;
        assert_int_equal(yamldoc_get_string(d, yamldoc_map_get(d, root, "s1"), "s1", 1, 10, &s, &len, &e),
                         0);
        assert_string_equal(s, "hello");
        assert_int_equal(len, 5);
        assert_int_equal(yamldoc_get_string(d, yamldoc_map_get(d, root, "s1"), "s1", 1, 4, &s, &len, &e),
                         -EINVAL);
        assert_string_equal(e.code, "out_of_range");
        assert_int_equal(yamldoc_get_string(d, yamldoc_map_get(d, root, "s2"), "s2", 0, 10, &s, &len, &e),
                         -EINVAL);
        assert_string_equal(e.code, "bad_utf8");
        assert_int_equal(yamldoc_get_string(d, yamldoc_map_get(d, root, "s3"), "s3", 0, 10, &s, &len, &e),
                         -EINVAL);
        assert_error_at(&e, "wrong_type", "s3", 13, 5);
        assert_int_equal(yamldoc_get_string(d, yamldoc_map_get(d, root, "s4"), "s4", 0, 10, &s, &len, &e),
                         0);
        assert_int_equal(len, 0);
        char out[16];
        assert_int_equal(
                yamldoc_get_text(d, yamldoc_map_get(d, root, "s5"), "s5", 1, 15, out, sizeof(out), &e),
                -EINVAL);
        assert_string_equal(e.code, "bad_charset");
        assert_int_equal(
                yamldoc_get_name(d, yamldoc_map_get(d, root, "n1"), "n1", 15, "-", out, sizeof(out), &e), 0);
        assert_string_equal(out, "web-01");
        assert_int_equal(
                yamldoc_get_name(d, yamldoc_map_get(d, root, "n2"), "n2", 15, "-", out, sizeof(out), &e),
                -EINVAL);
        assert_error_at(&e, "bad_charset", "n2", 17, 5);
        assert_null(yamldoc_map_get(d, root, "absent"));
        yamldoc_free(d);
}

static int count_entry(yamldoc *d, const char *key, yaml_node_t *key_node, yaml_node_t *value,
                       const char *path, void *userdata, bw_error *err) {
        (*(size_t *)userdata)++;
        return 0;
}

static int count_item(yamldoc *d, size_t index, yaml_node_t *item, const char *path, void *userdata,
                      bw_error *err) {
        assert_int_equal(index, *(size_t *)userdata);
        (*(size_t *)userdata)++;
        return 0;
}

static void test_iteration(void **state) {
        yamldoc *d = load_ok("m:\n  a: 1\n  b: 2\n  a: 3\nl: [x, y, z]\nk:\n  ? [1]\n  : v\n");
        yaml_node_t *root = yamldoc_root(d);
        bw_error e = {0};
        size_t n = 0;
        assert_int_equal(yamldoc_map_foreach(d, yamldoc_map_get(d, root, "m"), "m", 10, count_entry, &n, &e),
                         -EINVAL);
        assert_error_at(&e, "duplicate_key", "m.a", 4, 3);
        assert_int_equal(n, 2);
        assert_int_equal(yamldoc_map_foreach(d, yamldoc_map_get(d, root, "m"), "m", 2, count_entry, &n, &e),
                         -EINVAL);
        assert_error_at(&e, "too_large", "m", 2, 3);
        assert_int_equal(yamldoc_map_foreach(d, yamldoc_map_get(d, root, "k"), "k", 10, count_entry, &n, &e),
                         -EINVAL);
        assert_error_at(&e, "invalid", "k", 7, 5);

        n = 0;
        assert_int_equal(
                yamldoc_seq_foreach(d, yamldoc_map_get(d, root, "l"), "l", 1, 3, count_item, &n, &e), 0);
        assert_int_equal(n, 3);
        assert_int_equal(
                yamldoc_seq_foreach(d, yamldoc_map_get(d, root, "l"), "l", 1, 2, count_item, &n, &e),
                -EINVAL);
        assert_error_at(&e, "too_large", "l", 5, 4);
        assert_int_equal(
                yamldoc_seq_foreach(d, yamldoc_map_get(d, root, "l"), "l", 4, 9, count_item, &n, &e),
                -EINVAL);
        assert_string_equal(e.code, "out_of_range");
        assert_int_equal(
                yamldoc_seq_foreach(d, yamldoc_map_get(d, root, "m"), "m", 0, 9, count_item, &n, &e),
                -EINVAL);
        assert_string_equal(e.code, "wrong_type");

        static const char *const keys[] = {"l", "m", NULL};
        yaml_node_t *v[2];
        assert_int_equal(yamldoc_fields(d, root, "", keys, v, &e), -EINVAL);
        assert_error_at(&e, "unknown_key", "k", 6, 1);
        yamldoc_free(d);

        char path[YAMLDOC_PATH_MAX];
        yamldoc_path_key(path, sizeof(path), "a.b", "c d\n");
        assert_string_equal(path, "a.b.c?d?");
        yamldoc_path_index(path, sizeof(path), "steps", 12);
        assert_string_equal(path, "steps[12]");
}

static const setting_spec table[] = {
        {"url", SETTING_STRING, true, 1, 64, NULL, "where"},
        {"method", SETTING_STRING, false, 3, 4, "", "verb"},
        {"retries", SETTING_INT, false, 0, 5, NULL, "how often"},
        {"verify", SETTING_BOOL, false, 0, 0, NULL, "check"},
        {"headers", SETTING_STRING_LIST, false, 0, 2, NULL, "extra"},
        {NULL, 0, false, 0, 0, NULL, NULL},
};

static int settings(const char *text, json_t **ret, bw_error *e) {
        yamldoc *d = load_ok(text);
        yaml_node_t *root = yamldoc_root(d);
        int r = yamldoc_settings_to_json(d, yamldoc_map_get(d, root, "settings"), root, "settings", table,
                                         ret, e);
        yamldoc_free(d);
        return r;
}

static void test_settings(void **state) {
        json_t *j = NULL;
        bw_error e = {0};
        assert_int_equal(
                settings("settings:\n  url: https://x\n  method: POST\n  retries: 2\n  verify: false\n"
                         "  headers: [\"A: b\", \"C: d\"]\n",
                         &j, &e),
                0);
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(s, "{\"headers\":[\"A: b\",\"C: d\"],\"method\":\"POST\",\"retries\":2,"
                               "\"url\":\"https://x\",\"verify\":false}");
        free(s);
        json_decref(j);

        assert_int_equal(settings("settings:\n  url: u\n  colour: red\n", &j, &e), -EINVAL);
        assert_error_at(&e, "unknown_key", "settings.colour", 3, 3);
        assert_non_null(strstr(e.message, "url, method, retries, verify, headers"));
        assert_int_equal(settings("settings:\n  method: GET\n", &j, &e), -EINVAL);
        assert_error_at(&e, "missing", "settings.url", 2, 3);
        assert_int_equal(settings("x: 1\n", &j, &e), -EINVAL);
        assert_error_at(&e, "missing", "settings.url", 1, 1);
        assert_int_equal(settings("settings:\n  url: u\n  retries: 6\n", &j, &e), -EINVAL);
        assert_error_at(&e, "out_of_range", "settings.retries", 3, 12);
        assert_int_equal(settings("settings:\n  url: u\n  retries: many\n", &j, &e), -EINVAL);
        assert_error_at(&e, "wrong_type", "settings.retries", 3, 12);
        assert_int_equal(settings("settings:\n  url: u\n  verify: 1\n", &j, &e), -EINVAL);
        assert_error_at(&e, "wrong_type", "settings.verify", 3, 11);
        assert_int_equal(settings("settings:\n  url: u\n  method: P-ST\n", &j, &e), -EINVAL);
        assert_error_at(&e, "bad_charset", "settings.method", 3, 11);
        assert_int_equal(settings("settings:\n  url: \"a\\nb\"\n", &j, &e), -EINVAL);
        assert_error_at(&e, "bad_charset", "settings.url", 2, 8);
        assert_int_equal(settings("settings:\n  url: u\n  headers: [a, b, c]\n", &j, &e), -EINVAL);
        assert_error_at(&e, "too_large", "settings.headers", 3, 12);
        assert_int_equal(settings("settings:\n  url: u\n  headers: [a, \"\"]\n", &j, &e), -EINVAL);
        assert_error_at(&e, "out_of_range", "settings.headers[1]", 3, 16);
        assert_int_equal(settings("settings:\n  url: u\n  headers: a\n", &j, &e), -EINVAL);
        assert_error_at(&e, "wrong_type", "settings.headers", 3, 12);
        assert_int_equal(settings("settings: [url]\n", &j, &e), -EINVAL);
        assert_error_at(&e, "wrong_type", "settings", 1, 11);
}

static void test_text_valid(void **state) {
        assert_true(yamldoc_text_valid("caf\xc3\xa9 \xe2\x82\xac", 9));
        assert_false(yamldoc_text_valid("a\tb", 3));
        assert_false(yamldoc_text_valid("a\x7f", 2));
        assert_false(yamldoc_text_valid("a\xc2\x85", 3)); /* NEL, a C1 control */
        assert_true(yamldoc_text_valid("\xc2\xa0", 2));   /* NBSP is text */
        assert_false(yamldoc_text_valid("a\xff", 2));
        assert_true(yamldoc_text_valid("", 0));
}

int yamldoc_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_load_limits), cmocka_unit_test(test_depth_and_nodes),
                cmocka_unit_test(test_getters),     cmocka_unit_test(test_iteration),
                cmocka_unit_test(test_settings),    cmocka_unit_test(test_text_valid),
        };
        return cmocka_run_group_tests_name("yamldoc", tests, NULL, NULL);
}
