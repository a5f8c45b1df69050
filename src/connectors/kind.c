/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the connector kinds (see kind.h); runs in the daemon and the
 * workers; actions are untrusted. */
#include "connectors/kind.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "util/strutil.h"

static bool kind_printable(const char *s, size_t len) {
        if (!utf8_valid(s, len))
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return true;
}

/* Finds name in settings and checks it against its spec; *ret = NULL if absent. */
static int kind_get(const json_t *settings, const setting_spec *table, const char *name, setting_type type,
                    const json_t **ret, bw_error *err) {
        const json_t *v = json_is_object(settings) ? json_object_get(settings, name) : NULL;
        const setting_spec *s = setting_spec_find(table, name);
        if (!v) {
                *ret = NULL;
                return 0;
        }
        if (!s)
                return bw_error_set(err, "unknown_key", name, "not a setting of this connector kind");
        /* A kind reading its own key with another type is a programming error. */
        assert(s->type == type);
        int r = setting_value_check(s, v, name, err);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int kind_get_str(const json_t *settings, const setting_spec *table, const char *name, const char *def,
                 const char **ret, bw_error *err) {
        const json_t *v;
        int r = kind_get(settings, table, name, SETTING_STRING, &v, err);
        if (r < 0)
                return r;
        *ret = v ? json_string_value(v) : def;
        return 0;
}

int kind_get_int(const json_t *settings, const setting_spec *table, const char *name, int64_t def,
                 int64_t *ret, bw_error *err) {
        const json_t *v;
        int r = kind_get(settings, table, name, SETTING_INT, &v, err);
        if (r < 0)
                return r;
        *ret = v ? (int64_t)json_integer_value(v) : def;
        return 0;
}

int kind_get_bool(const json_t *settings, const setting_spec *table, const char *name, bool def, bool *ret,
                  bw_error *err) {
        const json_t *v;
        int r = kind_get(settings, table, name, SETTING_BOOL, &v, err);
        if (r < 0)
                return r;
        *ret = v ? json_is_true(v) : def;
        return 0;
}

int kind_get_list(const json_t *settings, const setting_spec *table, const char *name, const json_t **ret,
                  bw_error *err) {
        return kind_get(settings, table, name, SETTING_STRING_LIST, ret, err);
}

void kind_result(connector_result *r, bool ok, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
        va_end(ap);
        r->ok = ok;
}

int kind_invalid(connector_result *r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
        va_end(ap);
        r->ok = false;
        return -EINVAL;
}

int kind_validated(int check, connector_result *r) {
        if (check == -EINVAL)
                return 0;
        if (check < 0)
                return check;
        kind_result(r, true, "valid");
        return 0;
}

void kind_utf8_scrub(char *s, size_t len) {
        size_t i = 0;
        while (i < len) {
                unsigned char c = (unsigned char)s[i];
                size_t n = c < 0x80             ? 1
                           : (c & 0xE0) == 0xC0 ? 2
                           : (c & 0xF0) == 0xE0 ? 3
                           : (c & 0xF8) == 0xF0 ? 4
                                                : 0;
                if (n == 0 || n > len - i || !utf8_valid(s + i, n)) {
                        s[i++] = '?';
                        continue;
                }
                i += n;
        }
}

static bool kind_hex64(const char *s) {
        if (!s || strlen(s) != 64)
                return false;
        for (size_t i = 0; i < 64; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* The verb's own table says which params it takes (core/settings.h). */
static int kind_check_params(const connector_verb *v, const json_t *params, connector_result *r) {
        bw_error e;
        if (params_check(v->params, params, &e) < 0)
                return kind_invalid(r, "%s: %s", e.field, e.message);
        return 0;
}

int kind_check_action(const connector_kind *k, const connector_action *a, connector_result *r) {
        if (!a->verb)
                return kind_invalid(r, "verb: missing");
        const connector_verb *v = connector_verb_find(k, a->verb);
        if (!v)
                return kind_invalid(r, "verb: %s has no verb \"%.64s\"", k->name, a->verb);
        if ((unsigned)a->kind >= _TARGET_KIND_MAX)
                return kind_invalid(r, "target_kind: unknown");
        if (a->n_targets == 0) {
                if (!(v->target_kinds & (1u << TARGET_NONE)))
                        return kind_invalid(r, "targets: %s.%s needs at least one target", k->name, v->name);
        } else if (a->kind == TARGET_NONE || !(v->target_kinds & (1u << a->kind))) {
                return kind_invalid(r, "target_kind: %s.%s does not take %s targets", k->name, v->name,
                                    target_kind_name(a->kind));
        }
        for (size_t i = 0; i < a->n_targets; i++) {
                const char *t = a->targets[i];
                size_t len = t ? strlen(t) : 0;
                if (len == 0 || len > BW_TARGET_MAX || !kind_printable(t, len))
                        return kind_invalid(r, "targets[%zu]: must be 1..%u printable characters", i,
                                            BW_TARGET_MAX);
        }
        if (!kind_hex64(a->idempotency_key))
                return kind_invalid(r, "idempotency_key: must be 64 lowercase hex digits");
        return kind_check_params(v, a->params, r);
}

json_t *kind_action_json(const connector_action *a, const char *event) {
        json_t *targets = json_array();
        if (!targets)
                return NULL;
        for (size_t i = 0; i < a->n_targets; i++)
                if (json_array_append_new(targets, json_string(a->targets[i])) < 0) {
                        json_decref(targets);
                        return NULL;
                }
        json_t *o = json_object();
        if (!o || (event && json_object_set_new(o, "event", json_string(event)) < 0)) {
                json_decref(targets);
                json_decref(o);
                return NULL;
        }
        json_t *rest = json_pack("{sI ss ss ss so sO}", "action_id", (json_int_t)a->action_id,
                                 "idempotency_key", a->idempotency_key, "verb", a->verb, "target_kind",
                                 target_kind_name(a->kind), "targets", targets, "params", a->params);
        if (!rest || json_object_update(o, rest) < 0) {
                json_decref(rest);
                json_decref(o);
                return NULL;
        }
        json_decref(rest);
        return o;
}
