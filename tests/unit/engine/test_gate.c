/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the engine's gates (engine/gate.c) with a fake store
 * transaction (fake_store.h): for each gate (plan, planned, in doubt, rollback,
 * the approval request) and each verdict, the state written, the budgets read
 * and charged, the breaker, and the permits minted or withheld. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "connectors/pool.h"
#include "engine/gate.h"
#include "fake_store.h"

#define NOW 1795000000000
#define MINUTE 60000

static const char config_text[] = "api:\n"
                                  "  token_file: /nonexistent/token\n"
                                  "playbook_dir: /nonexistent\n"
                                  "integrations:\n"
                                  "  - name: fw\n"
                                  "    kind: nft\n"
                                  "governor:\n"
                                  "  protected:\n"
                                  "    ips: [10.0.0.0/8]\n"
                                  "  rate_limits:\n"
                                  "    nft.block: {per_minute: 2}\n"
                                  "approvals:\n"
                                  "  timeout_s: 600\n"
                                  "  valid_s: 300\n";

typedef struct fixture {
        bw_config *cfg;
        store_tx tx;
        gate_txn g;
        batch_alert *batches[8];
        size_t n_batches;
        playbook *books[8];
        size_t n_books;
} fixture;

static int setup(void **state) {
        fixture *f = calloc(1, sizeof(*f));
        bw_error err;
        assert_int_equal(config_parse(config_text, strlen(config_text), "/tmp/bulwark.yaml", &f->cfg, &err),
                         0);
        gate_txn_init(&f->g, f->cfg, NOW);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        fixture *f = *state;
        gate_txn_clear(&f->g);
        for (size_t i = 0; i < f->n_batches; i++)
                batch_free(f->batches[i], 1);
        for (size_t i = 0; i < f->n_books; i++)
                playbook_free(f->books[i]);
        fake_tx_clear(&f->tx);
        config_free(f->cfg);
        free(f);
        return 0;
}

/* A playbook of one nft step, authored by alice. */
static playbook *book(fixture *f, int level, const char *verb) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "name: p%zu\nversion: 1\nauthor: alice\ntrigger:\n  type: ssh.bruteforce\n"
                 "automation_level: %d\nsteps:\n"
                 "  - id: s\n    action: nft.%s\n    integration: fw\n    targets: alert.observables.ips\n",
                 f->n_books, level, verb);
        playbook *p = NULL;
        bw_error err;
        assert_int_equal(playbook_parse(text, strlen(text), "t.yaml", &p, &err), 0);
        f->books[f->n_books++] = p;
        return p;
}

/* The one action of playbook p planned for an alert naming ips (a JSON array),
 * sent by siem; journaled as action id in state. */
static batch_action *plan(fixture *f, playbook *p, const char *ips, int64_t id, action_state st,
                          store_action *ret_stored) {
        char json[512];
        snprintf(json, sizeof(json),
                 "{\"source\":\"sshd\",\"type\":\"ssh.bruteforce\",\"severity\":\"high\","
                 "\"observables\":{\"ips\":%s}}",
                 ips);
        store_claimed c = {.id = id, .json = strdup(json), .len = strlen(json), .attempts = 1};
        snprintf(c.type, sizeof(c.type), "ssh.bruteforce");
        snprintf(c.submitted_by, sizeof(c.submitted_by), "siem");
        playbook_set set = {.items = &p, .n = 1};
        batch_alert *b = NULL;
        assert_int_equal(plan_batch(&set, f->cfg, &c, 1, &b), 0);
        f->batches[f->n_batches++] = b;
        assert_int_equal(b->n_execs, 1);
        b->execs[0].exec_id = 1;
        *ret_stored = (store_action){.id = id, .state = st};
        return &b->execs[0].actions[0];
}

/* Plans and gates one action. */
static batch_action *gate(fixture *f, playbook *p, const char *ips, int64_t id, action_state st) {
        store_action stored;
        batch_action *a = plan(f, p, ips, id, st, &stored);
        assert_int_equal(gate_action(&f->tx, &f->g, a, &stored), 0);
        return a;
}

/* Whether a holds a valid permit for op on exactly what it will act on. */
static bool permitted(const batch_action *a, permit_op op) {
        connector_action ca = batch_action_call(a);
        permit_subject s = connector_permit_subject(a->integration->name, op, &ca);
        return governor_permit_valid(&a->permits[op], &s);
}

static const fake_action *written(const fixture *f, int64_t id) {
        assert_true(f->tx.actions[id].written);
        return &f->tx.actions[id];
}

static uint64_t charged(fixture *f) {
        assert_int_equal(gate_txn_flush(&f->tx, &f->g), 0);
        const fake_budget *b = fake_budget_get(&f->tx, "nft.block", MINUTE);
        return b ? b->charged : 0;
}

/* --- gate_plan: no live state ---------------------------------------------------------- */

static void test_plan_states_by_verdict(void **state) {
        fixture *f = *state;
        store_action st;
        assert_int_equal(
                plan(f, book(f, 2, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED, &st)->initial_state,
                ACTION_RECOMMENDED);
        assert_int_equal(
                plan(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 2, ACTION_PLANNED, &st)->initial_state,
                ACTION_PLANNED);
        batch_action *denied = plan(f, book(f, 3, "block"), "[\"10.1.2.3\"]", 3, ACTION_PLANNED, &st);
        assert_int_equal(denied->initial_state, ACTION_DENIED);
        assert_non_null(strstr(denied->detail, "protected_asset: "));
        batch_action *four = plan(f, book(f, 4, "block"), "[\"192.0.2.1\"]", 4, ACTION_PLANNED, &st);
        assert_int_equal(four->initial_state, ACTION_AWAITING_APPROVAL);
        assert_true(four->needs_approval);
        const json_t *reasons = four->exec->approval_reasons;
        assert_int_equal(json_array_size(reasons), 1);
        assert_string_equal(json_string_value(json_array_get(reasons, 0)), "automation level 4");
        assert_int_equal(f->tx.breaker_reads, 0); /* planning reads no state */
}

/* --- the planned gate ------------------------------------------------------------------ */

static void test_allowed_actions_enter_intent_with_their_permits(void **state) {
        fixture *f = *state;
        playbook *p = book(f, 3, "block");
        batch_action *a = gate(f, p, "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        batch_action *b = gate(f, p, "[\"192.0.2.2\"]", 2, ACTION_PLANNED);
        for (size_t i = 0; i < 2; i++) {
                batch_action *x = i == 0 ? a : b;
                assert_true(x->run);
                assert_int_equal(x->final_state, ACTION_INTENT);
                assert_int_equal(written(f, x->stored.id)->state, ACTION_INTENT);
                assert_true(permitted(x, PERMIT_APPLY));
                assert_true(permitted(x, PERMIT_ROLLBACK));
        }
        /* A permit is for one operation of one action. */
        b->permits[PERMIT_APPLY] = a->permits[PERMIT_APPLY];
        assert_false(permitted(b, PERMIT_APPLY));
        a->permits[PERMIT_APPLY] = a->permits[PERMIT_ROLLBACK];
        assert_false(permitted(a, PERMIT_APPLY));
        /* The breaker and the budget are read once per transaction, charged once. */
        assert_int_equal(f->tx.breaker_reads, 1);
        assert_int_equal(fake_budget_get(&f->tx, "nft.block", MINUTE)->reads, 1);
        assert_int_equal(charged(f), 2);
        assert_int_equal(fake_budget_get(&f->tx, "nft.block", MINUTE)->charges, 1);
}

static void test_denied_targets_are_journaled_uncharged_without_permit(void **state) {
        fixture *f = *state;
        playbook *p = book(f, 3, "block");
        /* The protected list grew between planning and this transaction. */
        batch_action *prot = gate(f, p, "[\"10.1.2.3\"]", 1, ACTION_PLANNED);
        batch_action *wide = gate(f, p, "[\"192.0.2.0/26\"]", 2, ACTION_PLANNED);
        assert_false(prot->run);
        assert_int_equal(written(f, 1)->state, ACTION_DENIED);
        assert_non_null(strstr(written(f, 1)->detail, "protected_asset: "));
        assert_false(wide->run);
        assert_int_equal(written(f, 2)->state, ACTION_DENIED);
        assert_non_null(strstr(written(f, 2)->detail, "over_ceiling: "));
        assert_false(permitted(prot, PERMIT_APPLY));
        assert_false(permitted(wide, PERMIT_APPLY));
        assert_int_equal(charged(f), 0);
}

static void test_open_breaker_degrades_to_a_recommendation(void **state) {
        fixture *f = *state;
        f->tx.breaker_open = true;
        batch_action *a = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        assert_false(a->run);
        assert_int_equal(written(f, 1)->state, ACTION_RECOMMENDED);
        assert_non_null(strstr(written(f, 1)->detail, "circuit breaker open"));
        assert_false(permitted(a, PERMIT_APPLY));
        assert_int_equal(charged(f), 0);
        assert_int_equal(f->tx.breaker_opens, 0);
}

static void test_spent_budget_opens_the_breaker_once(void **state) {
        fixture *f = *state;
        fake_budget_set(&f->tx, "nft.block", MINUTE, 1); /* one of two left */
        playbook *p = book(f, 3, "block");
        batch_action *a = gate(f, p, "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        batch_action *b = gate(f, p, "[\"192.0.2.2\"]", 2, ACTION_PLANNED);
        batch_action *c = gate(f, p, "[\"192.0.2.3\"]", 3, ACTION_PLANNED);
        assert_true(a->run);
        assert_false(b->run);
        assert_false(c->run);
        assert_int_equal(written(f, 2)->state, ACTION_RECOMMENDED);
        assert_non_null(strstr(written(f, 2)->detail, "rate limit nft.block: 2 actions per minute spent"));
        assert_non_null(strstr(written(f, 2)->detail, "circuit breaker open"));
        assert_int_equal(written(f, 3)->state, ACTION_RECOMMENDED);
        assert_int_equal(f->tx.breaker_opens, 1);
        assert_non_null(strstr(f->tx.breaker_reason, "rate limit nft.block"));
        assert_string_equal(f->g.breaker_opened, f->tx.breaker_reason);
        assert_int_equal(charged(f), 1); /* only the one that runs */
}

static void test_live_effect_in_the_store_satisfies(void **state) {
        fixture *f = *state;
        f->tx.live[f->tx.n_live++] = "192.0.2.1";
        f->tx.live_until_ms = INT64_MAX;
        f->tx.live_by = 9;
        batch_action *a = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        assert_false(a->run);
        assert_int_equal(written(f, 1)->state, ACTION_SATISFIED);
        assert_string_equal(written(f, 1)->detail, "already in effect through action 9");
        assert_int_equal(charged(f), 0);
        /* An effect that ends before this one would is no cover. */
        f->tx.live_until_ms = NOW + 1000;
        batch_action *b = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 2, ACTION_PLANNED);
        assert_true(b->run);
}

static void test_same_target_in_one_batch_folds_into_the_first(void **state) {
        fixture *f = *state;
        playbook *p = book(f, 3, "block");
        batch_action *lead = gate(f, p, "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        batch_action *again = gate(f, p, "[\"192.0.2.1\"]", 2, ACTION_PLANNED);
        batch_action *part = gate(f, p, "[\"192.0.2.1\",\"192.0.2.9\"]", 3, ACTION_PLANNED);
        assert_true(lead->run);
        assert_false(again->run);
        assert_ptr_equal(again->folded_into, lead);
        assert_int_equal(written(f, 2)->state, ACTION_SATISFIED);
        assert_string_equal(written(f, 2)->detail, "already applied in this batch by action 1");
        assert_true(part->run); /* one target is new: not covered */
        assert_null(part->folded_into);
        assert_int_equal(charged(f), 2);
}

static void test_a_later_verb_supersedes_a_fold(void **state) {
        fixture *f = *state;
        batch_action *block = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        batch_action *unblock = gate(f, book(f, 3, "unblock"), "[\"192.0.2.1\"]", 2, ACTION_PLANNED);
        batch_action *reblock = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 3, ACTION_PLANNED);
        assert_true(block->run);
        assert_true(unblock->run);
        assert_true(reblock->run); /* the unblock undid the first block */
        assert_null(reblock->folded_into);
        assert_int_equal(charged(f), 2);
}

/* --- approvals --------------------------------------------------------------------------- */

static void test_awaiting_approval_requests_one_with_every_requester(void **state) {
        fixture *f = *state;
        approval_actors_add(&f->tx.exec_requesters, "carol"); /* ran a recommendation */
        batch_action *a = gate(f, book(f, 4, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        assert_false(a->run);
        assert_int_equal(written(f, 1)->state, ACTION_AWAITING_APPROVAL);
        assert_string_equal(written(f, 1)->detail, "needs an approval before it runs");
        batch_alert *ba = f->batches[0];
        assert_int_equal(gate_approval_request(&f->tx, &f->g, ba, &ba->execs[0]), 0);
        assert_int_equal(f->tx.approval_requests, 1);
        assert_int_equal(ba->execs[0].approval_id, 100);
        const store_approval_request *q = &f->tx.last_request;
        assert_true(approval_actors_has(q->requesters, "siem"));
        assert_true(approval_actors_has(q->requesters, "carol"));
        assert_string_equal(q->author, "alice");
        assert_int_equal(q->required, 1);
        assert_int_equal(q->requested_at_ms, NOW);
        assert_int_equal(q->expires_at_ms, NOW + 600 * 1000);
        assert_non_null(strstr(q->reasons_json, "automation level 4"));
        /* Pending: asked once. */
        ba->execs[0].approval_id = 0;
        assert_int_equal(gate_approval_request(&f->tx, &f->g, ba, &ba->execs[0]), 0);
        assert_int_equal(f->tx.approval_requests, 1);
        assert_int_equal(ba->execs[0].approval_id, 0);
        assert_int_equal(charged(f), 0);
}

static void grant(fixture *f, int64_t decided_at_ms) {
        f->tx.has_approval = true;
        f->tx.approval =
                (approval_record){.state = APPROVAL_APPROVED, .required = 1, .decided_at_ms = decided_at_ms};
        approval_actors_add(&f->tx.approval.requesters, "siem");
        approval_actors_add(&f->tx.approval.approved_by, "bob");
}

static void test_granted_approval_runs_the_action(void **state) {
        fixture *f = *state;
        grant(f, NOW - 1000);
        batch_action *a = gate(f, book(f, 4, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        assert_true(a->run);
        assert_int_equal(written(f, 1)->state, ACTION_INTENT);
        assert_true(permitted(a, PERMIT_APPLY));
        assert_int_equal(charged(f), 1);
}

static void test_lapsed_approval_is_asked_again(void **state) {
        fixture *f = *state;
        grant(f, NOW - 301 * 1000); /* valid_s is 300 */
        batch_action *a = gate(f, book(f, 4, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        assert_false(a->run);
        assert_int_equal(written(f, 1)->state, ACTION_AWAITING_APPROVAL);
        assert_non_null(strstr(written(f, 1)->detail, "its approval lapsed"));
        batch_alert *ba = f->batches[0];
        assert_int_equal(gate_approval_request(&f->tx, &f->g, ba, &ba->execs[0]), 0);
        assert_int_equal(f->tx.approval_requests, 1); /* renewed */
        assert_int_equal(f->tx.approval.state, APPROVAL_PENDING);
}

static void test_an_approval_by_a_requester_is_no_approval(void **state) {
        fixture *f = *state;
        grant(f, NOW - 1000);
        approval_actors_add(&f->tx.approval.requesters, "bob"); /* bob ran it, then approved it */
        batch_action *a = gate(f, book(f, 4, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        assert_false(a->run);
        assert_int_equal(written(f, 1)->state, ACTION_AWAITING_APPROVAL);
}

static void test_released_recommendation_runs_through_the_governor(void **state) {
        fixture *f = *state;
        /* Level 2 reaches PLANNED only when an analyst ran it. */
        batch_action *a = gate(f, book(f, 2, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED);
        assert_true(a->run);
        assert_int_equal(charged(f), 1);
        batch_action *b = gate(f, book(f, 2, "block"), "[\"10.0.0.1\"]", 2, ACTION_PLANNED);
        assert_false(b->run);
        assert_int_equal(written(f, 2)->state, ACTION_DENIED);
}

/* --- the in-doubt gate ------------------------------------------------------------------ */

static void test_in_doubt_action_is_run_again_with_its_journaled_snapshot(void **state) {
        fixture *f = *state;
        const char snap[] = "{\"snapshot\":{\"present\":[]}}";
        f->tx.actions[1].result_json = strdup(snap);
        batch_action *a = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 1, ACTION_INTENT);
        assert_true(a->in_doubt);
        assert_true(a->run);
        assert_false(a->verify_only);
        assert_string_equal(a->result_json, snap);
        assert_true(permitted(a, PERMIT_APPLY));
        assert_false(f->tx.actions[1].written); /* its state stays INTENT */
        assert_int_equal(charged(f), 0);        /* charged when it first entered INTENT */
}

static void test_in_doubt_under_an_open_breaker_is_verified_only(void **state) {
        fixture *f = *state;
        f->tx.breaker_open = true;
        batch_action *a = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 1, ACTION_INTENT);
        assert_true(a->run);
        assert_true(a->verify_only);
        assert_int_equal(a->if_absent, ACTION_RECOMMENDED);
        assert_false(permitted(a, PERMIT_APPLY));
        batch_action *b = gate(f, book(f, 3, "block"), "[\"10.9.9.9\"]", 2, ACTION_INTENT);
        assert_true(b->verify_only);
        assert_int_equal(b->if_absent, ACTION_DENIED);
        assert_non_null(strstr(b->detail, "protected_asset: "));
}

/* --- the rollback gate ------------------------------------------------------------------ */

static const char snapshot[] = "{\"snapshot\":{\"present\":[]},\"applied\":true}";

static void test_rollback_gets_the_rollback_permit_only(void **state) {
        fixture *f = *state;
        f->tx.breaker_open = true;                       /* a rollback only narrows */
        fake_budget_set(&f->tx, "nft.block", MINUTE, 2); /* and is charged nothing */
        f->tx.actions[1].result_json = strdup(snapshot);
        batch_action *a = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 1, ACTION_ROLLBACK_REQUESTED);
        assert_true(a->run);
        assert_true(a->rollback);
        assert_false(a->rollback_refused);
        assert_non_null(a->rollback_snapshot);
        assert_true(json_is_array(json_object_get(a->rollback_snapshot, "present")));
        assert_string_equal(a->result_json, snapshot);
        assert_true(permitted(a, PERMIT_ROLLBACK));
        assert_false(permitted(a, PERMIT_APPLY));
        assert_int_equal(charged(f), 0);
}

static void test_rollback_of_a_now_protected_target_is_refused(void **state) {
        fixture *f = *state;
        f->tx.actions[1].result_json = strdup(snapshot);
        batch_action *a = gate(f, book(f, 3, "block"), "[\"10.1.1.1\"]", 1, ACTION_ROLLBACK_REQUESTED);
        assert_true(a->rollback_refused);
        assert_non_null(strstr(a->detail, "protected_asset: "));
        assert_false(permitted(a, PERMIT_ROLLBACK));
}

static void test_rollback_leaves_targets_another_action_holds(void **state) {
        fixture *f = *state;
        f->tx.actions[1].result_json = strdup(snapshot);
        f->tx.live[f->tx.n_live++] = "192.0.2.2";
        f->tx.live_by = 9;
        batch_action *a =
                gate(f, book(f, 3, "block"), "[\"192.0.2.1\",\"192.0.2.2\"]", 1, ACTION_ROLLBACK_REQUESTED);
        assert_true(a->rollback_partial);
        assert_int_equal(a->rendered.targets.n, 1);
        assert_string_equal(a->rendered.targets.items[0], "192.0.2.1");
        assert_string_equal(a->detail, "1 of 2 target(s) left in place: still held by action 9");
        assert_true(permitted(a, PERMIT_ROLLBACK)); /* for the one it rolls back */
}

static void test_rollback_without_a_snapshot_has_no_permit(void **state) {
        fixture *f = *state;
        batch_action *a = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 1, ACTION_ROLLBACK_REQUESTED);
        assert_true(a->run);
        assert_true(a->rollback);
        assert_null(a->rollback_snapshot);
        assert_false(permitted(a, PERMIT_ROLLBACK));
}

/* --- anything else ----------------------------------------------------------------------- */

static void test_decided_actions_run_nothing(void **state) {
        fixture *f = *state;
        const action_state done[] = {ACTION_APPLIED, ACTION_DENIED, ACTION_RECOMMENDED, ACTION_FAILED,
                                     ACTION_SATISFIED};
        for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++) {
                batch_action *a = gate(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 1, done[i]);
                assert_false(a->run);
                assert_int_equal(a->final_state, done[i]);
        }
        assert_false(f->tx.actions[1].written);
        assert_int_equal(f->tx.breaker_reads, 0);
}

static void test_a_store_error_runs_nothing(void **state) {
        fixture *f = *state;
        f->tx.fail_errno = EIO;
        store_action stored;
        batch_action *a = plan(f, book(f, 3, "block"), "[\"192.0.2.1\"]", 1, ACTION_PLANNED, &stored);
        assert_int_equal(gate_action(&f->tx, &f->g, a, &stored), -EIO);
        assert_false(a->run);
        assert_false(permitted(a, PERMIT_APPLY));
        assert_int_equal(gate_txn_flush(&f->tx, &f->g), 0); /* nothing to charge */
}

int main(void) {
        const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
                T(test_plan_states_by_verdict),
                T(test_allowed_actions_enter_intent_with_their_permits),
                T(test_denied_targets_are_journaled_uncharged_without_permit),
                T(test_open_breaker_degrades_to_a_recommendation),
                T(test_spent_budget_opens_the_breaker_once),
                T(test_live_effect_in_the_store_satisfies),
                T(test_same_target_in_one_batch_folds_into_the_first),
                T(test_a_later_verb_supersedes_a_fold),
                T(test_awaiting_approval_requests_one_with_every_requester),
                T(test_granted_approval_runs_the_action),
                T(test_lapsed_approval_is_asked_again),
                T(test_an_approval_by_a_requester_is_no_approval),
                T(test_released_recommendation_runs_through_the_governor),
                T(test_in_doubt_action_is_run_again_with_its_journaled_snapshot),
                T(test_in_doubt_under_an_open_breaker_is_verified_only),
                T(test_rollback_gets_the_rollback_permit_only),
                T(test_rollback_of_a_now_protected_target_is_refused),
                T(test_rollback_leaves_targets_another_action_holds),
                T(test_rollback_without_a_snapshot_has_no_permit),
                T(test_decided_actions_run_nothing),
                T(test_a_store_error_runs_nothing),
#undef T
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
