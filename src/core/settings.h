/* SPDX-License-Identifier: Apache-2.0 */
/* Declarative schemas for integration settings: each connector kind lists its
 * settings in a table, and the configuration parser validates YAML against it
 * (type, range, character set, unknown keys), naming file:line:col. Pure. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef enum {
        SETTING_STRING,      /* length within [min, max]; charset_extra limits bytes if set */
        SETTING_INT,         /* value within [min, max] */
        SETTING_BOOL,
        SETTING_STRING_LIST, /* item count within [min, max]; each item 1..1024 bytes */
        _SETTING_TYPE_MAX,
} setting_type;

typedef struct setting_spec {
        const char *name;
        setting_type type;
        bool required;
        int64_t min, max;
        /* SETTING_STRING: if non-NULL, only [A-Za-z0-9] and these bytes are allowed;
         * if NULL, any valid UTF-8 without control characters. */
        const char *charset_extra;
        const char *help; /* one line, for docs and errors */
} setting_spec;

/* Tables end with an entry whose name is NULL. */
const setting_spec *setting_spec_find(const setting_spec *table, const char *name);
const char *setting_type_name(setting_type t);
