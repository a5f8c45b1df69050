/* SPDX-License-Identifier: Apache-2.0 */
/* The table of connector kinds and lookups in it; runs in the daemon and the
 * workers; names looked up come from configuration and playbooks. */
#include <sodium.h>
#include <string.h>

#include "connectors/connector.h"
#include "connectors/kind.h"

static const connector_kind *const kinds[] = {
        &nft_kind, &http_kind, &exec_kind, &notify_kind, NULL,
};

const connector_kind *connector_kind_find(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; kinds[i]; i++)
                if (strcmp(kinds[i]->name, name) == 0)
                        return kinds[i];
        return NULL;
}

const connector_verb *connector_verb_find(const connector_kind *k, const char *verb) {
        if (!k || !verb)
                return NULL;
        for (const connector_verb *v = k->verbs; v->name; v++)
                if (strcmp(v->name, verb) == 0)
                        return v;
        return NULL;
}

const connector_kind *const *connector_kinds(void) {
        return kinds;
}

const char *connector_op_name(connector_op op) {
        static const char *const names[_CONNECTOR_OP_MAX] = {
                [CONNECTOR_OP_VALIDATE] = "validate", [CONNECTOR_OP_SNAPSHOT] = "snapshot",
                [CONNECTOR_OP_APPLY] = "apply",       [CONNECTOR_OP_VERIFY] = "verify",
                [CONNECTOR_OP_ROLLBACK] = "rollback",
        };
        return (unsigned)op < _CONNECTOR_OP_MAX ? names[op] : "?";
}

bool connector_kind_has_op(const connector_kind *k, const json_t *settings, connector_op op) {
        if (!k || (unsigned)op >= _CONNECTOR_OP_MAX || !k->ops[op])
                return false;
        return !k->has_op || k->has_op(settings, op);
}

bool connector_action_reversible(const connector_kind *k, const json_t *settings, const char *verb) {
        const connector_verb *v = connector_verb_find(k, verb);
        return v && v->reversible && connector_kind_has_op(k, settings, CONNECTOR_OP_SNAPSHOT) &&
               connector_kind_has_op(k, settings, CONNECTOR_OP_ROLLBACK);
}

/* The entry of k's expiry parameter in the table of the verb that takes it. */
static const setting_spec *expiry_param_spec(const connector_kind *k) {
        for (const connector_verb *v = k->verbs; v->name; v++)
                for (const setting_spec *s = v->params; s && s->name; s++)
                        if (strcmp(s->name, k->expiry_param) == 0)
                                return s;
        return NULL;
}

int64_t connector_native_expiry_s(const connector_kind *k, const json_t *settings, const json_t *params) {
        if (!k || !k->expiry_param)
                return 0;
        const setting_spec *spec = expiry_param_spec(k);
        const json_t *v = json_object_get(params, k->expiry_param);
        if (!v && k->expiry_setting) {
                v = json_object_get(settings, k->expiry_setting);
                spec = setting_spec_find(k->settings, k->expiry_setting);
        }
        /* The tables bound the seconds, so callers may turn them into ms. */
        if (!v || !spec || spec->type != SETTING_INT || setting_value_check(spec, v, "", NULL) < 0)
                return 0;
        return json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
}

void connector_result_clear(connector_result *r) {
        if (!r)
                return;
        json_decref(r->data);
        *r = (connector_result){0};
}

/* A string's bytes, overwritten where jansson keeps them (its own copy). */
static void wipe_strings(json_t *v) {
        size_t i;
        json_t *e;
        const char *key;
        if (json_is_string(v))
                sodium_memzero((char *)json_string_value(v), json_string_length(v));
        else if (json_is_array(v))
                json_array_foreach(v, i, e) wipe_strings(e);
        else if (json_is_object(v))
                json_object_foreach(v, key, e) wipe_strings(e);
}

void connector_settings_forget_secrets(const connector_kind *k, json_t *settings) {
        for (const char *const *name = k ? k->secret_settings : NULL; name && *name; name++) {
                json_t *v = json_object_get(settings, *name);
                if (!v)
                        continue;
                wipe_strings(v);
                json_object_del(settings, *name);
        }
}
