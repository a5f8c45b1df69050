/* SPDX-License-Identifier: Apache-2.0 */
/* The governor's view of one rendered action: its step, its targets and what
 * its integration can do (reversible, inert). One description for every caller
 * of governor_decide — the engine's gates, the dry run and the rollback drill —
 * so that they judge the same action alike. Pure; runs in the engine and the
 * CLI. */
#pragma once

#include "config/config.h"
#include "core/governor.h"
#include "core/playbook.h"

/* Fills *ret for ra, a step of p rendered for an alert, on integration ic (NULL:
 * unknown, as in an offline dry run without configuration: judged by the verb
 * alone). op and released as governor_action documents them. The pointers in
 * *ret borrow from p and ra. */
void governed_action_describe(const playbook *p, const rendered_action *ra, const integration_config *ic,
                              governor_op op, bool released, governor_action *ret);
