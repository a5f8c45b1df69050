/* SPDX-License-Identifier: Apache-2.0 */
/* The rollback drill of every staging integration (see rollback_drill.h): the
 * targets typed, the governor's decision, then the drill's protocol through
 * engine/execute.c (snapshot, apply, verify, rollback, a second snapshot). Runs in the daemon, in the HTTP
 * thread that asked; the targets come from the configuration and are typed and normalised here. */
#include "engine/rollback_drill.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "connectors/connector.h"
#include "core/alert.h"
#include "core/governor.h"
#include "core/playbook.h"
#include "core/target.h"
#include "engine/gate.h"
#include "core/template.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strutil.h"

/* Two runs at once would each find the other's change in their snapshots and
 * fail, or roll back what the other just applied: one run at a time. */
static pthread_mutex_t drill_lock = PTHREAD_MUTEX_INITIALIZER;

/* Most specific first: when every target reads as several kinds the verb takes
 * ("web1" is a host name and an account name), the first one wins. */
static const target_kind typing_order[] = {TARGET_IP, TARGET_HOST, TARGET_ACCOUNT, TARGET_STRING};
#define TYPING_KINDS (sizeof(typing_order) / sizeof(typing_order[0]))

static bool verb_takes(const connector_verb *v, target_kind k) {
        return (v->target_kinds & (1u << k)) != 0;
}

/* s as a target of kind k, normalised as alert parsing normalises the observables
 * that playbooks render into targets (core/target.h; an opaque string as it
 * is). Returns 0 and *ret (caller frees), -EINVAL if s is not of kind k, or
 * -ENOMEM. */
static int drill_target(target_kind k, const char *s, char **ret) {
        size_t len = strlen(s);
        char out[TARGET_TEXT_MAX + 1];
        if (k == TARGET_STRING) {
                if (len == 0 || len > BW_TARGET_MAX || !utf8_valid(s, len))
                        return -EINVAL;
                memcpy(out, s, len + 1);
        } else if (target_normalise(k, s, len, out, sizeof(out)) < 0) {
                return -EINVAL;
        }
        *ret = strdup(out);
        return *ret ? 0 : -ENOMEM;
}

static bool value_has(const template_value *v, const char *s) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->items[i], s) == 0)
                        return true;
        return false;
}

/* Every item of list as kind k into *ret (duplicates fold, as in alerts).
 * Returns 0, -EINVAL when an item is not of kind k, or -ENOMEM. */
static int targets_as(target_kind k, const json_t *list, template_value *ret) {
        template_value v = {.kind = k};
        size_t n = json_array_size(list);
        if (n == 0)
                return -EINVAL;
        v.items = calloc(n, sizeof(*v.items));
        if (!v.items)
                return -ENOMEM;
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) {
                const char *s = json_string_value(item);
                char *t = NULL;
                int r = s ? drill_target(k, s, &t) : -EINVAL;
                if (r < 0) {
                        template_value_clear(&v);
                        return r;
                }
                if (value_has(&v, t))
                        free(t);
                else
                        v.items[v.n++] = t;
        }
        *ret = v;
        return 0;
}

/* Why list cannot be typed for verb v: names the first target of no kind v
 * takes, or says that the targets mix kinds. */
static void targets_explain(const connector_kind *k, const connector_verb *v, const json_t *list,
                            drill_outcome *t) {
        char kinds[64] = "";
        size_t used = 0;
        for (size_t j = 0; j < TYPING_KINDS; j++)
                if (verb_takes(v, typing_order[j])) {
                        int n = snprintf(kinds + used, sizeof(kinds) - used, "%s%s", used ? " or " : "",
                                         target_kind_name(typing_order[j]));
                        if (n < 0 || (size_t)n >= sizeof(kinds) - used)
                                break;
                        used += (size_t)n;
                }
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) {
                const char *s = json_string_value(item);
                bool fits = false;
                for (size_t j = 0; s && !fits && j < TYPING_KINDS; j++) {
                        char *norm;
                        if (verb_takes(v, typing_order[j]) && drill_target(typing_order[j], s, &norm) == 0) {
                                free(norm);
                                fits = true;
                        }
                }
                if (!fits) {
                        drill_clause(t, true, "staging target \"%s\" is not a valid %s target of %s.%s",
                                     s ? s : "?", used ? kinds : "(none)", k->name, v->name);
                        return;
                }
        }
        drill_clause(t, true, "the staging targets mix kinds; %s.%s needs them all of one kind (%s)",
                     k->name, v->name, kinds);
}

/* The staging targets typed as the first kind of typing_order that verb v takes
 * and every target is. Returns 0 and *ret, -EINVAL if no kind fits, -ENOMEM. */
static int targets_type(const connector_verb *v, const json_t *list, template_value *ret) {
        for (size_t j = 0; j < TYPING_KINDS; j++) {
                if (!verb_takes(v, typing_order[j]))
                        continue;
                int r = targets_as(typing_order[j], list, ret);
                if (r != -EINVAL)
                        return r;
        }
        return -EINVAL;
}

/* governor_decide on the drill's action with these targets: run as a level-3
 * action would, with no live state (the drill is charged to no budget and
 * undoes itself before the request returns). */
static governor_verdict drill_decide(const governor_policy *p, const connector_kind *k,
                                     const connector_verb *v, target_kind kind, char *const *targets,
                                     size_t n, governor_ruling *ret) {
        governor_action a = {
                .op = GOVERNOR_RUN,
                .level = LEVEL_AUTO_REVERSIBLE,
                .connector = k->name,
                .verb = v->name,
                .reversible = true,
                .inert = k->inert,
                .category = "",
                .has_targets = true,
                .kind = kind,
                .targets = targets,
                .n_targets = n,
        };
        governor_state none = {0};
        return governor_decide(p, &a, &none, ret);
}

/* The governor judges the targets as typed (ceiling and protected assets), then
 * each target as every other kind the verb takes and it reads as: a verb taking
 * several kinds (exec's run) must not let a protected account through because
 * its name also reads as a host name. The ceiling is the typed kind's alone,
 * since that is what the connector acts on. Returns 0 with *ret, or -ENOMEM. */
static int targets_judge(const governor_policy *p, const connector_kind *k, const connector_verb *v,
                         const template_value *typed, const json_t *list, governor_ruling *ret) {
        if (drill_decide(p, k, v, typed->kind, typed->items, typed->n, ret) != GOVERNOR_ALLOW)
                return 0;
        for (size_t j = 0; j < TYPING_KINDS; j++) {
                target_kind kind = typing_order[j];
                if (kind == typed->kind || !verb_takes(v, kind))
                        continue;
                size_t i;
                json_t *item;
                json_array_foreach(list, i, item) {
                        char *alt;
                        int r = drill_target(kind, json_string_value(item), &alt);
                        if (r == -EINVAL)
                                continue;
                        if (r < 0)
                                return r;
                        governor_verdict verdict = drill_decide(p, k, v, kind, &alt, 1, ret);
                        free(alt);
                        if (verdict != GOVERNOR_ALLOW)
                                return 0;
                }
        }
        return 0;
}

/* Hex BLAKE2b-256 of "rollback-test", the integration and the time: one key per
 * test run, never the key of an action an alert rendered. */
static void drill_key(const char *integration, int64_t now_ms, char ret[65]) {
        char text[sizeof("rollback-test") + BW_NAME_MAX + 32];
        snprintf(text, sizeof(text), "rollback-test\n%s\n%lld", integration, (long long)now_ms);
        unsigned char hash[crypto_generichash_BYTES];
        crypto_generichash(hash, sizeof(hash), (const unsigned char *)text, strnlen(text, sizeof(text)),
                           NULL, 0);
        sodium_bin2hex(ret, 65, hash, sizeof(hash));
}

/* Tests one staging integration into *t and *typed (the targets it acted on).
 * Returns 0, or -ENOMEM before anything was applied. */
static int drill_one(connector_pool *pool, const bw_config *cfg, const integration_config *ic,
                     int64_t now_ms, drill_outcome *t, template_value *typed) {
        const connector_kind *k = connector_kind_find(ic->kind);
        if (!k || !connector_action_reversible(k, ic->settings, ic->staging_verb)) {
                drill_clause(
                        t, true,
                        "%s.%s is not reversible on this integration (it cannot snapshot and roll back)",
                        ic->kind, ic->staging_verb);
                return 0;
        }
        const connector_verb *v = connector_verb_find(k, ic->staging_verb);
        int r = targets_type(v, ic->staging_targets, typed);
        if (r == -EINVAL) {
                targets_explain(k, v, ic->staging_targets, t);
                return 0;
        }
        if (r < 0)
                return r;

        governor_ruling d;
        r = targets_judge(&cfg->governor, k, v, typed, ic->staging_targets, &d);
        if (r < 0)
                return r;
        if (d.verdict != GOVERNOR_ALLOW) {
                drill_clause(t, true, "refused by the governor: %s", d.reason);
                return 0;
        }

        char key[65];
        drill_key(ic->name, now_ms, key);
        json_t *params = json_object();
        if (!params)
                return -ENOMEM;
        governor_permit permits[_PERMIT_OP_MAX];
        connector_action a = {
                .action_id = 0,
                .verb = v->name,
                .kind = typed->kind,
                .targets = typed->items,
                .n_targets = typed->n,
                .params = params,
                .idempotency_key = key,
        };
        /* The governor allowed these targets just now. */
        r = gate_permit_drill(ic->name, &a, permits);
        if (r == 0)
                execute_drill(pool, ic, &a, permits, t);
        json_decref(params);
        return r;
}

/* The targets a result names: those acted on, else the configured ones. */
static json_t *result_targets(const integration_config *ic, const template_value *typed) {
        if (typed->n == 0)
                return json_deep_copy(ic->staging_targets);
        json_t *list = json_array();
        for (size_t i = 0; list && i < typed->n; i++)
                if (json_array_append_new(list, json_string(typed->items[i])) < 0) {
                        json_decref(list);
                        return NULL;
                }
        return list;
}

/* One result object, logged. Returns it, or NULL on ENOMEM. */
static json_t *result_new(const integration_config *ic, const drill_outcome *t,
                          const template_value *typed) {
        json_t *targets = result_targets(ic, typed);
        if (!targets)
                return NULL;
        json_t *res = json_pack("{ss ss sb ss sO}", "integration", ic->name, "connector", ic->kind, "ok",
                                t->ok, "detail", t->detail, "targets", targets);
        if (res)
                log_json(t->ok ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "engine",
                         t->ok ? "rollback_test.passed" : "rollback_test.failed",
                         json_pack("{ss ss ss sO ss}", "integration", ic->name, "connector", ic->kind,
                                   "verb", ic->staging_verb, "targets", targets, "detail", t->detail));
        json_decref(targets);
        return res;
}

static int run_all(connector_pool *pool, const bw_config *cfg, json_t *results, size_t *ret_passed) {
        int64_t now_ms = clock_wall_ms();
        size_t passed = 0;
        for (size_t i = 0; i < cfg->n_integrations; i++) {
                const integration_config *ic = &cfg->integrations[i];
                if (!ic->staging_targets)
                        continue;
                drill_outcome t = {.ok = false};
                template_value typed = {.kind = TARGET_NONE};
                int r = drill_one(pool, cfg, ic, now_ms, &t, &typed);
                json_t *res = r < 0 ? NULL : result_new(ic, &t, &typed);
                template_value_clear(&typed);
                if (!res || json_array_append_new(results, res) < 0)
                        return -ENOMEM;
                passed += t.ok ? 1 : 0;
        }
        *ret_passed = passed;
        return 0;
}

int rollback_drill_run(connector_pool *pool, const bw_config *cfg, json_t **ret) {
        if (pthread_mutex_trylock(&drill_lock) != 0)
                return -EBUSY;
        json_t *results = json_array();
        size_t passed = 0;
        int r = results ? run_all(pool, cfg, results, &passed) : -ENOMEM;
        pthread_mutex_unlock(&drill_lock);
        json_t *o = NULL;
        if (r == 0) {
                size_t n = json_array_size(results);
                o = json_pack("{sO sI sI}", "results", results, "passed", (json_int_t)passed, "failed",
                              (json_int_t)(n - passed));
                r = o ? 0 : -ENOMEM;
        }
        json_decref(results);
        if (r < 0)
                return r;
        *ret = o;
        return 0;
}
