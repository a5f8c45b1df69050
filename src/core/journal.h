/* SPDX-License-Identifier: Apache-2.0 */
/* The action journal's states as pure rules: what an execution and an action
 * can be, their names, which transitions are allowed (an applied action is
 * never applied again: DESIGN.md, invariant 6), and an execution's status from
 * its actions'. The storage backends only store the names. Pure; runs in the
 * engine and the store. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum {
        EXEC_RUNNING,
        EXEC_SUCCEEDED,         /* every action applied (or nothing to apply) */
        EXEC_FAILED,            /* no action applied */
        EXEC_PARTIAL,           /* some applied, some failed */
        EXEC_RECORDED,          /* level 1-2 or awaiting approval: nothing was to run automatically */
        EXEC_DENIED,            /* the governor refused every action that was to run */
        EXEC_AWAITING_APPROVAL, /* actions wait for an approval */
        EXEC_REJECTED,          /* the approval was refused or timed out: nothing ran */
        EXEC_ROLLED_BACK,       /* every applied action was rolled back */
        _EXEC_STATUS_MAX,
} exec_status;

typedef enum {
        ACTION_PLANNED,           /* rendered, not yet attempted */
        ACTION_INTENT,            /* about to apply: durable before the connector is called */
        ACTION_APPLIED,           /* apply succeeded (and verify, when the kind has it) */
        ACTION_FAILED,            /* apply failed, timed out, or the worker died */
        ACTION_SKIPPED,           /* not run: automation level 1 (alert only) */
        ACTION_RECOMMENDED,       /* not run: level 2, awaits an analyst */
        ACTION_AWAITING_APPROVAL, /* not run: level 4 */
        ACTION_DENIED,    /* refused whole by the governor (ceiling, protected asset); detail says why */
        ACTION_REJECTED,  /* its approval was refused or timed out */
        ACTION_SATISFIED, /* already in effect through a live action: folded, not applied */
        ACTION_ROLLBACK_REQUESTED, /* applied; to be rolled back (by an admin, or expired) */
        ACTION_ROLLED_BACK,        /* rolled back to its snapshot, verified */
        ACTION_ROLLBACK_FAILED,    /* the rollback failed or did not restore the snapshot */
        _ACTION_STATE_MAX,
} action_state;

const char *exec_status_name(exec_status s);
const char *action_state_name(action_state s);

/* The state named name: 0 with *ret, or -EBADMSG (a stored name this code
 * does not know). */
int action_state_parse(const char *name, action_state *ret);

/* Whether an action in from may move to to: PLANNED is only ever initial, and
 * APPLIED never goes back to INTENT (no action is applied twice). */
bool action_transition_allowed(action_state from, action_state to);

/* The status of an execution whose actions ended in states[0..n), and a
 * summary of them for people (level named). */
exec_status exec_status_of_actions(const action_state *states, size_t n, int level, char *summary,
                                   size_t len);
