/* SPDX-License-Identifier: Apache-2.0 */
/* The governor's view of one rendered action (see governed_action.h). Pure. */
#include "config/governed_action.h"

#include "connectors/connector.h"

void governed_action_describe(const playbook *p, const rendered_action *ra, const integration_config *ic,
                              governor_op op, bool released, governor_action *ret) {
        const connector_kind *k = connector_kind_find(ic ? ic->kind : ra->step->connector);
        *ret = (governor_action){
                .op = op,
                .level = (unsigned)p->level,
                .released = released,
                .connector = ra->step->connector,
                .verb = ra->step->verb,
                .reversible = k && connector_action_reversible(k, ic ? ic->settings : NULL, ra->step->verb),
                .inert = k && k->inert,
                .category = ra->step->category,
                .has_targets = ra->step->has_targets,
                .kind = ra->targets.kind,
                .targets = ra->targets.items,
                .n_targets = ra->targets.n,
        };
}
