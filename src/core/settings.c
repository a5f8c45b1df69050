/* SPDX-License-Identifier: Apache-2.0 */
/* Lookups in and checks against declarative settings and params tables (see
 * settings.h). Values are untrusted: configuration, playbooks, rendered actions. */
#include "core/settings.h"

#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "core/yamldoc.h"
#include "util/strutil.h"

const setting_spec *setting_spec_find(const setting_spec *table, const char *name) {
        const setting_spec *any = NULL;
        for (const setting_spec *s = table; s && s->name; s++) {
                if (strcmp(s->name, name) == 0)
                        return s;
                if (strcmp(s->name, SETTING_ANY_NAME) == 0)
                        any = s;
        }
        return any;
}

const char *setting_type_name(setting_type t) {
        static const char *const names[_SETTING_TYPE_MAX] = {
                [SETTING_STRING] = "string",
                [SETTING_INT] = "integer",
                [SETTING_BOOL] = "boolean",
                [SETTING_STRING_LIST] = "list of strings",
                [SETTING_SCALAR] = "string, integer or boolean",
        };
        return t < _SETTING_TYPE_MAX ? names[t] : "?";
}

void setting_spec_names(const setting_spec *table, char *out, size_t outlen) {
        size_t used = 0;
        if (outlen == 0)
                return;
        out[0] = '\0';
        for (const setting_spec *s = table; s && s->name && used < outlen; s++) {
                int n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", s->name);
                used = n < 0 ? outlen : used + (size_t)n;
        }
        if (!out[0])
                snprintf(out, outlen, "none");
}

static int string_check(const setting_spec *s, const json_t *v, const char *field, bw_error *err) {
        size_t len = json_string_length(v);
        const char *str = json_string_value(v);
        if ((int64_t)len < s->min || (int64_t)len > s->max)
                return bw_error_set(err, "out_of_range", field, "must be %lld..%lld bytes",
                                    (long long)s->min, (long long)s->max);
        bool ok = s->charset_extra ? len == 0 || str_charset_ok(str, len, len, s->charset_extra)
                                   : yamldoc_text_valid(str, len);
        if (!ok)
                return bw_error_set(err, "bad_charset", field, "%s%s",
                                    s->charset_extra ? "only [A-Za-z0-9] and these are allowed: "
                                                     : "must be UTF-8 text without control characters",
                                    s->charset_extra ? s->charset_extra : "");
        return 0;
}

static int list_check(const setting_spec *s, const json_t *v, const char *field, bw_error *err) {
        if (!json_is_array(v))
                return bw_error_set(err, "wrong_type", field, "must be a list of strings");
        size_t n = json_array_size(v);
        if ((int64_t)n < s->min || (int64_t)n > s->max)
                return bw_error_set(err, "out_of_range", field, "must have %lld..%lld items",
                                    (long long)s->min, (long long)s->max);
        for (size_t i = 0; i < n; i++) {
                const json_t *item = json_array_get(v, i);
                size_t len = json_string_length(item);
                if (!json_is_string(item) || len == 0 || len > BW_SETTING_LIST_ITEM_MAX ||
                    !yamldoc_text_valid(json_string_value(item), len))
                        return bw_error_set(err, "invalid", field, "item %zu must be 1..%u bytes of text", i,
                                            BW_SETTING_LIST_ITEM_MAX);
        }
        return 0;
}

int setting_value_check(const setting_spec *s, const json_t *v, const char *field, bw_error *err) {
        switch (s->type) {
        case SETTING_STRING:
                if (!json_is_string(v))
                        return bw_error_set(err, "wrong_type", field, "must be a string");
                return string_check(s, v, field, err);
        case SETTING_INT:
                if (!json_is_integer(v))
                        return bw_error_set(err, "wrong_type", field, "must be an integer");
                if (json_integer_value(v) < s->min || json_integer_value(v) > s->max)
                        return bw_error_set(err, "out_of_range", field,
                                            "must be an integer within %lld..%lld", (long long)s->min,
                                            (long long)s->max);
                return 0;
        case SETTING_BOOL:
                return json_is_boolean(v) ? 0
                                          : bw_error_set(err, "wrong_type", field, "must be true or false");
        case SETTING_STRING_LIST:
                return list_check(s, v, field, err);
        case SETTING_SCALAR:
                if (json_is_string(v))
                        return string_check(s, v, field, err);
                if (json_is_integer(v) || json_is_boolean(v))
                        return 0;
                return bw_error_set(err, "wrong_type", field, "must be a string, an integer or a boolean");
        default:
                return bw_error_set(err, "invalid", field, "has a type no check knows");
        }
}

bool param_name_valid(const char *s, size_t len) {
        if (len == 0 || len > BW_NAME_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

int params_check(const setting_spec *table, const json_t *params, bw_error *err) {
        if (!json_is_object(params))
                return bw_error_set(err, "wrong_type", "params", "must be an object");
        if (json_object_size(params) > BW_PARAMS_MAX)
                return bw_error_set(err, "too_large", "params", "at most %u entries", BW_PARAMS_MAX);
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)params, key, v) {
                if (!param_name_valid(key, strlen(key)))
                        return bw_error_set(err, "bad_charset", "params",
                                            "a parameter name is 1..%u characters of [a-z0-9_]",
                                            BW_NAME_MAX);
                char field[16 + BW_NAME_MAX];
                snprintf(field, sizeof(field), "params.%s", key);
                const setting_spec *s = setting_spec_find(table, key);
                if (!s) {
                        char known[256];
                        setting_spec_names(table, known, sizeof(known));
                        return bw_error_set(err, "unknown_param", field, "not a parameter of this verb (%s)",
                                            known);
                }
                int r = setting_value_check(s, v, field, err);
                if (r < 0)
                        return r;
        }
        for (const setting_spec *s = table; s && s->name; s++)
                if (s->required && strcmp(s->name, SETTING_ANY_NAME) != 0 &&
                    !json_object_get(params, s->name)) {
                        char field[16 + BW_NAME_MAX];
                        snprintf(field, sizeof(field), "params.%s", s->name);
                        return bw_error_set(err, "missing", field, "required");
                }
        return 0;
}
