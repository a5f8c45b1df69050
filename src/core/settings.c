/* SPDX-License-Identifier: Apache-2.0 */
/* Lookups in declarative settings tables (see settings.h). */
#include "core/settings.h"

#include <string.h>

const setting_spec *setting_spec_find(const setting_spec *table, const char *name) {
        for (const setting_spec *s = table; s && s->name; s++)
                if (strcmp(s->name, name) == 0)
                        return s;
        return NULL;
}

const char *setting_type_name(setting_type t) {
        static const char *const names[_SETTING_TYPE_MAX] = {
                [SETTING_STRING] = "string",
                [SETTING_INT] = "integer",
                [SETTING_BOOL] = "boolean",
                [SETTING_STRING_LIST] = "list of strings",
        };
        return t < _SETTING_TYPE_MAX ? names[t] : "?";
}
