/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the engine's planning (engine/plan.c): which playbooks match a
 * claimed alert, the actions rendered for each step, and the journal state each
 * action starts in by automation level. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/batch.h"

static const char config_text[] = "api:\n"
                                  "  token_file: /nonexistent/token\n"
                                  "playbook_dir: /nonexistent\n"
                                  "integrations:\n"
                                  "  - name: fw\n"
                                  "    kind: nft\n"
                                  "  - name: chat\n"
                                  "    kind: notify\n"
                                  "    settings:\n"
                                  "      url: https://chat.example/hook\n";

static playbook *book(int level, const char *name) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "name: %s\nversion: 3\ntrigger:\n  type: ssh.bruteforce\n  min_severity: high\n"
                 "automation_level: %d\nsteps:\n"
                 "  - id: block\n    action: nft.block\n    integration: fw\n    targets: "
                 "alert.observables.ips\n"
                 "  - id: tell\n    action: notify.send\n    integration: chat\n",
                 name, level);
        playbook *p = NULL;
        bw_error err;
        assert_int_equal(playbook_parse(text, strlen(text), "t.yaml", &p, &err), 0);
        return p;
}

typedef struct fixture {
        bw_config *cfg;
        playbook *books[4];
        playbook_set set;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        bw_error err;
        assert_int_equal(config_parse(config_text, strlen(config_text), "/tmp/bulwark.yaml", &f->cfg, &err),
                         0);
        f->books[0] = book(1, "one");
        f->books[1] = book(2, "two");
        f->books[2] = book(3, "three");
        f->books[3] = book(4, "four");
        f->set.items = f->books;
        f->set.n = 4;
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        for (size_t i = 0; i < 4; i++)
                playbook_free(f->books[i]);
        config_free(f->cfg);
        free(f);
        return 0;
}

static store_claimed claimed(int64_t id, const char *type, const char *json) {
        store_claimed c = {.id = id,
                           .json = strdup(json),
                           .len = strlen(json),
                           .received_at_ms = 1795000000000,
                           .attempts = 1};
        snprintf(c.type, sizeof(c.type), "%s", type);
        return c;
}

static void test_levels_set_initial_states(void **state) {
        fixture *f = *state;
        store_claimed c[1] = {
                claimed(7, "ssh.bruteforce",
                        "{\"source\":\"sshd\",\"type\":\"ssh.bruteforce\",\"severity\":\"high\","
                        "\"observables\":{\"ips\":[\"192.0.2.1\",\"192.0.2.2\"]}}")};
        batch_alert *b = NULL;
        assert_int_equal(plan_batch(&f->set, f->cfg, c, 1, &b), 0);
        assert_null(c[0].json); /* ownership moved into the batch */
        assert_int_equal(b[0].n_execs, 4);
        const action_state want[4] = {ACTION_SKIPPED, ACTION_RECOMMENDED, ACTION_PLANNED,
                                      ACTION_AWAITING_APPROVAL};
        for (size_t e = 0; e < 4; e++) {
                batch_exec *ex = &b[0].execs[e];
                assert_int_equal(ex->n_actions, 2);
                assert_int_equal(ex->actions[0].initial_state, want[e]);
                assert_string_equal(ex->actions[0].targets_json, "[\"192.0.2.1\",\"192.0.2.2\"]");
                assert_string_equal(ex->actions[0].integration->name, "fw");
                assert_string_equal(ex->actions[1].targets_json, "[]");
                assert_string_equal(ex->actions[1].integration->kind, "notify");
        }
        /* The same step for another playbook is another action: another key. */
        assert_string_not_equal(b[0].execs[2].actions[0].rendered.idempotency_key,
                                b[0].execs[3].actions[0].rendered.idempotency_key);
        batch_free(b, 1);
}

static void test_step_without_targets_in_alert_is_skipped(void **state) {
        fixture *f = *state;
        store_claimed c[1] = {
                claimed(8, "ssh.bruteforce",
                        "{\"source\":\"sshd\",\"type\":\"ssh.bruteforce\",\"severity\":\"critical\"}")};
        batch_alert *b = NULL;
        assert_int_equal(plan_batch(&f->set, f->cfg, c, 1, &b), 0);
        batch_exec *three = &b[0].execs[2];
        assert_string_equal(three->playbook->name, "three");
        assert_int_equal(three->actions[0].initial_state, ACTION_SKIPPED); /* nothing to block */
        assert_int_equal(three->actions[1].initial_state,
                         ACTION_PLANNED); /* a notification needs no target */
        batch_free(b, 1);
}

static void test_non_matching_and_unparseable_alerts_have_no_executions(void **state) {
        fixture *f = *state;
        store_claimed c[3] = {
                claimed(9, "ssh.bruteforce",
                        "{\"source\":\"sshd\",\"type\":\"ssh.bruteforce\",\"severity\":\"medium\"}"),
                claimed(10, "port.scan",
                        "{\"source\":\"ids\",\"type\":\"port.scan\",\"severity\":\"critical\"}"),
                claimed(11, "ssh.bruteforce",
                        "{\"source\":\"sshd\",\"type\":\"ssh.bruteforce\",\"severity\":\"high\",\"x\":1}"),
        };
        batch_alert *b = NULL;
        assert_int_equal(plan_batch(&f->set, f->cfg, c, 3, &b), 0);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(b[i].n_execs, 0);
        assert_non_null(b[0].alert); /* parsed: a playbook answers its type, not its severity */
        assert_null(b[1].alert);     /* no playbook answers port.scan: not even parsed */
        assert_null(b[2].alert);     /* invalid body: logged, finished without action */
        batch_free(b, 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_levels_set_initial_states),
                cmocka_unit_test(test_step_without_targets_in_alert_is_skipped),
                cmocka_unit_test(test_non_matching_and_unparseable_alerts_have_no_executions),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
