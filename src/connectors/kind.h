/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the connector kinds (nft.c, http.c, exec.c, notify.c): typed
 * reads of settings against the kind's own table, the generic checks of an
 * action (which is untrusted: it derives from alerts) and the action's JSON
 * form. Runs in the daemon (check_settings) and in the connector workers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "connectors/connector.h"
#include "core/limits.h"
#include "util/error.h"

/* Verb target mask: any target kind, or none. */
#define KIND_TARGETS_ANY ((1u << _TARGET_KIND_MAX) - 1u)

/* The params entry of a verb that passes its params on as they are, to a
 * system that defines them (an HTTP body, an exec program's stdin): any name,
 * a string of at most BW_PARAM_VALUE_MAX bytes of text, an integer or a boolean. */
#define KIND_PARAMS_PASSED_ON(where)                                                                        \
        {                                                                                                   \
                SETTING_ANY_NAME, SETTING_SCALAR, false, 0, BW_PARAM_VALUE_MAX, NULL,                       \
                        "any name: passed on in " where                                                     \
        }

extern const connector_kind nft_kind;
extern const connector_kind http_kind;
extern const connector_kind exec_kind;
extern const connector_kind notify_kind;

/* Typed reads of one setting. The value is checked against its entry in table
 * (type, bounds, character set) even though the configuration loader checked it
 * already: a worker trusts nothing it did not check itself. A key absent from
 * settings yields def; a key present in settings but not in table is an error.
 * Return 0 or -EINVAL with *err naming the key. ret_* borrow from settings. */
int kind_get_str(const json_t *settings, const setting_spec *table, const char *name, const char *def,
                 const char **ret, bw_error *err);
int kind_get_int(const json_t *settings, const setting_spec *table, const char *name, int64_t def,
                 int64_t *ret, bw_error *err);
int kind_get_bool(const json_t *settings, const setting_spec *table, const char *name, bool def, bool *ret,
                  bw_error *err);
/* *ret is the array, or NULL when absent. */
int kind_get_list(const json_t *settings, const setting_spec *table, const char *name, const json_t **ret,
                  bw_error *err);

/* The checks every kind makes of an action: the verb is one of k's, the target
 * kind and count suit it, each target is 1..BW_TARGET_MAX bytes of printable
 * UTF-8, the idempotency key is 64 lowercase hex digits, params is a flat object
 * of at most BW_PARAMS_MAX scalars. Returns 0, or -EINVAL with r->detail naming
 * the field. */
int kind_check_action(const connector_kind *k, const connector_action *a, connector_result *r);

/* The VALIDATE outcome of a check's return value: -EINVAL becomes ok = false
 * (the op ran and rejected the action), 0 becomes ok = true; other errors pass. */
int kind_validated(int check, connector_result *r);

/* Fills r->detail (truncating) and r->ok. */
void kind_result(connector_result *r, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fills r->detail, sets ok = false and returns -EINVAL. */
int kind_invalid(connector_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replaces, in place, every byte of s[0..len) that is not part of well-formed
 * UTF-8 (and every NUL) with '?', so foreign text (program output, library
 * messages, truncated strings) can go into JSON. */
void kind_utf8_scrub(char *s, size_t len);

/* The action as the outside world sees it (HTTP body, exec stdin):
 * {"event"?, "action_id", "idempotency_key", "verb", "target_kind", "targets",
 * "params"}; event is omitted when NULL. Returns a new object or NULL (ENOMEM). */
json_t *kind_action_json(const connector_action *a, const char *event);
