/* SPDX-License-Identifier: Apache-2.0 */
/* The engine's gates: where the governor's verdict meets the journal. For each
 * action of a claimed batch the gate reads the state the governor needs (once per
 * write transaction for the breaker and the budgets), calls governor_decide,
 * and writes the outcome — the action's state, the budgets charged, the breaker
 * opened, the approval requested — in the same writer transaction, so budgets
 * stay atomic. Every permit is minted here and nowhere else (grep
 * governor_permit_mint). Internal to engine/; runs in the engine worker threads
 * and, for the drill's and the notifications' permits, in the HTTP and sweeper
 * threads. */
#pragma once

#include "engine/batch.h"

/* What the gates read once per write transaction, and what they charged in it. */
typedef struct gate_budget {
        const char *key;
        rate_window window;
        uint64_t used;    /* in the window that ends at now_ms, as read plus charged so far */
        uint64_t charged; /* by this transaction, written by gate_txn_flush */
} gate_budget;

typedef struct gate_txn {
        const bw_config *config;
        int64_t now_ms; /* one instant for the whole transaction: one budget window */
        bool breaker_known, breaker_open;
        char breaker_opened[256]; /* why, if this transaction opened the breaker */
        gate_budget budgets[BW_RATE_LIMITS_MAX * _RATE_WINDOW_MAX];
        size_t n_budgets;
        /* Folding within the batch (G5): (integration, verb, target) -> index in
         * leads of the action of this transaction that applies it. */
        json_t *taken;
        batch_action **leads;
        size_t n_leads;
} gate_txn;

/* Starts the gates' view of one write transaction at now_ms. */
void gate_txn_init(gate_txn *g, const bw_config *config, int64_t now_ms);

/* Writes what the transaction charged to the budgets. Call once, last, inside
 * the same transaction. */
int gate_txn_flush(store_tx *tx, gate_txn *g);

/* Frees what gate_txn_init and the gates allocated (also after a failed
 * transaction). */
void gate_txn_clear(gate_txn *g);

/* Planning, outside any transaction: the state the action is journalled in
 * (SKIPPED, DENIED with its reason, RECOMMENDED, AWAITING_APPROVAL or PLANNED),
 * from the governor with no live state. Appends the approval reasons to the
 * execution's. 0 or -ENOMEM. */
int gate_plan(const bw_config *config, batch_exec *ex, batch_action *a);

/* Inside the journal's first transaction: routes one action by its stored state
 * (PLANNED: the governor's live verdict; INTENT: in doubt, decided again;
 * ROLLBACK_REQUESTED: a rollback) and records the outcome. Sets act->run when
 * this worker is to call the connector, with the permits it needs. */
int gate_action(store_tx *tx, gate_txn *g, batch_action *act, const store_action *stored);

/* Inside the journal's first transaction, after its actions: the execution's
 * approval request when some action awaits one (created once; renewed when a
 * granted approval lapsed). */
int gate_approval_request(store_tx *tx, gate_txn *g, const batch_alert *ba, batch_exec *ex);

/* The permit of a governor's message to people (notify: it acts on no system). */
int gate_permit_notification(const char *integration, const connector_action *note, governor_permit *ret);

/* The permits of a rollback drill (`bulwark rollback-test`) on a staging
 * integration, after governor_decide allowed its sample targets. */
int gate_permit_drill(const char *integration, const connector_action *a,
                      governor_permit ret[_PERMIT_OP_MAX]);

/* The permit of permits[] that op needs, or NULL for ops that change nothing. */
const governor_permit *gate_permit_for(const governor_permit permits[_PERMIT_OP_MAX], connector_op op);
