/* SPDX-License-Identifier: Apache-2.0 */
/* A claimed batch of alerts as the engine works on it: each alert's matching
 * playbooks (executions) and their rendered actions, with the journal state read
 * back from the store and the outcome of running them. Internal to engine/. */
#pragma once

#include <stdbool.h>

#include "config/config.h"
#include "config/playbooks.h"
#include "connectors/pool.h"
#include "core/governor.h"
#include "core/metrics.h"
#include "core/playbook.h"
#include "store/store.h"

struct batch_exec;

typedef struct batch_action {
        rendered_action rendered;
        const struct batch_exec *exec; /* the execution it belongs to */
        const integration_config *integration;
        char *targets_json;
        char *params_json;
        action_state initial_state; /* by automation level, or SKIPPED without targets */
        int64_t received_at_ms;     /* its alert's arrival (end-to-end latency) */
        const connector_kind *kind;
        bool reversible; /* the integration can snapshot and roll it back */
        /* The governor requires an approval before it runs (level 4, irreversible
         * at level 3, a high-risk category): the gates check the store has one. */
        bool needs_approval;
        store_action stored; /* as the store has it after exec_begin */
        bool run;            /* to be run by this worker now */
        bool in_doubt;       /* was INTENT already: a previous process may have applied it */
        /* In doubt, but the governor would not run it now (breaker open, denied,
         * level lowered): verify only, and if absent record if_absent, never apply. */
        bool verify_only;
        action_state if_absent;
        /* ROLLBACK_REQUESTED: roll back to this snapshot (owned) instead of applying. */
        bool rollback;
        json_t *rollback_snapshot;
        bool rollback_refused; /* the governor now refuses its targets */
        bool rollback_partial; /* some targets held by another action: left in place */
        bool grouped;          /* taken into a batched connector call */
        /* Minted by the gates (engine/gate.c) once every check passed, one per
         * operation; without them the pool refuses apply and rollback. */
        governor_permit permits[_PERMIT_OP_MAX];
        /* SATISFIED by an earlier action of the same batch (G5): it shares that
         * action's outcome. */
        const struct batch_action *folded_into;
        /* Outcome, filled by execute_action when run. */
        action_state final_state;
        action_outcome outcome;
        char detail[512];
        char *result_json;
} batch_action;

typedef struct batch_exec {
        const playbook *playbook;
        int64_t exec_id;
        /* Threshold playbooks: the alert's group key; an alert that does not bring
         * its key to the threshold creates no execution (not_fired). */
        char threshold_key[BW_THRESHOLD_KEY_MAX + 1];
        bool not_fired;
        bool no_key;  /* the alert has no group_by value: never counts */
        bool counted; /* counted with the batch's other alerts of its key */
        /* Why the actions awaiting approval need it (JSON array), if any do. */
        json_t *approval_reasons;
        int64_t approval_id; /* created in this batch: the webhook is sent */
        batch_action *actions;
        size_t n_actions;
} batch_exec;

typedef struct batch_alert {
        store_claimed claimed;
        /* Its claim expired and another worker took it (store_claims_renew):
         * this worker acts on it no more and records nothing of it. */
        bool lost;
        alert *alert; /* NULL if the stored body no longer parses (logged) */
        batch_exec *execs;
        size_t n_execs;
} batch_alert;

/* Parses each claimed alert (taking ownership of claimed[i]'s contents), matches
 * playbooks and renders every step. Returns 0 and *ret (free with batch_free) or
 * -ENOMEM. */
int plan_batch(const playbook_set *playbooks, const bw_config *config, store_claimed *claimed, size_t n,
               batch_alert **ret);

void batch_free(batch_alert *b, size_t n);

/* What the connector is asked to act on for a (and what its permits seal). */
connector_action batch_action_call(const batch_action *a);

/* Renders the actions of execution ex of ba (once; a threshold playbook's are
 * rendered only when it fires). 0 or -ENOMEM. */
int plan_exec_actions(const bw_config *config, const batch_alert *ba, batch_exec *ex);

/* Undoes what a journal transaction that rolled back decided for an alert
 * (counts, gates, permits, outcomes), so that it can be journalled again from
 * its plan. */
void batch_alert_reset(batch_alert *ba);

/* What the engine lends the protocol runner (execute.c) while a batch runs. */
typedef struct batch_hooks {
        /* Between connector calls of a long batch: the engine renews its claims
         * (BW_CLAIM_LEASE_S), so no other worker takes the batch meanwhile. */
        void (*tick)(void *ctx);
        /* Before any apply: durably records the snapshot each of acts[0..n) took
         * (in its result_json), so that a crash after the apply still leaves
         * an action that can be rolled back and expire. 0, or a negative errno:
         * nothing is applied then. */
        int (*journal)(void *ctx, batch_action *const *acts, size_t n);
        void *ctx;
} batch_hooks;

/* Runs one action through its connector (in doubt: verify first; else validate,
 * snapshot, journal the snapshot, apply, verify, and roll back if verify fails;
 * or, for a requested rollback, restore its snapshot and check it) and fills
 * its outcome. */
void execute_action(connector_pool *pool, batch_action *a, bw_metrics *metrics, const batch_hooks *hooks);

/* Runs fresh actions acts[0..n) (n <= BW_CONNECTOR_BATCH_MAX) of one integration
 * whose kind applies in batches: one connector call per step of the protocol
 * (validate, snapshot, one journal write for every snapshot, apply as one
 * change, verify); any action that fails is rolled back alone, and a step that
 * cannot run as a batch falls back to one action at a time. Each action's
 * outcome is as execute_action gives it. */
void execute_group(connector_pool *pool, batch_action **acts, size_t n, bw_metrics *metrics,
                   const batch_hooks *hooks);

/* What a rollback drill (engine/rollback_drill.c) found on one integration. */
typedef struct drill_outcome {
        bool ok;
        char detail[1024]; /* clauses joined by "; ", the step that failed first */
} drill_outcome;

/* Appends a clause to o's detail (cut if it does not fit); failed marks o failed. */
void drill_clause(drill_outcome *o, bool failed, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The drill's protocol on integration ic, through the same runner as every
 * action: SNAPSHOT -> APPLY -> VERIFY (when the kind has it) -> ROLLBACK to the
 * first snapshot — even after a failed apply, which may have changed part of
 * the targets — -> SNAPSHOT, which must equal the first. permits by permit_op
 * (engine/gate.c: gate_permit_drill). Fills *ret: ok iff every step succeeded
 * and the snapshots are equal. */
void execute_drill(connector_pool *pool, const integration_config *ic, const connector_action *a,
                   const governor_permit permits[_PERMIT_OP_MAX], drill_outcome *ret);
