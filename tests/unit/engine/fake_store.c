/* SPDX-License-Identifier: Apache-2.0 */
/* The fake store transaction of fake_store.h. */
#include "fake_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fake_budget *budget_find(store_tx *tx, const char *key, int64_t window_ms, bool add) {
        for (size_t i = 0; i < tx->n_budgets; i++)
                if (tx->budgets[i].window_ms == window_ms && strcmp(tx->budgets[i].key, key) == 0)
                        return &tx->budgets[i];
        if (!add || tx->n_budgets == FAKE_BUDGETS_MAX)
                return NULL;
        fake_budget *b = &tx->budgets[tx->n_budgets++];
        snprintf(b->key, sizeof(b->key), "%s", key);
        b->window_ms = window_ms;
        return b;
}

void fake_budget_set(store_tx *tx, const char *key, int64_t window_ms, uint64_t used) {
        budget_find(tx, key, window_ms, true)->used = used;
}

const fake_budget *fake_budget_get(const store_tx *tx, const char *key, int64_t window_ms) {
        return budget_find((store_tx *)tx, key, window_ms, false);
}

void fake_tx_clear(store_tx *tx) {
        for (size_t i = 0; i < FAKE_ACTIONS_MAX; i++)
                free(tx->actions[i].result_json);
        *tx = (store_tx){0};
}

static fake_action *action_of(store_tx *tx, int64_t id) {
        return id >= 0 && id < FAKE_ACTIONS_MAX ? &tx->actions[id] : NULL;
}

int store_tx_action_set(store_tx *tx, int64_t action_id, action_state state, const char *detail,
                        const char *result_json) {
        fake_action *a = action_of(tx, action_id);
        if (tx->fail_errno)
                return -tx->fail_errno;
        if (!a)
                return -ENOENT;
        if (state == ACTION_PLANNED)
                return -EINVAL;
        a->written = true;
        a->state = state;
        snprintf(a->detail, sizeof(a->detail), "%s", detail ? detail : "");
        free(a->result_json);
        a->result_json = result_json ? strdup(result_json) : NULL;
        return 0;
}

int store_tx_action_result(store_tx *tx, int64_t action_id, char **ret) {
        fake_action *a = action_of(tx, action_id);
        if (tx->fail_errno)
                return -tx->fail_errno;
        if (!a)
                return -ENOENT;
        *ret = a->result_json ? strdup(a->result_json) : NULL;
        return a->result_json && !*ret ? -ENOMEM : 0;
}

/* The entry of budget b for a call that may fail as the fake is told. */
static int budget_call(store_tx *tx, const store_budget *b, fake_budget **ret) {
        if (tx->fail_errno)
                return -tx->fail_errno;
        *ret = budget_find(tx, b->key, b->window_ms, true);
        return *ret ? 0 : -ENOSPC;
}

int store_tx_budget_used(store_tx *tx, const store_budget *b, int64_t now_ms, uint64_t *ret) {
        (void)now_ms;
        fake_budget *e = NULL;
        int r = budget_call(tx, b, &e);
        if (r < 0)
                return r;
        e->reads++;
        *ret = e->used + e->charged;
        return 0;
}

int store_tx_budget_charge(store_tx *tx, const store_budget *b, int64_t now_ms, uint64_t n) {
        (void)now_ms;
        fake_budget *e = NULL;
        int r = budget_call(tx, b, &e);
        if (r < 0)
                return r;
        e->charges++;
        e->charged += n;
        return 0;
}

int store_tx_breaker_is_open(store_tx *tx, bool *ret_open) {
        if (tx->fail_errno)
                return -tx->fail_errno;
        tx->breaker_reads++;
        *ret_open = tx->breaker_open;
        return 0;
}

int store_tx_breaker_open(store_tx *tx, const char *reason) {
        if (tx->fail_errno)
                return -tx->fail_errno;
        if (tx->breaker_open)
                return 0;
        tx->breaker_open = true;
        tx->breaker_opens++;
        snprintf(tx->breaker_reason, sizeof(tx->breaker_reason), "%s", reason);
        return 1;
}

int store_tx_approval_get(store_tx *tx, int64_t exec_id, approval_record *ret, int64_t *ret_id) {
        if (tx->fail_errno)
                return -tx->fail_errno;
        if (!tx->has_approval)
                return -ENOENT;
        *ret = tx->approval;
        if (ret_id)
                *ret_id = exec_id * 100;
        return 0;
}

/* As the store: created when absent, renewed when decided, kept when pending. */
int store_tx_approval_request(store_tx *tx, const store_approval_request *r, int64_t *ret_id) {
        if (tx->fail_errno)
                return -tx->fail_errno;
        *ret_id = r->exec_id * 100;
        if (tx->has_approval && tx->approval.state == APPROVAL_PENDING)
                return 0;
        tx->approval_requests++;
        tx->last_request = *r;
        tx->last_requesters = *r->requesters;
        tx->last_request.requesters = &tx->last_requesters;
        snprintf(tx->last_reasons, sizeof(tx->last_reasons), "%s", r->reasons_json);
        tx->last_request.reasons_json = tx->last_reasons;
        tx->has_approval = true;
        tx->approval = (approval_record){.state = APPROVAL_PENDING,
                                         .requesters = *r->requesters,
                                         .required = r->required,
                                         .expires_at_ms = r->expires_at_ms};
        snprintf(tx->approval.author, sizeof(tx->approval.author), "%s", r->author ? r->author : "");
        return 1;
}

int store_tx_exec_requesters(store_tx *tx, int64_t exec_id, approval_actors *ret) {
        (void)exec_id;
        if (tx->fail_errno)
                return -tx->fail_errno;
        for (size_t i = 0; i < tx->exec_requesters.n; i++) {
                int r = approval_actors_add(ret, tx->exec_requesters.names[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool live(const store_tx *tx, const char *target) {
        for (size_t i = 0; i < tx->n_live; i++)
                if (strcmp(tx->live[i], target) == 0)
                        return true;
        return false;
}

int store_tx_effects_cover(store_tx *tx, const char *integration, const char *verb, char *const *targets,
                           size_t n, int64_t until_ms, int64_t *ret_by) {
        (void)integration;
        (void)verb;
        if (tx->fail_errno)
                return -tx->fail_errno;
        if (tx->live_until_ms < until_ms)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!live(tx, targets[i]))
                        return 0;
        *ret_by = tx->live_by;
        return 1;
}

int store_tx_effects_held(store_tx *tx, const char *integration, const char *verb, char *const *targets,
                          size_t n, int64_t action_id, bool *held, int64_t *ret_by) {
        (void)integration;
        (void)verb;
        if (tx->fail_errno)
                return -tx->fail_errno;
        for (size_t i = 0; i < n; i++) {
                held[i] = tx->live_by != action_id && live(tx, targets[i]);
                if (held[i])
                        *ret_by = tx->live_by;
        }
        return 0;
}

void store_claimed_clear(store_claimed *c, size_t n) {
        for (size_t i = 0; c && i < n; i++) {
                free(c[i].json);
                c[i] = (store_claimed){0};
        }
}
