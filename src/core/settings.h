/* SPDX-License-Identifier: Apache-2.0 */
/* Declarative schemas: each connector kind lists its integration settings in a
 * table, and each of its verbs the params a step may give it, in a table of the
 * same type. The configuration parser, `playbook lint` and the daemon's start-up
 * validate against them (type, range, character set, unknown and required keys),
 * naming file:line:col, and the connector workers check every action against
 * the same table. Pure. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum {
        SETTING_STRING, /* length within [min, max]; charset_extra limits bytes if set */
        SETTING_INT,    /* value within [min, max] */
        SETTING_BOOL,
        SETTING_STRING_LIST, /* item count within [min, max]; each item 1..1024 bytes */
        /* Params only: a string (length within [min, max], text without control
         * characters), any integer or a boolean. For params Bulwark does not read
         * but passes on as they are (an HTTP body, an exec program's stdin). */
        SETTING_SCALAR,
        _SETTING_TYPE_MAX,
} setting_type;

/* The name of a params entry that stands for every name the table does not
 * list: the verb passes its params on to a system that defines them. */
#define SETTING_ANY_NAME "*"

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

/* Tables end with an entry whose name is NULL. The entry named name, else the
 * table's SETTING_ANY_NAME entry, else NULL. */
const setting_spec *setting_spec_find(const setting_spec *table, const char *name);
const char *setting_type_name(setting_type t);

/* Writes the table's names, joined by ", " ("none" for an empty table), into
 * out, cut to fit (for error messages). */
void setting_spec_names(const setting_spec *table, char *out, size_t outlen);

/* Checks value v against s: its type, then its range (or length), character set
 * or items. Returns 0, or -EINVAL with *err (code "wrong_type", "out_of_range",
 * "bad_charset" or "invalid") naming field. */
int setting_value_check(const setting_spec *s, const json_t *v, const char *field, bw_error *err);

/* A params name: 1..BW_NAME_MAX of [a-z0-9_]. */
bool param_name_valid(const char *s, size_t len);

/* Checks a rendered params object against a verb's table: an object of at most
 * BW_PARAMS_MAX entries, each named validly, each in the table ("unknown_param"
 * otherwise) and valid for its entry (setting_value_check), every required entry
 * present ("missing"). Returns 0, or -EINVAL with *err naming "params.<name>". */
int params_check(const setting_spec *table, const json_t *params, bw_error *err);
