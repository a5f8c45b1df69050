/* SPDX-License-Identifier: Apache-2.0 */
/* The action journal's states and rules (see journal.h). Pure. */
#include "core/journal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const exec_status_names[_EXEC_STATUS_MAX] = {
        [EXEC_RUNNING] = "running",
        [EXEC_SUCCEEDED] = "succeeded",
        [EXEC_FAILED] = "failed",
        [EXEC_PARTIAL] = "partial",
        [EXEC_RECORDED] = "recorded",
        [EXEC_DENIED] = "denied",
        [EXEC_AWAITING_APPROVAL] = "awaiting_approval",
        [EXEC_REJECTED] = "rejected",
        [EXEC_ROLLED_BACK] = "rolled_back",
};

static const char *const action_state_names[_ACTION_STATE_MAX] = {
        [ACTION_PLANNED] = "planned",
        [ACTION_INTENT] = "intent",
        [ACTION_APPLIED] = "applied",
        [ACTION_FAILED] = "failed",
        [ACTION_SKIPPED] = "skipped",
        [ACTION_RECOMMENDED] = "recommended",
        [ACTION_AWAITING_APPROVAL] = "awaiting_approval",
        [ACTION_DENIED] = "denied",
        [ACTION_REJECTED] = "rejected",
        [ACTION_SATISFIED] = "satisfied",
        [ACTION_ROLLBACK_REQUESTED] = "rollback_requested",
        [ACTION_ROLLED_BACK] = "rolled_back",
        [ACTION_ROLLBACK_FAILED] = "rollback_failed",
};

const char *exec_status_name(exec_status st) {
        if ((unsigned)st >= _EXEC_STATUS_MAX)
                return NULL;
        return exec_status_names[st];
}

const char *action_state_name(action_state st) {
        if ((unsigned)st >= _ACTION_STATE_MAX)
                return NULL;
        return action_state_names[st];
}

int action_state_parse(const char *name, action_state *ret) {
        for (unsigned i = 0; i < _ACTION_STATE_MAX; i++)
                if (strcmp(name, action_state_names[i]) == 0) {
                        *ret = (action_state)i;
                        return 0;
                }
        return -EBADMSG;
}

bool action_transition_allowed(action_state from, action_state to) {
        if ((unsigned)from >= _ACTION_STATE_MAX || (unsigned)to >= _ACTION_STATE_MAX || to == ACTION_PLANNED)
                return false;
        /* Invariant 6: an action that was applied is never applied again. */
        return !(from == ACTION_APPLIED && to == ACTION_INTENT);
}

exec_status exec_status_of_actions(const action_state *states, size_t n, int level, char *summary,
                                   size_t len) {
        size_t count[_ACTION_STATE_MAX] = {0};
        for (size_t a = 0; a < n; a++)
                if ((unsigned)states[a] < _ACTION_STATE_MAX)
                        count[states[a]]++;
        size_t applied = count[ACTION_APPLIED] + count[ACTION_SATISFIED];
        size_t failed = count[ACTION_FAILED] + count[ACTION_ROLLBACK_FAILED];
        snprintf(summary, len,
                 "%zu applied, %zu already in effect, %zu failed, %zu denied by the governor, %zu awaiting "
                 "approval, %zu rejected, %zu rolled back (level %d)",
                 count[ACTION_APPLIED], count[ACTION_SATISFIED], failed, count[ACTION_DENIED],
                 count[ACTION_AWAITING_APPROVAL], count[ACTION_REJECTED], count[ACTION_ROLLED_BACK], level);
        if (failed > 0)
                return applied + count[ACTION_ROLLED_BACK] ? EXEC_PARTIAL : EXEC_FAILED;
        if (applied > 0)
                return EXEC_SUCCEEDED;
        if (count[ACTION_ROLLED_BACK] > 0)
                return EXEC_ROLLED_BACK;
        if (count[ACTION_AWAITING_APPROVAL] > 0)
                return EXEC_AWAITING_APPROVAL;
        if (count[ACTION_REJECTED] > 0)
                return EXEC_REJECTED;
        return count[ACTION_DENIED] ? EXEC_DENIED : EXEC_RECORDED;
}
