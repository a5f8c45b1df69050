/* SPDX-License-Identifier: Apache-2.0 */
/* A small, strict layer over libyaml's document API for configuration and
 * playbooks; its input is untrusted and every error carries file:line:col and the
 * dotted field path. Runs in the parent (configuration), the engine and the CLI. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "core/limits.h"
#include "core/settings.h"
#include "util/error.h"

/* Field paths ("integrations[2].settings.url") are as long as bw_error.field. */
#define YAMLDOC_PATH_MAX sizeof(((bw_error *)0)->field)

typedef struct yamldoc yamldoc;

/* Loads exactly one YAML document from data[0..len). file names the source in
 * errors (may be NULL). Rejects invalid UTF-8, aliases (the "billion laughs"
 * vector; nothing needs them), explicit tags, more than one document, an empty
 * document, nesting deeper than BW_YAML_MAX_DEPTH and more than BW_YAML_MAX_NODES
 * nodes. Returns 0 and *ret (free with yamldoc_free), -EINVAL with *err (code
 * "syntax", "bad_utf8", "too_deep", "too_large", "invalid"), or -ENOMEM. */
int yamldoc_load(const char *data, size_t len, const char *file, yamldoc **ret, bw_error *err);

void yamldoc_free(yamldoc *d);

/* The root node (never NULL for a loaded document). */
yaml_node_t *yamldoc_root(yamldoc *d);

/* Fills *err with code, path and message at node's 1-based line:col (the start
 * of the document when node is NULL) and returns -EINVAL. */
int yamldoc_error(const yamldoc *d, const yaml_node_t *node, bw_error *err, const char *code,
                  const char *path, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Writes "parent.key" (or "key" when parent is empty) into out; a key that is not
 * printable ASCII is shown as "?" so errors stay printable. */
void yamldoc_path_key(char *out, size_t outlen, const char *parent, const char *key);
/* Writes "parent[index]" into out. */
void yamldoc_path_index(char *out, size_t outlen, const char *parent, size_t index);

/* True for a plain scalar meaning null: empty, "~", "null", "Null", "NULL". */
bool yamldoc_is_null(const yaml_node_t *node);

/* Typed getters. On a type mismatch they fail with code "wrong_type", on a range
 * violation with "out_of_range", each at node's position with field path. */

/* A scalar (not null) of min..max bytes of UTF-8 without NUL. *ret points into the
 * document (valid until yamldoc_free). */
int yamldoc_get_string(const yamldoc *d, const yaml_node_t *node, const char *path, size_t min, size_t max,
                       const char **ret, size_t *ret_len, bw_error *err);
/* A string of 1..max bytes of [A-Za-z0-9] and extra ("bad_charset" otherwise),
 * copied into out (outlen > max). */
int yamldoc_get_name(const yamldoc *d, const yaml_node_t *node, const char *path, size_t max,
                     const char *extra, char *out, size_t outlen, bw_error *err);
/* An actor name (core/actor.h): 1..BW_NAME_MAX of [A-Za-z0-9] and
 * ACTOR_NAME_EXTRA, and not a reserved name ("reserved" otherwise), copied into
 * out (outlen > BW_NAME_MAX). Every actor name read from a file goes through here. */
int yamldoc_get_actor(const yamldoc *d, const yaml_node_t *node, const char *path, char *out, size_t outlen,
                      bw_error *err);
/* A string of min..max bytes of text (yamldoc_text_valid), copied into out (outlen > max). */
int yamldoc_get_text(const yamldoc *d, const yaml_node_t *node, const char *path, size_t min, size_t max,
                     char *out, size_t outlen, bw_error *err);
/* A plain scalar holding a strict decimal integer within [min, max]. */
int yamldoc_get_int(const yamldoc *d, const yaml_node_t *node, const char *path, int64_t min, int64_t max,
                    int64_t *ret, bw_error *err);
/* A plain scalar "true" or "false" (not YAML 1.1's yes/no/on/off). */
int yamldoc_get_bool(const yamldoc *d, const yaml_node_t *node, const char *path, bool *ret, bw_error *err);

/* Called for each entry of a mapping: key (NUL-terminated UTF-8), its node, the
 * value node and the value's field path. Return 0 to go on, or a negative errno
 * (with *err filled for -EINVAL) to stop. */
typedef int (*yamldoc_map_fn)(yamldoc *d, const char *key, yaml_node_t *key_node, yaml_node_t *value,
                              const char *path, void *userdata, bw_error *err);

/* Checks that node is a mapping of at most max entries ("too_large") whose keys
 * are distinct ("duplicate_key", at the second one) non-empty strings, then calls
 * fn for each entry in document order. */
int yamldoc_map_foreach(yamldoc *d, yaml_node_t *node, const char *path, size_t max, yamldoc_map_fn fn,
                        void *userdata, bw_error *err);

typedef int (*yamldoc_seq_fn)(yamldoc *d, size_t index, yaml_node_t *item, const char *path, void *userdata,
                              bw_error *err);

/* Checks that node is a sequence of min..max items ("too_large" above max,
 * "out_of_range" below min), then calls fn for each item with path "path[i]". */
int yamldoc_seq_foreach(yamldoc *d, yaml_node_t *node, const char *path, size_t min, size_t max,
                        yamldoc_seq_fn fn, void *userdata, bw_error *err);

/* A mapping with a fixed set of keys (keys: NULL-terminated list): ret_values[i]
 * receives the value of keys[i], or NULL when absent. An unknown key fails with
 * "unknown_key" at that key's line:col. */
int yamldoc_fields(yamldoc *d, yaml_node_t *node, const char *path, const char *const *keys,
                   yaml_node_t **ret_values, bw_error *err);

/* The value of key in mapping node, or NULL (also when node is not a mapping). */
yaml_node_t *yamldoc_map_get(yamldoc *d, const yaml_node_t *node, const char *key);

/* Item index of sequence node, or NULL (also when node is not a sequence). */
yaml_node_t *yamldoc_seq_get(yamldoc *d, const yaml_node_t *node, size_t index);

/* Fails with "missing" at parent's position, field "path.key", when value is NULL. */
int yamldoc_require(const yamldoc *d, const yaml_node_t *parent, const char *path, const char *key,
                    const yaml_node_t *value, bw_error *err);

/* Converts the mapping node into a JSON object validated against table (type,
 * range, character set, required keys, unknown keys; see core/settings.h). node
 * may be NULL when the mapping is absent: required settings are then reported
 * missing at where's position. Returns 0 and *ret (new reference), -EINVAL with
 * *err, or -ENOMEM. */
int yamldoc_settings_to_json(yamldoc *d, yaml_node_t *node, const yaml_node_t *where, const char *path,
                             const setting_spec *table, json_t **ret, bw_error *err);

/* True if s[0..len) is valid UTF-8 without NUL or any control character (C0,
 * DEL, C1): text that is safe to log and to pass on. */
bool yamldoc_text_valid(const char *s, size_t len);
