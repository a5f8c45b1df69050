/* SPDX-License-Identifier: Apache-2.0 */
/* Planning a claimed batch: alerts -> matching playbooks -> rendered actions.
 * Runs in the engine worker threads; the alert bodies were validated on arrival
 * and are re-validated here (the store is trusted less than the code). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connector.h"
#include "core/governor.h"
#include "engine/batch.h"
#include "engine/gate.h"
#include "util/log.h"

static int plan_action(const playbook *p, size_t step, const batch_alert *ba, const bw_config *config,
                       batch_exec *ex, batch_action *ret) {
        int r = playbook_render_step(p, step, ba->alert, ba->claimed.id, &ret->rendered);
        if (r < 0)
                return r;
        ret->integration = config_integration_find(config, p->steps[step].integration);
        ret->received_at_ms = ba->claimed.received_at_ms;
        ret->exec = ex;
        ret->kind = connector_kind_find(ret->integration->kind);
        ret->reversible =
                connector_action_reversible(ret->kind, ret->integration->settings, p->steps[step].verb);
        json_t *targets = json_array();
        if (!targets)
                return -ENOMEM;
        for (size_t i = 0; i < ret->rendered.targets.n; i++)
                if (json_array_append_new(targets, json_string(ret->rendered.targets.items[i])) < 0) {
                        json_decref(targets);
                        return -ENOMEM;
                }
        ret->targets_json = json_dumps(targets, JSON_COMPACT);
        json_decref(targets);
        ret->params_json = json_dumps(ret->rendered.params, JSON_COMPACT | JSON_SORT_KEYS);
        if (!ret->targets_json || !ret->params_json)
                return -ENOMEM;
        return gate_plan(config, ex, ret);
}

/* True if some playbook answers alerts of this type: the others are finished
 * without being parsed again (most alerts a SIEM forwards match nothing). */
static bool some_playbook_for(const playbook_set *playbooks, const char *type) {
        for (size_t i = 0; i < playbooks->n; i++)
                if (strcmp(playbooks->items[i]->trigger.type, type) == 0)
                        return true;
        return false;
}

static int plan_alert(const playbook_set *playbooks, const bw_config *config, batch_alert *ba) {
        if (!some_playbook_for(playbooks, ba->claimed.type))
                return 0;
        bw_error err;
        int r = alert_parse(ba->claimed.json, ba->claimed.len, ba->claimed.received_at_ms, &ba->alert, &err);
        if (r < 0) {
                log_json(LOG_LEVEL_ERROR, "engine", "alert.unparseable",
                         json_pack("{sI ss ss}", "alert_id", (json_int_t)ba->claimed.id, "field", err.field,
                                   "msg", err.message));
                return 0;
        }
        size_t matched = 0;
        for (size_t i = 0; i < playbooks->n; i++)
                matched += playbook_matches(playbooks->items[i], ba->alert);
        if (matched == 0)
                return 0;
        ba->execs = calloc(matched, sizeof(*ba->execs));
        if (!ba->execs)
                return -ENOMEM;
        for (size_t i = 0; i < playbooks->n; i++) {
                const playbook *p = playbooks->items[i];
                if (!playbook_matches(p, ba->alert))
                        continue;
                batch_exec *ex = &ba->execs[ba->n_execs++];
                ex->playbook = p;
                if (p->trigger.count > 0) {
                        /* Most alerts of a storm only count: their actions are
                         * rendered once the threshold fires (plan_exec_actions). */
                        r = playbook_threshold_key(p, ba->alert, ex->threshold_key);
                        ex->not_fired = ex->no_key = r < 0; /* no value to group by: never counts */
                        continue;
                }
                r = plan_exec_actions(config, ba, ex);
                if (r < 0)
                        return r;
        }
        return 0;
}

int plan_exec_actions(const bw_config *config, const batch_alert *ba, batch_exec *ex) {
        const playbook *p = ex->playbook;
        if (ex->actions)
                return 0;
        ex->actions = calloc(p->n_steps, sizeof(*ex->actions));
        if (!ex->actions)
                return -ENOMEM;
        for (size_t s = 0; s < p->n_steps; s++) {
                int r = plan_action(p, s, ba, config, ex, &ex->actions[s]);
                ex->n_actions = s + 1;
                if (r < 0)
                        return r;
        }
        return 0;
}

int plan_batch(const playbook_set *playbooks, const bw_config *config, store_claimed *claimed, size_t n,
               batch_alert **ret) {
        batch_alert *b = calloc(n, sizeof(*b));
        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                b[i].claimed = claimed[i];
                memset(&claimed[i], 0, sizeof(claimed[i]));
        }
        for (size_t i = 0; i < n; i++) {
                int r = plan_alert(playbooks, config, &b[i]);
                if (r < 0) {
                        batch_free(b, n);
                        return r;
                }
        }
        *ret = b;
        return 0;
}

void batch_alert_reset(batch_alert *ba) {
        for (size_t e = 0; e < ba->n_execs; e++) {
                batch_exec *ex = &ba->execs[e];
                ex->not_fired = ex->no_key;
                ex->counted = false;
                ex->approval_id = 0;
                for (size_t a = 0; a < ex->n_actions; a++) {
                        batch_action *act = &ex->actions[a];
                        free(act->result_json);
                        json_decref(act->rollback_snapshot);
                        act->result_json = NULL;
                        act->rollback_snapshot = NULL;
                        act->stored = (store_action){0};
                        act->run = act->in_doubt = act->verify_only = act->rollback = act->grouped = false;
                        act->rollback_refused = act->rollback_partial = false;
                        memset(act->permits, 0, sizeof(act->permits));
                        act->folded_into = NULL;
                        act->outcome = 0;
                        act->final_state =
                                act->initial_state == ACTION_DENIED ? ACTION_DENIED : ACTION_PLANNED;
                        if (act->initial_state != ACTION_DENIED)
                                act->detail[0] = '\0'; /* the planner's refusal stays */
                }
        }
}

connector_action batch_action_call(const batch_action *a) {
        return (connector_action){
                .action_id = a->stored.id,
                .verb = a->rendered.step->verb,
                .kind = a->rendered.targets.kind,
                .targets = a->rendered.targets.items,
                .n_targets = a->rendered.targets.n,
                .params = a->rendered.params,
                .idempotency_key = a->rendered.idempotency_key,
        };
}

void batch_free(batch_alert *b, size_t n) {
        if (!b)
                return;
        for (size_t i = 0; i < n; i++) {
                for (size_t e = 0; e < b[i].n_execs; e++) {
                        batch_exec *ex = &b[i].execs[e];
                        for (size_t a = 0; a < ex->n_actions; a++) {
                                rendered_action_clear(&ex->actions[a].rendered);
                                free(ex->actions[a].targets_json);
                                free(ex->actions[a].params_json);
                                free(ex->actions[a].result_json);
                                json_decref(ex->actions[a].rollback_snapshot);
                        }
                        free(ex->actions);
                        json_decref(ex->approval_reasons);
                }
                free(b[i].execs);
                alert_free(b[i].alert);
                store_claimed_clear(&b[i].claimed, 1);
        }
        free(b);
}
