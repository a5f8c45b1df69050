/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the playbook parser, matcher and renderer: a full file parses
 * into every field, each error names file:line:col and field, rendering resolves
 * templates and keys differ whenever the action differs. */
#include "core_tests.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/playbook.h"
#include "util/buf.h"

static const char full_playbook[] = "name: block-ssh-bruteforce\n"
                                    "version: 3\n"
                                    "author: alice\n"
                                    "description: |\n"
                                    "  Blocks brute-forcing addresses.\n"
                                    "  Then tells the SOC.\n"
                                    "trigger:\n"
                                    "  type: ssh.bruteforce\n"
                                    "  min_severity: high\n"
                                    "  labels:\n"
                                    "    env: prod\n"
                                    "automation_level: 3\n"
                                    "steps:\n"
                                    "  - id: block\n"
                                    "    action: nft.block\n"
                                    "    integration: fw-edge\n"
                                    "    targets: alert.observables.ips\n"
                                    "    params:\n"
                                    "      timeout_s: 3600\n"
                                    "      negative: -5\n"
                                    "      permanent: false\n"
                                    "      reason: \"42\"\n"
                                    "      addr: 2001:db8::1\n"
                                    "      ticket: {from: alert.labels.ticket}\n"
                                    "      who: {from: alert.source}\n"
                                    "  - id: tell\n"
                                    "    action: notify.send\n"
                                    "    integration: soc\n";

static playbook *parse_ok(const char *yaml) {
        playbook *p = NULL;
        bw_error e = {0};
        if (playbook_parse(yaml, strlen(yaml), "pb.yaml", &p, &e) != 0)
                fail_msg("%s:%u:%u: %s: %s: %s", e.file, e.line, e.col, e.code, e.field, e.message);
        return p;
}

static void expect_error(const char *yaml, unsigned line, unsigned col, const char *code,
                         const char *field) {
        playbook *p = NULL;
        bw_error e = {0};
        int r = playbook_parse(yaml, strlen(yaml), "bad.yaml", &p, &e);
        if (r != -EINVAL)
                fail_msg("accepted:\n%s", yaml);
        assert_null(p);
        if (e.line != line || e.col != col || strcmp(e.code, code) != 0 || strcmp(e.field, field) != 0)
                fail_msg("want %u:%u %s %s, got %u:%u %s %s (%s) for:\n%s", line, col, code, field, e.line,
                         e.col, e.code, e.field, e.message, yaml);
        assert_string_equal(e.file, "bad.yaml");
}

static void test_full_playbook(void **state) {
        playbook *p = parse_ok(full_playbook);
        assert_string_equal(p->file, "pb.yaml");
        assert_string_equal(p->name, "block-ssh-bruteforce");
        assert_int_equal(p->version, 3);
        assert_string_equal(p->author, "alice");
        assert_string_equal(p->description, "Blocks brute-forcing addresses.\nThen tells the SOC.\n");
        assert_string_equal(p->trigger.type, "ssh.bruteforce");
        assert_int_equal(p->trigger.min_severity, SEVERITY_HIGH);
        assert_string_equal(json_string_value(json_object_get(p->trigger.labels, "env")), "prod");
        assert_int_equal(p->level, LEVEL_AUTO_REVERSIBLE);
        assert_int_equal(p->n_steps, 2);

        const playbook_step *s = &p->steps[0];
        assert_string_equal(s->id, "block");
        assert_string_equal(s->connector, "nft");
        assert_string_equal(s->verb, "block");
        assert_string_equal(s->integration, "fw-edge");
        assert_true(s->has_targets);
        assert_int_equal(s->targets.path, TEMPLATE_ALERT_IPS);
        assert_int_equal(s->line, 14);
        assert_int_equal(s->col, 5);
        char *params = json_dumps(s->params, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(
                params, "{\"addr\":\"2001:db8::1\",\"negative\":-5,\"permanent\":false,\"reason\":\"42\","
                        "\"ticket\":{\"from\":\"alert.labels.ticket\"},\"timeout_s\":3600,"
                        "\"who\":{\"from\":\"alert.source\"}}");
        free(params);

        s = &p->steps[1];
        assert_string_equal(s->connector, "notify");
        assert_string_equal(s->verb, "send");
        assert_false(s->has_targets);
        assert_int_equal(json_object_size(s->params), 0);
        assert_int_equal(s->line, 26);

        unsigned char digest[32];
        crypto_generichash(digest, sizeof(digest), (const unsigned char *)full_playbook,
                           strlen(full_playbook), NULL, 0);
        assert_memory_equal(p->digest, digest, sizeof(digest));
        playbook_free(p);
        playbook_free(NULL);
}

static void test_defaults(void **state) {
        playbook *p = parse_ok("name: n\nversion: 1\ntrigger: {type: t}\n"
                               "steps: [{id: s, action: a.b, integration: i}]\n");
        assert_int_equal(p->level, PLAYBOOK_DEFAULT_LEVEL);
        assert_int_equal(p->trigger.min_severity, SEVERITY_LOW);
        assert_int_equal(json_object_size(p->trigger.labels), 0);
        assert_string_equal(p->author, "");
        assert_string_equal(p->description, "");
        assert_int_equal(p->steps[0].line, 4);
        assert_int_equal(p->steps[0].col, 9);
        playbook_free(p);
}

#define HEAD "name: n\nversion: 1\ntrigger:\n  type: t\n"
#define STEP "steps:\n  - id: s\n    action: nft.block\n    integration: fw\n"

static void test_errors(void **state) {
        expect_error("nmae: n\nversion: 1\n", 1, 1, "unknown_key", "nmae");
        expect_error("version: 1\ntrigger: {type: t}\nsteps: []\n", 1, 1, "missing", "name");
        expect_error("name: n\nversion: 0\n"
                     "trigger: {type: t}\n" STEP,
                     2, 10, "out_of_range", "version");
        expect_error("name: n\nversion: one\n"
                     "trigger: {type: t}\n" STEP,
                     2, 10, "wrong_type", "version");
        expect_error("name: n\nversion: \"1\"\n"
                     "trigger: {type: t}\n" STEP,
                     2, 10, "wrong_type", "version");
        expect_error("name: bad name\nversion: 1\ntrigger: {type: t}\n" STEP, 1, 7, "bad_charset", "name");
        expect_error(HEAD "automation_level: 5\n" STEP, 5, 19, "out_of_range", "automation_level");
        expect_error(HEAD "author: [a]\n" STEP, 5, 9, "wrong_type", "author");
        /* The author is an actor name (separation of duties compares it). */
        expect_error(HEAD "author: Bulwark\n" STEP, 5, 9, "reserved", "author");
        expect_error(HEAD "author: sweeper\n" STEP, 5, 9, "reserved", "author");
        expect_error(HEAD "description: \"a\\x1bb\"\n" STEP, 5, 14, "bad_charset", "description");
        expect_error("name: n\nversion: 1\ntrigger:\n  type: t\n  min_severity: urgent\n" STEP, 5, 17,
                     "invalid", "trigger.min_severity");
        expect_error("name: n\nversion: 1\ntrigger:\n  typ: t\n" STEP, 4, 3, "unknown_key", "trigger.typ");
        expect_error("name: n\nversion: 1\ntrigger:\n  min_severity: low\n" STEP, 4, 3, "missing",
                     "trigger.type");
        expect_error(HEAD "  labels:\n    bad key: v\n" STEP, 6, 5, "bad_charset", "trigger.labels.bad?key");
        expect_error(HEAD "steps: []\n", 5, 8, "out_of_range", "steps");
        expect_error(HEAD "steps: {}\n", 5, 8, "wrong_type", "steps");
        expect_error(HEAD "steps:\n  - id: s\n    action: nft.block\n", 6, 5, "missing",
                     "steps[0].integration");
        expect_error(HEAD STEP "    colour: red\n", 9, 5, "unknown_key", "steps[0].colour");
        expect_error(HEAD "steps:\n  - id: s\n    action: nftblock\n    integration: fw\n", 7, 13, "invalid",
                     "steps[0].action");
        expect_error(HEAD "steps:\n  - id: s\n    action: nft.block.x\n    integration: fw\n", 7, 13,
                     "invalid", "steps[0].action");
        expect_error(HEAD STEP "    targets: alert.observables.ips.x\n", 9, 14, "invalid",
                     "steps[0].targets");
        expect_error(HEAD STEP "    targets: $(rm -rf /)\n", 9, 14, "invalid", "steps[0].targets");
        expect_error(HEAD STEP "  - id: s\n    action: nft.unblock\n    integration: fw\n", 9, 9,
                     "duplicate", "steps[1].id");
        expect_error(HEAD STEP "    params:\n      Bad: 1\n", 10, 7, "bad_charset", "steps[0].params.Bad");
        expect_error(HEAD STEP "    params:\n      x: {from: alert.observables.ips}\n", 10, 17, "invalid",
                     "steps[0].params.x.from");
        expect_error(HEAD STEP "    params:\n      x: {form: alert.source}\n", 10, 11, "unknown_key",
                     "steps[0].params.x.form");
        expect_error(HEAD STEP "    params:\n      x: [1]\n", 10, 10, "wrong_type", "steps[0].params.x");
        expect_error(HEAD STEP "    params:\n      x:\n", 10, 9, "wrong_type", "steps[0].params.x");
        expect_error(HEAD STEP "    params:\n      x: 99999999999999999999\n", 10, 10, "out_of_range",
                     "steps[0].params.x");
        expect_error(HEAD STEP "    params:\n      x: \"a\\tb\"\n", 10, 10, "bad_charset",
                     "steps[0].params.x");
        expect_error(HEAD STEP "name: again\n", 9, 1, "duplicate_key", "name");
        expect_error(HEAD "steps: &a [1]\nx: *a\n", 6, 4, "invalid", "");
        expect_error(HEAD "steps: !!str x\n", 5, 8, "invalid", "");
        expect_error("name: n\nversion: 1\n  bad indent: x\n", 3, 13, "syntax", "");
        expect_error("- a\n- b\n", 1, 1, "wrong_type", "");
}

static void test_limits(void **state) {
        buf b;
        buf_init(&b, 64 * 1024);
        assert_int_equal(buf_printf(&b, HEAD "steps:\n"), 0);
        for (unsigned i = 0; i <= BW_PLAYBOOK_STEPS_MAX; i++)
                assert_int_equal(buf_printf(&b, "  - {id: s%u, action: a.b, integration: i}\n", i), 0);
        /* A block sequence starts at its first "-". */
        expect_error(b.data, 6, 3, "too_large", "steps");
        buf_free(&b);

        buf_init(&b, 64 * 1024);
        assert_int_equal(buf_printf(&b, HEAD STEP "    params:\n"), 0);
        for (unsigned i = 0; i <= BW_PARAMS_MAX; i++)
                assert_int_equal(buf_printf(&b, "      p%u: %u\n", i, i), 0);
        expect_error(b.data, 10, 7, "too_large", "steps[0].params");
        buf_free(&b);

        buf_init(&b, 64 * 1024);
        assert_int_equal(buf_printf(&b, HEAD STEP "    params:\n      long: "), 0);
        for (unsigned i = 0; i <= BW_PARAM_VALUE_MAX; i++)
                assert_int_equal(buf_append(&b, "x", 1), 0);
        assert_int_equal(buf_append(&b, "\n", 1), 0);
        expect_error(b.data, 10, 13, "out_of_range", "steps[0].params.long");
        buf_free(&b);

        /* A file over the size limit is refused before parsing. */
        size_t big = BW_PLAYBOOK_FILE_MAX + 1;
        char *data = malloc(big);
        assert_non_null(data);
        memset(data, '#', big);
        playbook *p = NULL;
        bw_error e;
        assert_int_equal(playbook_parse(data, big, "big.yaml", &p, &e), -EINVAL);
        assert_error(e, "too_large", "");
        free(data);
}

static alert *make_alert(const char *type, const char *severity, const char *labels) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"source\":\"sshd\",\"type\":\"%s\",\"severity\":\"%s\",\"labels\":%s,"
                 "\"observables\":{\"ips\":[\"198.51.100.9\",\"203.0.113.0/24\"]}}",
                 type, severity, labels);
        alert *a = NULL;
        bw_error e;
        assert_int_equal(alert_parse(body, strlen(body), TEST_NOW_MS, &a, &e), 0);
        return a;
}

static void test_matches(void **state) {
        playbook *p = parse_ok(full_playbook);
        alert *a = make_alert("ssh.bruteforce", "high", "{\"env\":\"prod\",\"x\":\"y\"}");
        assert_true(playbook_matches(p, a));
        alert_free(a);
        a = make_alert("ssh.bruteforce", "critical", "{\"env\":\"prod\"}");
        assert_true(playbook_matches(p, a));
        alert_free(a);
        a = make_alert("ssh.bruteforce", "medium", "{\"env\":\"prod\"}");
        assert_false(playbook_matches(p, a));
        alert_free(a);
        a = make_alert("ssh.scan", "high", "{\"env\":\"prod\"}");
        assert_false(playbook_matches(p, a));
        alert_free(a);
        a = make_alert("ssh.bruteforce", "high", "{\"env\":\"dev\"}");
        assert_false(playbook_matches(p, a));
        alert_free(a);
        a = make_alert("ssh.bruteforce", "high", "{}");
        assert_false(playbook_matches(p, a));
        alert_free(a);
        playbook_free(p);
}

static void test_render(void **state) {
        playbook *p = parse_ok(full_playbook);
        alert *a = make_alert("ssh.bruteforce", "high", "{\"env\":\"prod\",\"ticket\":\"INC-7\"}");
        rendered_action r;
        assert_int_equal(playbook_render_step(p, 0, a, 41, &r), 0);
        assert_ptr_equal(r.step, &p->steps[0]);
        assert_int_equal(r.targets.kind, TARGET_IP);
        assert_int_equal(r.targets.n, 2);
        assert_string_equal(r.targets.items[0], "198.51.100.9");
        assert_string_equal(r.targets.items[1], "203.0.113.0/24");
        char *params = json_dumps(r.params, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(
                params, "{\"addr\":\"2001:db8::1\",\"negative\":-5,\"permanent\":false,\"reason\":\"42\","
                        "\"ticket\":\"INC-7\",\"timeout_s\":3600,\"who\":\"sshd\"}");
        free(params);
        assert_int_equal(strlen(r.idempotency_key), 64);
        assert_int_equal(strspn(r.idempotency_key, "0123456789abcdef"), 64);

        /* Same inputs, same key. */
        rendered_action same;
        assert_int_equal(playbook_render_step(p, 0, a, 41, &same), 0);
        assert_string_equal(same.idempotency_key, r.idempotency_key);
        rendered_action_clear(&same);

        /* A different alert id, step or target list gives a different key. */
        rendered_action other;
        assert_int_equal(playbook_render_step(p, 0, a, 42, &other), 0);
        assert_string_not_equal(other.idempotency_key, r.idempotency_key);
        rendered_action_clear(&other);

        rendered_action tell;
        assert_int_equal(playbook_render_step(p, 1, a, 41, &tell), 0);
        assert_int_equal(tell.targets.kind, TARGET_NONE);
        assert_int_equal(tell.targets.n, 0);
        assert_int_equal(json_object_size(tell.params), 0);
        assert_string_not_equal(tell.idempotency_key, r.idempotency_key);
        rendered_action_clear(&tell);

        /* An absent label leaves its parameter out rather than inventing a value. */
        alert *b = make_alert("ssh.bruteforce", "high", "{\"env\":\"prod\"}");
        rendered_action nolabel;
        assert_int_equal(playbook_render_step(p, 0, b, 41, &nolabel), 0);
        assert_null(json_object_get(nolabel.params, "ticket"));
        assert_string_not_equal(nolabel.idempotency_key, r.idempotency_key);
        rendered_action_clear(&nolabel);

        assert_int_equal(playbook_render_step(p, 2, a, 41, &other), -EINVAL);
        rendered_action_clear(&r);
        rendered_action_clear(NULL);
        alert_free(b);
        alert_free(a);
        playbook_free(p);
}

static void test_key_is_unambiguous(void **state) {
        /* Targets ["a,b"] and ["a","b"] (or a label moving between fields) must not
         * collide: every field is length-prefixed. */
        playbook *p = parse_ok(
                "name: n\nversion: 1\ntrigger: {type: t}\n"
                "steps: [{id: s, action: a.b, integration: i, targets: alert.observables.accounts}]\n");
        static const char one[] = "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\","
                                  "\"observables\":{\"accounts\":[\"ab\"]}}";
        static const char two[] = "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\","
                                  "\"observables\":{\"accounts\":[\"a\",\"b\"]}}";
        alert *a1 = NULL, *a2 = NULL;
        bw_error e;
        assert_int_equal(alert_parse(one, strlen(one), TEST_NOW_MS, &a1, &e), 0);
        assert_int_equal(alert_parse(two, strlen(two), TEST_NOW_MS, &a2, &e), 0);
        rendered_action r1, r2;
        assert_int_equal(playbook_render_step(p, 0, a1, 1, &r1), 0);
        assert_int_equal(playbook_render_step(p, 0, a2, 1, &r2), 0);
        assert_string_not_equal(r1.idempotency_key, r2.idempotency_key);
        rendered_action_clear(&r1);
        rendered_action_clear(&r2);
        alert_free(a1);
        alert_free(a2);
        playbook_free(p);
}

/* Threshold triggers, step categories and durations: parsed, checked, keyed. */
static void test_threshold_category_duration(void **state) {
        playbook *p = parse_ok(HEAD "  threshold:\n    count: 5\n    group_by: alert.observables.ips\n"
                                    "    window_s: 600\n"
                                    "steps:\n  - id: s\n    action: nft.block\n    integration: fw\n"
                                    "    targets: alert.observables.ips\n    category: system_isolation\n"
                                    "    duration_s: 3600\n");
        assert_int_equal(p->trigger.count, 5);
        assert_int_equal(p->trigger.window_s, 600);
        assert_string_equal(p->steps[0].category, "system_isolation");
        assert_int_equal(p->steps[0].duration_s, 3600);
        const char *body = "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\","
                           "\"observables\":{\"ips\":[\"192.0.2.9\",\"192.0.2.1\"]}}";
        alert *a = NULL;
        bw_error e = {0};
        assert_int_equal(alert_parse(body, strlen(body), TEST_NOW_MS, &a, &e), 0);
        char key[BW_THRESHOLD_KEY_MAX + 1];
        assert_int_equal(playbook_threshold_key(p, a, key), 0);
        assert_string_equal(key, "192.0.2.1,192.0.2.9"); /* sorted: order does not matter */
        alert_free(a);
        body = "{\"source\":\"s\",\"type\":\"t\",\"severity\":\"low\"}";
        assert_int_equal(alert_parse(body, strlen(body), TEST_NOW_MS, &a, &e), 0);
        assert_int_equal(playbook_threshold_key(p, a, key), -ENOENT);
        alert_free(a);
        playbook_free(p);

        expect_error(HEAD "  threshold:\n    count: 0\n    group_by: alert.source\n    window_s: 1\n" STEP,
                     6, 12, "out_of_range", "trigger.threshold.count");
        expect_error(HEAD "  threshold:\n    count: 2\n    window_s: 1\n" STEP, 6, 5, "missing",
                     "trigger.threshold.group_by");
        expect_error(HEAD "  threshold:\n    count: 2\n    group_by: alert.nope\n    window_s: 1\n" STEP, 7,
                     15, "invalid", "trigger.threshold.group_by");
        expect_error(HEAD
                     "  threshold:\n    count: 2\n    group_by: alert.source\n    window_s: 9999999\n" STEP,
                     8, 15, "out_of_range", "trigger.threshold.window_s");
        expect_error(HEAD STEP "    duration_s: 0\n", 9, 17, "out_of_range", "steps[0].duration_s");
        expect_error(HEAD STEP "    category: bad cat\n", 9, 15, "bad_charset", "steps[0].category");
}

int playbook_tests(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_playbook),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_matches),
                cmocka_unit_test(test_render),
                cmocka_unit_test(test_key_is_unambiguous),
                cmocka_unit_test(test_threshold_category_duration),
        };
        return cmocka_run_group_tests_name("playbook", tests, NULL, NULL);
}
