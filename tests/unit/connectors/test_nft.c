/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the nft connector against the real kernel nftables, in a
 * private network namespace: what block, unblock, verify, snapshot and
 * rollback do to real sets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_test.h"
#include "connectors/connector.h"

static const connector_kind *nft;

static void *nft_open_json(const char *settings) {
        json_t *s = json_loads(settings, 0, NULL);
        assert_non_null(s);
        void *state = NULL;
        bw_error err = {0};
        int r = nft->open(s, &state, &err);
        json_decref(s);
        if (r < 0)
                fail_msg("open %s: %d %s: %s", settings, r, err.field, err.message);
        return state;
}

/* Runs op on targets (NULL-terminated) with params; returns the op's rc. */
static int run(void *state, connector_op op, const char *verb, const char *const *targets,
               const char *params, const json_t *snapshot, connector_result *res) {
        test_action *t = test_action_new(verb, TARGET_IP, targets, params);
        t->a.snapshot = snapshot;
        *res = (connector_result){0};
        int r = nft->ops[op](state, &t->a, res);
        test_action_free(t);
        return r;
}

static void assert_set(const char *table, const char *set, const char *expected_json) {
        json_t *got = test_nft_elements("inet", table, set);
        json_t *want = json_loads(expected_json, 0, NULL);
        assert_non_null(got);
        assert_non_null(want);
        if (!json_equal(got, want)) {
                char g[1024];
                char *d = json_dumps(got, JSON_COMPACT);
                snprintf(g, sizeof(g), "%s", d);
                free(d);
                json_decref(got);
                json_decref(want);
                fail_msg("set %s %s is %s, expected %s", table, set, g, expected_json);
        }
        json_decref(got);
        json_decref(want);
}

/* The IPv4 set of table holds exactly addr, with a timeout in (0, max]: what a
 * restored element has left of its time. */
static void assert_timed_only(const char *table, const char *addr, json_int_t max) {
        json_t *got = test_nft_elements("inet", table, "blocklist_v4");
        assert_int_equal(json_object_size(got), 1);
        json_int_t left = json_integer_value(json_object_get(got, addr));
        assert_true(left > 0 && left <= max);
        json_decref(got);
}

static void test_open_creates_table_and_sets(void **state) {
        void *s = nft_open_json("{\"table\":\"t1\"}");
        assert_set("t1", "blocklist_v4", "{}");
        assert_set("t1", "blocklist_v6", "{}");
        /* The sets are typed: an IPv6 address does not go into the IPv4 set. */
        assert_int_not_equal(test_nft_cmd("add element inet t1 blocklist_v4 { 2001:db8::1 }"), 0);
        assert_int_equal(test_nft_cmd("add element inet t1 blocklist_v4 { 192.0.2.1 timeout 10s }"), 0);
        nft->close(s);
        /* Opening again does not flush. */
        s = nft_open_json("{\"table\":\"t1\"}");
        assert_set("t1", "blocklist_v4", "{\"192.0.2.1\":10}");
        nft->close(s);
}

static void test_open_keeps_existing_sets_and_requires_them_without_create(void **state) {
        assert_int_equal(test_nft_cmd("add table ip t2\n"
                                      "add set ip t2 bans { type ipv4_addr; flags interval, timeout; }\n"
                                      "add element ip t2 bans { 203.0.113.9 }"),
                         0);
        void *s = nft_open_json("{\"family\":\"ip\",\"table\":\"t2\",\"set_v4\":\"bans\",\"create\":false}");
        json_t *got = test_nft_elements("ip", "t2", "bans");
        assert_non_null(json_object_get(got, "203.0.113.9"));
        json_decref(got);
        /* An ip table has no IPv6 set, and none was created. */
        assert_int_not_equal(test_nft_cmd("list set ip t2 blocklist_v6"), 0);
        nft->close(s);

        json_t *settings = json_pack("{ss sb}", "table", "missing", "create", 0);
        bw_error err = {0};
        void *st = NULL;
        assert_true(nft->open(settings, &st, &err) < 0);
        assert_null(st);
        assert_string_equal(err.field, "set_v4");
        assert_string_equal(err.code, "open_failed");
        json_decref(settings);
}

static void test_block_verify_unblock(void **state) {
        void *s = nft_open_json("{\"table\":\"t3\"}");
        connector_result res;
        const char *all[] = {"192.0.2.1", "198.51.100.0/24", "2001:db8::1", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "block", all, "{\"timeout_s\":3600}", NULL, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_set("t3", "blocklist_v4", "{\"192.0.2.1\":3600,\"198.51.100.0/24\":3600}");
        assert_set("t3", "blocklist_v6", "{\"2001:db8::1\":3600}");
        assert_int_equal(run(s, CONNECTOR_OP_VERIFY, "block", all, NULL, NULL, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);

        const char *some[] = {"192.0.2.1", "2001:db8::1", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "unblock", some, NULL, NULL, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_set("t3", "blocklist_v4", "{\"198.51.100.0/24\":3600}");
        assert_set("t3", "blocklist_v6", "{}");
        assert_int_equal(run(s, CONNECTOR_OP_VERIFY, "unblock", some, NULL, NULL, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_int_equal(run(s, CONNECTOR_OP_VERIFY, "block", all, NULL, NULL, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "192.0.2.1"));
        connector_result_clear(&res);
        /* Unblocking what is absent succeeds and changes nothing. */
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "unblock", some, NULL, NULL, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_set("t3", "blocklist_v4", "{\"198.51.100.0/24\":3600}");
        /* Repeated targets in one action are one element. */
        const char *twice[] = {"192.0.2.7", "192.0.2.7", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "block", twice, NULL, NULL, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_set("t3", "blocklist_v4", "{\"192.0.2.7\":0,\"198.51.100.0/24\":3600}");
        nft->close(s);
}

static void test_snapshot_and_rollback_restore_exactly(void **state) {
        void *s = nft_open_json("{\"table\":\"t4\"}");
        connector_result res;
        const char *ten[] = {"192.0.2.10", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "block", ten, "{\"timeout_s\":600}", NULL, &res), 0);
        connector_result_clear(&res);

        const char *both[] = {"192.0.2.10", "192.0.2.11", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_SNAPSHOT, "block", both, NULL, NULL, &res), 0);
        assert_true(res.ok);
        json_t *snap = json_incref(res.data);
        connector_result_clear(&res);
        json_t *e10 = json_object_get(json_object_get(snap, "elements"), "192.0.2.10");
        json_t *e11 = json_object_get(json_object_get(snap, "elements"), "192.0.2.11");
        assert_true(json_is_true(json_object_get(e10, "present")));
        assert_int_equal(json_integer_value(json_object_get(e10, "timeout")), 600);
        assert_true(json_is_false(json_object_get(e11, "present")));
        assert_int_equal(json_object_size(json_object_get(snap, "elements")), 2);

        /* block both without a timeout, then roll back: .11 goes, and .10 is
         * back to a timed element (recent kernels let "add" make it permanent). */
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "block", both, NULL, NULL, &res), 0);
        connector_result_clear(&res);
        json_t *got = test_nft_elements("inet", "t4", "blocklist_v4");
        assert_int_equal(json_object_size(got), 2);
        assert_int_equal(json_integer_value(json_object_get(got, "192.0.2.11")), 0);
        json_decref(got);
        assert_int_equal(run(s, CONNECTOR_OP_ROLLBACK, "block", both, NULL, snap, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_timed_only("t4", "192.0.2.10", 600);
        json_decref(snap);

        /* unblock, then roll back: .10 comes back with the time it had left. */
        assert_int_equal(run(s, CONNECTOR_OP_SNAPSHOT, "unblock", ten, NULL, NULL, &res), 0);
        snap = json_incref(res.data);
        connector_result_clear(&res);
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "unblock", ten, NULL, NULL, &res), 0);
        connector_result_clear(&res);
        assert_set("t4", "blocklist_v4", "{}");
        assert_int_equal(run(s, CONNECTOR_OP_ROLLBACK, "unblock", ten, NULL, snap, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        assert_timed_only("t4", "192.0.2.10", 600);

        /* A rollback without a snapshot, or without an entry for a target, is refused. */
        assert_int_equal(run(s, CONNECTOR_OP_ROLLBACK, "unblock", ten, NULL, NULL, &res), -EINVAL);
        connector_result_clear(&res);
        const char *other[] = {"192.0.2.99", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_ROLLBACK, "block", other, NULL, snap, &res), -EINVAL);
        assert_non_null(strstr(res.detail, "targets[0]"));
        connector_result_clear(&res);
        json_decref(snap);
        nft->close(s);
}

static void expect_invalid(void *s, const char *verb, const char *target, const char *params,
                           const char *needle) {
        const char *targets[] = {target, NULL};
        connector_result res;
        assert_int_equal(run(s, CONNECTOR_OP_VALIDATE, verb, targets, params, NULL, &res), 0);
        assert_false(res.ok);
        if (!strstr(res.detail, needle))
                fail_msg("%s %s: detail \"%s\" lacks \"%s\"", verb, target, res.detail, needle);
        connector_result_clear(&res);
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, verb, targets, params, NULL, &res), -EINVAL);
        connector_result_clear(&res);
}

static void test_validate_rejects_bad_actions(void **state) {
        void *s = nft_open_json("{\"family\":\"ip\",\"table\":\"t5\"}");
        expect_invalid(s, "block", "192.0.2.300", NULL, "targets[0]");
        expect_invalid(s, "block", "192.0.2.1; flush ruleset", NULL, "targets[0]");
        expect_invalid(s, "block", "example.com", NULL, "targets[0]");
        expect_invalid(s, "block", "198.51.100.1/24", NULL, "targets[0]");
        expect_invalid(s, "block", "10.0.0.0/8", NULL, "wider than /16");
        expect_invalid(s, "block", "0.0.0.0/0", NULL, "wider than /16");
        expect_invalid(s, "block", "2001:db8::1", NULL, "no IPv6 set");
        expect_invalid(s, "block", "192.0.2.1", "{\"timeout_s\":0}", "params.timeout_s");
        expect_invalid(s, "block", "192.0.2.1", "{\"timeout_s\":\"60\"}", "params.timeout_s");
        expect_invalid(s, "block", "192.0.2.1", "{\"foo\":1}", "params.foo");
        expect_invalid(s, "unblock", "192.0.2.1", "{\"timeout_s\":5}", "params.timeout_s");
        expect_invalid(s, "flush", "192.0.2.1", NULL, "verb");
        json_t *got = test_nft_elements("ip", "t5", "blocklist_v4");
        assert_int_equal(json_object_size(got), 0);
        json_decref(got);

        const char *hosts[] = {"db-1", NULL};
        test_action *t = test_action_new("block", TARGET_HOST, hosts, NULL);
        connector_result res = {0};
        assert_int_equal(nft->ops[CONNECTOR_OP_VALIDATE](s, &t->a, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "target_kind"));
        test_action_free(t);

        const char *good[] = {"192.0.2.5", "203.0.113.0/24", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_VALIDATE, "block", good, "{\"timeout_s\":60}", NULL, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        nft->close(s);
}

static void test_refused_transaction_is_a_failed_outcome(void **state) {
        void *s = nft_open_json("{\"table\":\"t6\"}");
        connector_result res;
        const char *net[] = {"198.51.100.0/24", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "block", net, NULL, NULL, &res), 0);
        connector_result_clear(&res);
        /* Inside the /24: the kernel refuses the overlap; nothing else changes. */
        const char *inside[] = {"192.0.2.77", "198.51.100.7", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "block", inside, NULL, NULL, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "nft refused"));
        connector_result_clear(&res);
        assert_set("t6", "blocklist_v4", "{\"198.51.100.0/24\":0}");
        nft->close(s);
}

static void test_default_timeout_applies(void **state) {
        void *s = nft_open_json("{\"table\":\"t7\",\"default_timeout_s\":120}");
        connector_result res;
        const char *one[] = {"192.0.2.20", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "block", one, NULL, NULL, &res), 0);
        assert_true(res.ok);
        connector_result_clear(&res);
        const char *two[] = {"192.0.2.21", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "block", two, "{\"timeout_s\":30}", NULL, &res), 0);
        connector_result_clear(&res);
        assert_set("t7", "blocklist_v4", "{\"192.0.2.20\":120,\"192.0.2.21\":30}");
        nft->close(s);
}

int main(void) {
        int r = test_enter_netns();
        if (r < 0) {
                fprintf(stderr, "cannot create a network namespace: %s\n", strerror(-r));
                return 1;
        }
        nft = connector_kind_find("nft");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_open_creates_table_and_sets),
                cmocka_unit_test(test_open_keeps_existing_sets_and_requires_them_without_create),
                cmocka_unit_test(test_block_verify_unblock),
                cmocka_unit_test(test_snapshot_and_rollback_restore_exactly),
                cmocka_unit_test(test_validate_rejects_bad_actions),
                cmocka_unit_test(test_refused_transaction_is_a_failed_outcome),
                cmocka_unit_test(test_default_timeout_applies),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
