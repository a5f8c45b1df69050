/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the nft connector against the real kernel nftables, in a
 * private network namespace: what block, unblock, verify, snapshot, rollback
 * and batched applies do to real hash and interval sets, small and big. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_test.h"
#include "connectors/connector.h"

/* The big-set test: the size at which listing a set per action made the
 * benchmark miss its latency target by three orders of magnitude. */
#define BIG_SET 20000

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

/* Opening with settings fails; err tells why. */
static void open_fails(const char *settings, bw_error *err) {
        json_t *s = json_loads(settings, 0, NULL);
        assert_non_null(s);
        void *state = NULL;
        *err = (bw_error){0};
        assert_true(nft->open(s, &state, err) < 0);
        assert_null(state);
        assert_string_equal(err->code, "open_failed");
        json_decref(s);
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

/* Runs op, which must succeed with ok; detail, if non-NULL, must be its detail. */
static void run_ok(void *state, connector_op op, const char *verb, const char *const *targets,
                   const char *params, const json_t *snapshot, const char *detail) {
        connector_result res;
        assert_int_equal(run(state, op, verb, targets, params, snapshot, &res), 0);
        if (!res.ok || (detail && strcmp(res.detail, detail) != 0))
                fail_msg("%s %s: ok %d, detail \"%s\", expected \"%s\"", connector_op_name(op), verb, res.ok,
                         res.detail, detail ? detail : "");
        connector_result_clear(&res);
}

/* A snapshot of targets for verb (owned by the caller). */
static json_t *snapshot_of(void *state, const char *verb, const char *const *targets) {
        connector_result res;
        assert_int_equal(run(state, CONNECTOR_OP_SNAPSHOT, verb, targets, NULL, NULL, &res), 0);
        assert_true(res.ok);
        json_t *snap = json_incref(res.data);
        connector_result_clear(&res);
        return snap;
}

static const json_t *snapshot_entry(const json_t *snap, const char *target) {
        return json_object_get(json_object_get(snap, "elements"), target);
}

static void assert_set_in(const char *family, const char *table, const char *set,
                          const char *expected_json) {
        json_t *got = test_nft_elements(family, table, set);
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
                fail_msg("set %s %s %s is %s, expected %s", family, table, set, g, expected_json);
        }
        json_decref(got);
        json_decref(want);
}

static void assert_set(const char *table, const char *set, const char *expected_json) {
        assert_set_in("inet", table, set, expected_json);
}

/* The IPv4 host set of table holds exactly addr, timed timeout with at most
 * that much left: what a restored element looks like. */
static void assert_restored_only(const char *table, const char *addr, json_int_t timeout) {
        json_t *got = test_nft_elements("inet", table, "blocklist_v4");
        assert_int_equal(json_object_size(got), 1);
        assert_int_equal(json_integer_value(json_object_get(got, addr)), timeout);
        json_decref(got);
}

static void test_open_creates_table_and_sets(void **state) {
        void *s = nft_open_json("{\"table\":\"t1\"}");
        assert_set("t1", "blocklist_v4", "{}");
        assert_set("t1", "blocklist_v6", "{}");
        assert_set("t1", "blocknets_v4", "{}");
        assert_set("t1", "blocknets_v6", "{}");
        /* The sets are typed: an IPv6 address does not go into an IPv4 set. */
        assert_int_not_equal(test_nft_cmd("add element inet t1 blocklist_v4 { 2001:db8::1 }"), 0);
        assert_int_not_equal(test_nft_cmd("add element inet t1 blocknets_v4 { 2001:db8::/48 }"), 0);
        /* Host sets are hash sets, which take no prefixes; network sets take them. */
        assert_int_not_equal(test_nft_cmd("add element inet t1 blocklist_v4 { 198.51.100.0/24 }"), 0);
        assert_int_equal(test_nft_cmd("add element inet t1 blocknets_v4 { 198.51.100.0/24 timeout 20s }"),
                         0);
        assert_int_equal(test_nft_cmd("add element inet t1 blocklist_v4 { 192.0.2.1 timeout 10s }"), 0);
        nft->close(s);
        /* Opening again does not flush. */
        s = nft_open_json("{\"table\":\"t1\"}");
        assert_set("t1", "blocklist_v4", "{\"192.0.2.1\":10}");
        assert_set("t1", "blocknets_v4", "{\"198.51.100.0/24\":20}");
        nft->close(s);
}

static void test_open_keeps_existing_sets_and_requires_them_without_create(void **state) {
        assert_int_equal(test_nft_cmd("add table ip t2\n"
                                      "add set ip t2 bans { type ipv4_addr; flags timeout; }\n"
                                      "add set ip t2 nets { type ipv4_addr; flags interval, timeout; }\n"
                                      "add element ip t2 bans { 203.0.113.9 }\n"
                                      "add element ip t2 nets { 203.0.112.0/24 }"),
                         0);
        void *s = nft_open_json("{\"family\":\"ip\",\"table\":\"t2\",\"set_v4\":\"bans\","
                                "\"net_set_v4\":\"nets\",\"create\":false}");
        assert_set_in("ip", "t2", "bans", "{\"203.0.113.9\":0}");
        assert_set_in("ip", "t2", "nets", "{\"203.0.112.0/24\":0}");
        /* An ip table has no IPv6 sets, and none was created. */
        assert_int_not_equal(test_nft_cmd("list set ip t2 blocklist_v6"), 0);
        assert_int_not_equal(test_nft_cmd("list set ip t2 blocknets_v6"), 0);
        const char *ip[] = {"203.0.113.9", NULL};
        run_ok(s, CONNECTOR_OP_VERIFY, "block", ip, NULL, NULL, "all 1 target(s) in the set");
        nft->close(s);

        bw_error err;
        open_fails("{\"table\":\"missing\",\"create\":false}", &err);
        assert_string_equal(err.field, "set_v4");
        assert_non_null(strstr(err.message, "does not exist (create is false)"));
        /* All four sets must exist: here the network set is missing. */
        open_fails("{\"family\":\"ip\",\"table\":\"t2\",\"set_v4\":\"bans\",\"create\":false}", &err);
        assert_string_equal(err.field, "net_set_v4");
        assert_non_null(strstr(err.message, "blocknets_v4 does not exist"));
}

static void test_open_names_a_set_of_the_wrong_kind(void **state) {
        /* An interval set where hosts go (what older versions created): create
         * cannot replace it, and the error names the setting. */
        assert_int_equal(
                test_nft_cmd("add table inet t10\n"
                             "add set inet t10 blocklist_v4 { type ipv4_addr; flags interval, timeout; }\n"
                             "add set inet t10 plain { type ipv4_addr; flags timeout; }\n"
                             "add set inet t10 plain2 { type ipv4_addr; flags timeout; }\n"
                             "add set inet t10 plain6 { type ipv6_addr; flags timeout; }\n"
                             "add set inet t10 nets4 { type ipv4_addr; flags interval, timeout; }\n"
                             "add set inet t10 nets6 { type ipv6_addr; flags interval; }"),
                0);
        bw_error err;
        open_fails("{\"table\":\"t10\"}", &err);
        assert_string_equal(err.field, "set_v4");
        assert_non_null(strstr(err.message, "blocklist_v4 must be a hash set of IPv4 addresses with flags "
                                            "timeout only"));
        /* A hash set where networks go; the sets create could not add are not
         * what the error is about. */
        open_fails("{\"table\":\"t10\",\"set_v4\":\"other\",\"net_set_v4\":\"plain\"}", &err);
        assert_string_equal(err.field, "net_set_v4");
        assert_non_null(strstr(err.message, "plain must be an interval set of IPv4 addresses"));
        /* An interval set without timeouts. */
        open_fails("{\"table\":\"t10\",\"set_v4\":\"plain\",\"set_v6\":\"plain6\",\"net_set_v4\":\"nets4\","
                   "\"net_set_v6\":\"nets6\",\"create\":false}",
                   &err);
        assert_string_equal(err.field, "net_set_v6");
        assert_non_null(strstr(err.message, "with flags interval, timeout"));
        /* An IPv4 set where IPv6 hosts go. */
        open_fails("{\"table\":\"t10\",\"set_v4\":\"plain\",\"set_v6\":\"plain2\",\"create\":false}", &err);
        assert_string_equal(err.field, "set_v6");
        assert_non_null(strstr(err.message, "a hash set of IPv6 addresses"));
        /* With the right four, it opens. */
        void *s = nft_open_json("{\"table\":\"t10\",\"set_v4\":\"plain\",\"set_v6\":\"plain6\","
                                "\"net_set_v4\":\"nets4\",\"net_set_v6\":\"blocknets_v6\"}");
        nft->close(s);
}

static void test_block_puts_hosts_in_hash_sets_and_networks_in_interval_sets(void **state) {
        void *s = nft_open_json("{\"table\":\"t3\"}");
        const char *all[] = {"192.0.2.1", "198.51.100.0/24", "2001:db8::1", "2001:db8:1::/48", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "block", all, "{\"timeout_s\":3600}", NULL,
               "added 4, already present 0 in inet t3");
        assert_set("t3", "blocklist_v4", "{\"192.0.2.1\":3600}");
        assert_set("t3", "blocknets_v4", "{\"198.51.100.0/24\":3600}");
        assert_set("t3", "blocklist_v6", "{\"2001:db8::1\":3600}");
        assert_set("t3", "blocknets_v6", "{\"2001:db8:1::/48\":3600}");
        run_ok(s, CONNECTOR_OP_VERIFY, "block", all, NULL, NULL, "all 4 target(s) in the set");

        /* A host inside a blocked network is a host: it goes to the hash set,
         * without overlapping the network. */
        const char *inside[] = {"198.51.100.7", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "block", inside, NULL, NULL, "added 1, already present 0 in inet t3");
        assert_set("t3", "blocklist_v4", "{\"192.0.2.1\":3600,\"198.51.100.7\":0}");
        assert_set("t3", "blocknets_v4", "{\"198.51.100.0/24\":3600}");
        nft->close(s);
}

static void test_block_verify_unblock(void **state) {
        void *s = nft_open_json("{\"table\":\"t4\"}");
        connector_result res;
        const char *all[] = {"192.0.2.1", "198.51.100.0/24", "2001:db8::1", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "block", all, "{\"timeout_s\":3600}", NULL, NULL);

        const char *some[] = {"192.0.2.1", "2001:db8::1", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "unblock", some, NULL, NULL, "deleted 2, already absent 0 in inet t4");
        assert_set("t4", "blocklist_v4", "{}");
        assert_set("t4", "blocklist_v6", "{}");
        assert_set("t4", "blocknets_v4", "{\"198.51.100.0/24\":3600}");
        run_ok(s, CONNECTOR_OP_VERIFY, "unblock", some, NULL, NULL, "all 2 target(s) out of the set");
        assert_int_equal(run(s, CONNECTOR_OP_VERIFY, "block", all, NULL, NULL, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "targets[0] (192.0.2.1) is not in the set"));
        connector_result_clear(&res);
        /* Unblocking what is absent succeeds and changes nothing. */
        run_ok(s, CONNECTOR_OP_APPLY, "unblock", some, NULL, NULL, "deleted 0, already absent 2 in inet t4");
        assert_set("t4", "blocknets_v4", "{\"198.51.100.0/24\":3600}");
        /* A network is unblocked from its own set. */
        const char *net[] = {"198.51.100.0/24", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_VERIFY, "unblock", net, NULL, NULL, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "still in the set"));
        connector_result_clear(&res);
        run_ok(s, CONNECTOR_OP_APPLY, "unblock", net, NULL, NULL, "deleted 1, already absent 0 in inet t4");
        assert_set("t4", "blocknets_v4", "{}");
        /* Repeated targets in one action are one element. */
        const char *twice[] = {"192.0.2.7", "192.0.2.7", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "block", twice, NULL, NULL, "added 1, already present 0 in inet t4");
        assert_set("t4", "blocklist_v4", "{\"192.0.2.7\":0}");
        nft->close(s);
}

static void test_snapshot_and_rollback_restore_exactly(void **state) {
        void *s = nft_open_json("{\"table\":\"t5\"}");
        const char *ten[] = {"192.0.2.10", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "block", ten, "{\"timeout_s\":600}", NULL, NULL);

        const char *both[] = {"192.0.2.10", "192.0.2.11", "203.0.113.0/24", NULL};
        json_t *snap = snapshot_of(s, "block", both);
        const json_t *e10 = snapshot_entry(snap, "192.0.2.10");
        assert_true(json_is_true(json_object_get(e10, "present")));
        assert_int_equal(json_integer_value(json_object_get(e10, "timeout")), 600);
        json_int_t left = json_integer_value(json_object_get(e10, "expires"));
        assert_true(left > 0 && left <= 600);
        assert_true(json_is_false(json_object_get(snapshot_entry(snap, "192.0.2.11"), "present")));
        assert_true(json_is_false(json_object_get(snapshot_entry(snap, "203.0.113.0/24"), "present")));
        assert_int_equal(json_object_size(json_object_get(snap, "elements")), 3);

        /* block all three without a timeout, then roll back: what was absent
         * goes, and .10, which block left alone, stays as it was. */
        run_ok(s, CONNECTOR_OP_APPLY, "block", both, NULL, NULL, "added 2, already present 1 in inet t5");
        assert_set("t5", "blocklist_v4", "{\"192.0.2.10\":600,\"192.0.2.11\":0}");
        assert_set("t5", "blocknets_v4", "{\"203.0.113.0/24\":0}");
        run_ok(s, CONNECTOR_OP_ROLLBACK, "block", both, NULL, snap,
               "restored the snapshot: deleted 2, re-added 0");
        assert_restored_only("t5", "192.0.2.10", 600);
        assert_set("t5", "blocknets_v4", "{}");
        /* A second rollback finds nothing left to undo. */
        run_ok(s, CONNECTOR_OP_ROLLBACK, "block", both, NULL, snap,
               "restored the snapshot: deleted 0, re-added 0");
        json_decref(snap);

        /* unblock, then roll back: .10 comes back with its timeout and the
         * time it had left. */
        snap = snapshot_of(s, "unblock", ten);
        json_int_t had = json_integer_value(json_object_get(snapshot_entry(snap, "192.0.2.10"), "expires"));
        run_ok(s, CONNECTOR_OP_APPLY, "unblock", ten, NULL, NULL, NULL);
        assert_set("t5", "blocklist_v4", "{}");
        run_ok(s, CONNECTOR_OP_ROLLBACK, "unblock", ten, NULL, snap,
               "restored the snapshot: deleted 0, re-added 1");
        assert_restored_only("t5", "192.0.2.10", 600);
        json_t *again = snapshot_of(s, "unblock", ten);
        left = json_integer_value(json_object_get(snapshot_entry(again, "192.0.2.10"), "expires"));
        assert_true(left > 0 && left <= had);
        json_decref(again);

        /* A rollback without a snapshot, or without an entry for a target, is refused. */
        connector_result res;
        assert_int_equal(run(s, CONNECTOR_OP_ROLLBACK, "unblock", ten, NULL, NULL, &res), -EINVAL);
        connector_result_clear(&res);
        const char *other[] = {"192.0.2.99", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_ROLLBACK, "block", other, NULL, snap, &res), -EINVAL);
        assert_non_null(strstr(res.detail, "targets[0]"));
        connector_result_clear(&res);
        json_decref(snap);
        nft->close(s);
}

static void test_block_of_present_element_keeps_its_timeout(void **state) {
        void *s = nft_open_json("{\"table\":\"t6\"}");
        assert_int_equal(test_nft_cmd("add element inet t6 blocklist_v4 { 192.0.2.30 timeout 600s }\n"
                                      "add element inet t6 blocknets_v4 { 203.0.113.0/24 timeout 900s }"),
                         0);
        const char *both[] = {"192.0.2.30", "203.0.113.0/24", NULL};
        json_t *snap = snapshot_of(s, "block", both);
        /* A longer block of what is blocked already neither refreshes nor
         * replaces its timeout. */
        run_ok(s, CONNECTOR_OP_APPLY, "block", both, "{\"timeout_s\":3600}", NULL,
               "added 0, already present 2 in inet t6");
        assert_set("t6", "blocklist_v4", "{\"192.0.2.30\":600}");
        assert_set("t6", "blocknets_v4", "{\"203.0.113.0/24\":900}");
        run_ok(s, CONNECTOR_OP_VERIFY, "block", both, NULL, NULL, "all 2 target(s) in the set");
        /* And its rollback leaves both in place. */
        run_ok(s, CONNECTOR_OP_ROLLBACK, "block", both, NULL, snap,
               "restored the snapshot: deleted 0, re-added 0");
        assert_set("t6", "blocklist_v4", "{\"192.0.2.30\":600}");
        assert_set("t6", "blocknets_v4", "{\"203.0.113.0/24\":900}");
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
        void *s = nft_open_json("{\"family\":\"ip\",\"table\":\"t7\"}");
        expect_invalid(s, "block", "192.0.2.300", NULL, "targets[0]");
        expect_invalid(s, "block", "192.0.2.1; flush ruleset", NULL, "targets[0]");
        expect_invalid(s, "block", "192.0.2.1 } ; flush ruleset ; {", NULL, "targets[0]");
        expect_invalid(s, "block", "example.com", NULL, "targets[0]");
        expect_invalid(s, "block", "198.51.100.1/24", NULL, "targets[0]");
        expect_invalid(s, "block", "10.0.0.0/8", NULL, "wider than /16");
        expect_invalid(s, "block", "0.0.0.0/0", NULL, "wider than /16");
        expect_invalid(s, "block", "2001:db8::1", NULL, "no IPv6 set");
        expect_invalid(s, "block", "2001:db8::/48", NULL, "no IPv6 set");
        expect_invalid(s, "block", "192.0.2.1", "{\"timeout_s\":0}", "params.timeout_s");
        expect_invalid(s, "block", "192.0.2.1", "{\"timeout_s\":2592001}", "params.timeout_s");
        expect_invalid(s, "block", "192.0.2.1", "{\"timeout_s\":9223372036854775807}", "params.timeout_s");
        expect_invalid(s, "block", "192.0.2.1", "{\"timeout_s\":\"60\"}", "params.timeout_s");
        expect_invalid(s, "block", "192.0.2.1", "{\"foo\":1}", "params.foo");
        expect_invalid(s, "unblock", "192.0.2.1", "{\"timeout_s\":5}", "params.timeout_s");
        expect_invalid(s, "flush", "192.0.2.1", NULL, "verb");
        assert_set_in("ip", "t7", "blocklist_v4", "{}");
        assert_set_in("ip", "t7", "blocknets_v4", "{}");

        const char *hosts[] = {"db-1", NULL};
        test_action *t = test_action_new("block", TARGET_HOST, hosts, NULL);
        connector_result res = {0};
        assert_int_equal(nft->ops[CONNECTOR_OP_VALIDATE](s, &t->a, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "target_kind"));
        test_action_free(t);

        const char *good[] = {"192.0.2.5", "203.0.113.0/24", NULL};
        run_ok(s, CONNECTOR_OP_VALIDATE, "block", good, "{\"timeout_s\":60}", NULL, "valid");
        nft->close(s);
}

static void test_refused_transaction_is_a_failed_outcome(void **state) {
        void *s = nft_open_json("{\"table\":\"t8\"}");
        connector_result res;
        const char *net[] = {"198.51.100.0/24", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "block", net, NULL, NULL, NULL);
        /* A network inside the /24: the interval set refuses the overlap, and
         * the host of the same action is not added either. */
        const char *inside[] = {"192.0.2.77", "198.51.100.128/25", NULL};
        assert_int_equal(run(s, CONNECTOR_OP_APPLY, "block", inside, NULL, NULL, &res), 0);
        assert_false(res.ok);
        assert_non_null(strstr(res.detail, "nft refused"));
        connector_result_clear(&res);
        assert_set("t8", "blocknets_v4", "{\"198.51.100.0/24\":0}");
        assert_set("t8", "blocklist_v4", "{}");
        nft->close(s);
}

static void test_missing_set_is_an_error_not_an_absent_element(void **state) {
        void *s = nft_open_json("{\"table\":\"t9\"}");
        assert_int_equal(test_nft_cmd("delete set inet t9 blocklist_v4"), 0);
        const char *ip[] = {"192.0.2.40", NULL};
        connector_op ops[] = {CONNECTOR_OP_SNAPSHOT, CONNECTOR_OP_APPLY, CONNECTOR_OP_VERIFY};
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
                connector_result res;
                assert_int_equal(run(s, ops[i], "block", ip, NULL, NULL, &res), -ENOENT);
                assert_false(res.ok);
                assert_null(res.data);
                if (!strstr(res.detail, "192.0.2.40 in inet t9 blocklist_v4: the set cannot be read"))
                        fail_msg("%s: detail \"%s\"", connector_op_name(ops[i]), res.detail);
                connector_result_clear(&res);
        }
        /* The IPv6 set is still there and answers. */
        const char *ip6[] = {"2001:db8::40", NULL};
        run_ok(s, CONNECTOR_OP_VERIFY, "unblock", ip6, NULL, NULL, "all 1 target(s) out of the set");
        nft->close(s);
}

/* Fills the IPv4 host set of table with BIG_SET addresses 10.0.0.0 + i, one
 * hour each, in one command. */
static void fill_big_set(const char *table) {
        size_t cap = 64 + (size_t)BIG_SET * 32;
        char *cmd = malloc(cap);
        assert_non_null(cmd);
        size_t len = (size_t)snprintf(cmd, cap, "add element inet %s blocklist_v4 { ", table);
        for (unsigned i = 0; i < BIG_SET; i++)
                len += (size_t)snprintf(cmd + len, cap - len, "%s10.%u.%u.%u timeout 1h", i ? ", " : "",
                                        i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff);
        assert_true(len + 3 < cap);
        snprintf(cmd + len, cap - len, " }");
        assert_int_equal(test_nft_cmd(cmd), 0);
        free(cmd);
}

/* The kernel grows a hash set's table in the background after a big add, and
 * a listing taken meanwhile can skip some elements and repeat others (17,809
 * distinct of 20,001, seen): the big set is read one element at a time, as the
 * connector does. Returns nft's text for addr ("10.0.0.1 timeout 1h expires
 * ...") in out, or false if addr is not in the set. */
static bool element_text(const char *table, const char *addr, char *out, size_t len) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        assert_non_null(ctx);
        assert_int_equal(nft_ctx_buffer_output(ctx), 0);
        assert_int_equal(nft_ctx_buffer_error(ctx), 0);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "get element inet %s blocklist_v4 { %s }", table, addr);
        bool found = nft_run_cmd_from_buffer(ctx, cmd) == 0;
        const char *text = found ? strstr(nft_ctx_get_output_buffer(ctx), "elements = { ") : NULL;
        snprintf(out, len, "%.*s", text ? (int)strcspn(text, "}") : 0,
                 text ? text + strlen("elements = { ") : "");
        nft_ctx_free(ctx);
        return found;
}

/* addr is in the big set of table with this text at the start (e.g. "10.0.0.1
 * timeout 1h expires"). */
static void assert_element(const char *table, const char *addr, const char *start) {
        char text[256];
        assert_true(element_text(table, addr, text, sizeof(text)));
        if (strncmp(text, start, strlen(start)) != 0)
                fail_msg("%s is \"%s\", expected \"%s...\"", addr, text, start);
}

static void assert_no_element(const char *table, const char *addr) {
        char text[256];
        assert_false(element_text(table, addr, text, sizeof(text)));
}

static void test_big_set_answers_per_target(void **state) {
        void *s = nft_open_json("{\"table\":\"t11\"}");
        fill_big_set("t11");
        /* The last element filled, and one that is not there. */
        const char *both[] = {"10.0.78.31", "172.16.0.1", NULL};
        assert_element("t11", "10.0.78.31", "10.0.78.31 timeout 1h expires");
        assert_no_element("t11", "172.16.0.1");

        json_t *snap = snapshot_of(s, "block", both);
        const json_t *old = snapshot_entry(snap, "10.0.78.31");
        assert_true(json_is_true(json_object_get(old, "present")));
        assert_int_equal(json_integer_value(json_object_get(old, "timeout")), 3600);
        assert_true(json_is_false(json_object_get(snapshot_entry(snap, "172.16.0.1"), "present")));
        run_ok(s, CONNECTOR_OP_APPLY, "block", both, "{\"timeout_s\":60}", NULL,
               "added 1, already present 1 in inet t11");
        run_ok(s, CONNECTOR_OP_VERIFY, "block", both, NULL, NULL, "all 2 target(s) in the set");
        assert_element("t11", "172.16.0.1", "172.16.0.1 timeout 1m expires");
        assert_element("t11", "10.0.78.31", "10.0.78.31 timeout 1h expires");
        run_ok(s, CONNECTOR_OP_ROLLBACK, "block", both, NULL, snap,
               "restored the snapshot: deleted 1, re-added 0");
        json_decref(snap);
        assert_no_element("t11", "172.16.0.1");
        assert_element("t11", "10.0.78.31", "10.0.78.31 timeout 1h expires");

        /* unblock and its rollback on the big set. */
        const char *first[] = {"10.0.0.0", NULL};
        snap = snapshot_of(s, "unblock", first);
        run_ok(s, CONNECTOR_OP_APPLY, "unblock", first, NULL, NULL,
               "deleted 1, already absent 0 in inet t11");
        run_ok(s, CONNECTOR_OP_VERIFY, "unblock", first, NULL, NULL, "all 1 target(s) out of the set");
        assert_no_element("t11", "10.0.0.0");
        assert_element("t11", "10.0.0.1", "10.0.0.1 timeout 1h expires");
        run_ok(s, CONNECTOR_OP_ROLLBACK, "unblock", first, NULL, snap,
               "restored the snapshot: deleted 0, re-added 1");
        json_decref(snap);
        assert_element("t11", "10.0.0.0", "10.0.0.0 timeout 1h expires");
        nft->close(s);
}

static void test_default_timeout_applies(void **state) {
        void *s = nft_open_json("{\"table\":\"t12\",\"default_timeout_s\":120}");
        const char *one[] = {"192.0.2.20", "198.51.100.0/24", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "block", one, NULL, NULL, NULL);
        const char *two[] = {"192.0.2.21", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "block", two, "{\"timeout_s\":30}", NULL, NULL);
        assert_set("t12", "blocklist_v4", "{\"192.0.2.20\":120,\"192.0.2.21\":30}");
        assert_set("t12", "blocknets_v4", "{\"198.51.100.0/24\":120}");
        nft->close(s);
}

/* One action of a batch: verb on targets (NULL-terminated), params JSON or NULL. */
typedef struct batch_item {
        const char *verb;
        const char *const *targets;
        const char *params;
} batch_item;

#define BATCH_TEST_MAX 8

/* Runs apply_batch on items; res[0..n) are filled (the caller clears them). */
static int apply_batch(void *state, const batch_item *items, size_t n, connector_result *res) {
        assert_true(n <= BATCH_TEST_MAX);
        test_action *t[BATCH_TEST_MAX];
        connector_action a[BATCH_TEST_MAX];
        for (size_t i = 0; i < n; i++) {
                t[i] = test_action_new(items[i].verb, TARGET_IP, items[i].targets, items[i].params);
                t[i]->a.action_id = 1000 + (int64_t)i;
                a[i] = t[i]->a;
                res[i] = (connector_result){0};
        }
        int r = nft->apply_batch(state, a, n, res);
        for (size_t i = 0; i < n; i++)
                test_action_free(t[i]);
        return r;
}

/* Result i is ok (or not) with a detail that is (ok) or contains (not ok) text. */
static void assert_result(const connector_result *res, size_t i, bool ok, const char *text) {
        bool match = ok ? strcmp(res[i].detail, text) == 0 : strstr(res[i].detail, text) != NULL;
        if (res[i].ok != ok || !match)
                fail_msg("result %zu: ok %d, detail \"%s\"; expected ok %d, \"%s\"", i, res[i].ok,
                         res[i].detail, ok, text);
}

static void results_clear(connector_result *res, size_t n) {
        for (size_t i = 0; i < n; i++)
                connector_result_clear(&res[i]);
}

static void test_apply_batch_is_one_change_with_a_result_per_action(void **state) {
        void *s = nft_open_json("{\"table\":\"tb1\"}");
        assert_int_equal(test_nft_cmd("add element inet tb1 blocklist_v4 { 192.0.2.3 timeout 900s }"), 0);
        const char *a0[] = {"192.0.2.1", NULL};
        const char *a1[] = {"192.0.2.2", "198.51.100.0/24", "192.0.2.3", NULL};
        const char *a2[] = {"2001:db8::1", "2001:db8:1::/48", NULL};
        /* The same host and network as earlier actions of the batch: one
         * transaction must not add an element twice. */
        const char *a3[] = {"192.0.2.1", "198.51.100.0/24", NULL};
        batch_item items[] = {
                {"block", a0, "{\"timeout_s\":600}"},
                {"block", a1, NULL},
                {"block", a2, "{\"timeout_s\":60}"},
                {"block", a3, "{\"timeout_s\":30}"},
        };
        connector_result res[4];
        assert_int_equal(apply_batch(s, items, 4, res), 0);
        assert_result(res, 0, true, "added 1, already present 0 in inet tb1");
        assert_result(res, 1, true, "added 2, already present 1 in inet tb1");
        assert_result(res, 2, true, "added 2, already present 0 in inet tb1");
        assert_result(res, 3, true, "added 0, already present 2 in inet tb1");
        results_clear(res, 4);
        /* Each element once, with the timeout of the action that added it; the
         * element present before keeps its own. */
        assert_set("tb1", "blocklist_v4", "{\"192.0.2.1\":600,\"192.0.2.2\":0,\"192.0.2.3\":900}");
        assert_set("tb1", "blocknets_v4", "{\"198.51.100.0/24\":0}");
        assert_set("tb1", "blocklist_v6", "{\"2001:db8::1\":60}");
        assert_set("tb1", "blocknets_v6", "{\"2001:db8:1::/48\":60}");
        run_ok(s, CONNECTOR_OP_VERIFY, "block", a1, NULL, NULL, "all 3 target(s) in the set");

        /* unblock in a batch: each present element deleted once, absent ones left. */
        const char *u0[] = {"192.0.2.1", NULL};
        const char *u1[] = {"192.0.2.1", "192.0.2.2", "192.0.2.99", NULL};
        const char *u2[] = {"198.51.100.0/24", NULL};
        const char *u3[] = {"198.51.100.0/24", "2001:db8::1", NULL};
        batch_item unblock[] = {
                {"unblock", u0, NULL}, {"unblock", u1, NULL}, {"unblock", u2, NULL}, {"unblock", u3, NULL}};
        assert_int_equal(apply_batch(s, unblock, 4, res), 0);
        assert_result(res, 0, true, "deleted 1, already absent 0 in inet tb1");
        assert_result(res, 1, true, "deleted 1, already absent 2 in inet tb1");
        assert_result(res, 2, true, "deleted 1, already absent 0 in inet tb1");
        assert_result(res, 3, true, "deleted 1, already absent 1 in inet tb1");
        results_clear(res, 4);
        assert_set("tb1", "blocklist_v4", "{\"192.0.2.3\":900}");
        assert_set("tb1", "blocknets_v4", "{}");
        assert_set("tb1", "blocklist_v6", "{}");
        assert_set("tb1", "blocknets_v6", "{\"2001:db8:1::/48\":60}");
        nft->close(s);
}

static void test_apply_batch_reports_an_invalid_action_alone(void **state) {
        /* An ip table: IPv6 targets have no set there. */
        void *s = nft_open_json("{\"family\":\"ip\",\"table\":\"tb2\"}");
        const char *good1[] = {"192.0.2.5", NULL};
        const char *v6[] = {"2001:db8::5", NULL};
        const char *junk[] = {"192.0.2.6", "not-an-ip", NULL};
        const char *wide[] = {"10.0.0.0/8", NULL};
        const char *good2[] = {"203.0.113.0/24", "192.0.2.7", NULL};
        batch_item items[] = {
                {"block", good1, NULL},          {"block", v6, NULL},
                {"block", junk, NULL},           {"block", wide, NULL},
                {"block", good1, "{\"foo\":1}"}, {"block", good2, "{\"timeout_s\":120}"},
        };
        connector_result res[6];
        assert_int_equal(apply_batch(s, items, 6, res), 0);
        assert_result(res, 0, true, "added 1, already present 0 in ip tb2");
        assert_result(res, 1, false, "targets[0]: a ip table has no IPv6 set");
        assert_result(res, 2, false, "targets[1]: not an IP address");
        assert_result(res, 3, false, "targets[0]: wider than /16");
        assert_result(res, 4, false, "params.foo");
        assert_result(res, 5, true, "added 2, already present 0 in ip tb2");
        for (size_t i = 0; i < 6; i++)
                assert_null(res[i].data);
        results_clear(res, 6);
        /* The refused actions added nothing, not even their valid targets. */
        assert_set_in("ip", "tb2", "blocklist_v4", "{\"192.0.2.5\":0,\"192.0.2.7\":120}");
        assert_set_in("ip", "tb2", "blocknets_v4", "{\"203.0.113.0/24\":120}");

        /* A batch of invalid actions alone changes nothing and still runs. */
        assert_int_equal(apply_batch(s, &items[1], 2, res), 0);
        assert_false(res[0].ok);
        assert_false(res[1].ok);
        results_clear(res, 2);
        assert_set_in("ip", "tb2", "blocklist_v4", "{\"192.0.2.5\":0,\"192.0.2.7\":120}");
        nft->close(s);
}

static void test_apply_batch_refused_changes_nothing(void **state) {
        void *s = nft_open_json("{\"table\":\"tb3\"}");
        const char *net[] = {"198.51.100.0/24", NULL};
        run_ok(s, CONNECTOR_OP_APPLY, "block", net, NULL, NULL, NULL);
        /* The second action's network overlaps the /24: nft refuses the one
         * transaction, so the first action's host is not added either. */
        const char *host[] = {"192.0.2.77", NULL};
        const char *inside[] = {"198.51.100.128/25", NULL};
        const char *v6[] = {"2001:db8::77", NULL};
        batch_item items[] = {{"block", host, NULL}, {"block", inside, NULL}, {"block", v6, NULL}};
        connector_result res[3];
        int r = apply_batch(s, items, 3, res);
        results_clear(res, 3);
        assert_int_equal(r, -EIO);
        assert_set("tb3", "blocklist_v4", "{}");
        assert_set("tb3", "blocklist_v6", "{}");
        assert_set("tb3", "blocknets_v4", "{\"198.51.100.0/24\":0}");
        /* One by one, the two others go through. */
        run_ok(s, CONNECTOR_OP_APPLY, "block", host, NULL, NULL, "added 1, already present 0 in inet tb3");
        run_ok(s, CONNECTOR_OP_APPLY, "block", v6, NULL, NULL, "added 1, already present 0 in inet tb3");
        nft->close(s);
}

/* An action whose lookup fails part way (its IPv6 set was deleted under the
 * worker) is reported failed, with the target and set, and adds nothing; the
 * others still go. */
static void test_apply_batch_failed_lookup_is_reported_alone(void **state) {
        void *s = nft_open_json("{\"table\":\"tb4\"}");
        assert_int_equal(test_nft_cmd("delete set inet tb4 blocklist_v6"), 0);
        const char *mixed[] = {"192.0.2.60", "2001:db8::60", NULL};
        const char *other[] = {"192.0.2.61", NULL};
        batch_item items[] = {{"block", mixed, NULL}, {"block", other, NULL}};
        connector_result res[2];
        assert_int_equal(apply_batch(s, items, 2, res), 0);
        assert_result(res, 0, false, "2001:db8::60 in inet tb4 blocklist_v6");
        assert_result(res, 1, true, "added 1, already present 0 in inet tb4");
        results_clear(res, 2);
        /* The failed action added nothing, not even its IPv4 target. */
        assert_set("tb4", "blocklist_v4", "{\"192.0.2.61\":0}");
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
                cmocka_unit_test(test_open_names_a_set_of_the_wrong_kind),
                cmocka_unit_test(test_block_puts_hosts_in_hash_sets_and_networks_in_interval_sets),
                cmocka_unit_test(test_block_verify_unblock),
                cmocka_unit_test(test_snapshot_and_rollback_restore_exactly),
                cmocka_unit_test(test_block_of_present_element_keeps_its_timeout),
                cmocka_unit_test(test_validate_rejects_bad_actions),
                cmocka_unit_test(test_refused_transaction_is_a_failed_outcome),
                cmocka_unit_test(test_missing_set_is_an_error_not_an_absent_element),
                cmocka_unit_test(test_big_set_answers_per_target),
                cmocka_unit_test(test_default_timeout_applies),
                cmocka_unit_test(test_apply_batch_is_one_change_with_a_result_per_action),
                cmocka_unit_test(test_apply_batch_reports_an_invalid_action_alone),
                cmocka_unit_test(test_apply_batch_refused_changes_nothing),
                cmocka_unit_test(test_apply_batch_failed_lookup_is_reported_alone),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
