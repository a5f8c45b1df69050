/* SPDX-License-Identifier: Apache-2.0 */
/* A fake store transaction for the unit tests of engine/gate.c: the store_tx_*
 * calls the gates make, answered from the fields below and recorded there, so
 * that a test sets the state (breaker, budgets used, approval, live effects)
 * and asserts on what the gates wrote. Linked instead of src/store. */
#pragma once

#include "store/store.h"

#define FAKE_ACTIONS_MAX 16
#define FAKE_BUDGETS_MAX 16
#define FAKE_TARGETS_MAX 8

typedef struct fake_action {
        bool written;
        action_state state;
        char detail[1024];
        char *result_json; /* as written, or as set up for store_tx_action_result */
} fake_action;

typedef struct fake_budget {
        char key[64];
        int64_t window_ms;
        uint64_t used;    /* set up: used before the transaction */
        unsigned reads;   /* store_tx_budget_used calls */
        unsigned charges; /* store_tx_budget_charge calls */
        uint64_t charged; /* their sum */
} fake_budget;

struct store_tx {
        int fail_errno; /* every call fails with it when non-zero */
        bool breaker_open;
        unsigned breaker_reads, breaker_opens;
        char breaker_reason[1024];
        fake_budget budgets[FAKE_BUDGETS_MAX];
        size_t n_budgets;
        fake_action actions[FAKE_ACTIONS_MAX]; /* by action id */
        /* The execution's approval request (one execution per test). */
        bool has_approval;
        approval_record approval;
        unsigned approval_requests;
        store_approval_request last_request;
        approval_actors last_requesters;
        char last_reasons[1024];         /* the request's reasons_json, copied */
        approval_actors exec_requesters; /* store_tx_exec_requesters adds these */
        /* Live effects of other actions: targets held, by action covered_by. */
        const char *live[FAKE_TARGETS_MAX];
        size_t n_live;
        int64_t live_until_ms; /* until when they last (INT64_MAX: for good) */
        int64_t live_by;
};

/* Sets budget key/window's used count before the transaction. */
void fake_budget_set(store_tx *tx, const char *key, int64_t window_ms, uint64_t used);

/* Budget key/window as the gates left it (NULL if they never read it). */
const fake_budget *fake_budget_get(const store_tx *tx, const char *key, int64_t window_ms);

/* Frees what the gates wrote. */
void fake_tx_clear(store_tx *tx);
