/* SPDX-License-Identifier: Apache-2.0 */
/* The connector interface: validate / snapshot / apply / verify / rollback, one
 * file per kind behind this table (as curl does for TLS backends). Implementations
 * run inside their integration's own worker process (connectors/worker.c) and hold
 * only that integration's settings. Action contents are untrusted (they derive
 * from alerts) and are validated again here. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/settings.h"
#include "core/template.h"
#include "sandbox/sandbox.h"
#include "util/error.h"

typedef enum {
        CONNECTOR_OP_VALIDATE, /* is this action well-formed for this integration? no side effect */
        CONNECTOR_OP_SNAPSHOT, /* record the targets' current state (for rollback) */
        CONNECTOR_OP_APPLY,    /* make the change */
        CONNECTOR_OP_VERIFY,   /* is the change in effect? result.ok tells */
        CONNECTOR_OP_ROLLBACK, /* restore the snapshot */
        _CONNECTOR_OP_MAX,
} connector_op;

typedef struct connector_verb {
        const char *name;      /* "block" */
        unsigned target_kinds; /* bit mask of (1u << target_kind) accepted; (1u << TARGET_NONE) = may have
                                  none */
        bool reversible;       /* has snapshot and rollback for this verb */
        /* The params a step may give this verb, ends with {NULL}; never NULL. The
         * one source of truth for them: `playbook lint` and the daemon's start-up
         * check a step's literal params against it (config/playbooks.c), and
         * VALIDATE checks every rendered action against it (kind_check_action). */
        const setting_spec *params;
} connector_verb;

typedef struct connector_action {
        int64_t action_id;
        const char *verb;
        target_kind kind;
        char *const *targets; /* normalised strings (see core/template.h) */
        size_t n_targets;
        const json_t *params;        /* object, never NULL */
        const char *idempotency_key; /* 64 hex chars */
        const json_t *snapshot;      /* ROLLBACK: what SNAPSHOT returned in data; else NULL */
} connector_action;

typedef struct connector_result {
        bool ok;          /* VERIFY: the effect is present; others: the op succeeded */
        char detail[512]; /* short human text, never a secret */
        json_t *data;     /* SNAPSHOT: the state; others: optional summary; owned */
} connector_result;

typedef struct connector_kind {
        const char *name;             /* "nft", "http", "exec", "notify" */
        const connector_verb *verbs;  /* ends with {NULL} */
        const setting_spec *settings; /* ends with {NULL} */
        /* Names of the settings only its worker may hold (a header with a key),
         * NULL-terminated; core forgets them (connector_settings_forget_secrets).
         * May be NULL. */
        const char *const *secret_settings;
        /* Parent, at configuration load, after the table checks: cross-field and
         * semantic checks (URL scheme, absolute paths). May be NULL. */
        int (*check_settings)(const json_t *settings, bw_error *err);
        /* Worker process: set up from settings. */
        int (*open)(const json_t *settings, void **ret_state, bw_error *err);
        void (*close)(void *state);
        /* Worker process: one entry per op; NULL = not supported (snapshot and
         * rollback absent => the kind is not reversible). Return 0 when the op ran
         * (result->ok tells its outcome) or a negative errno when it could not. */
        int (*ops[_CONNECTOR_OP_MAX])(void *state, const connector_action *a, connector_result *result);
        /* Worker process, optional: applies n actions of one verb as ONE change of
         * the system (nft: one transaction), filling results[i] per action.
         * Returns 0 when it ran (each result tells its action's outcome) or a
         * negative errno when nothing was changed: the engine then applies the
         * actions one by one. */
        int (*apply_batch)(void *state, const connector_action *actions, size_t n,
                           connector_result *results);
        /* Optional refinement of ops[] by an integration's settings (exec can
         * verify only with a verify_program). NULL = ops[] alone decides. */
        bool (*has_op)(const json_t *settings, connector_op op);
        /* The parameter and the setting (seconds) by which the connector expires a
         * change itself (nft: element timeouts); NULL = it has no expiry of its own. */
        const char *expiry_param;
        const char *expiry_setting;
        /* Informs people and changes no system (notify): there is nothing to roll
         * back, so level 3 may run it without an approval. */
        bool inert;
        /* Worker process, after open: what the kind keeps once its worker is
         * confined (connectors/confine.c sets the uid and the limits): its
         * capabilities, its system-call role, no_tcp, the paths it still reads,
         * runs or writes (state is open's). 0, or a negative errno. */
        int (*confine)(void *state, const json_t *settings, sandbox_profile *p);
} connector_kind;

/* True if the integration's connector can snapshot and roll back this verb. */
bool connector_action_reversible(const connector_kind *k, const json_t *settings, const char *verb);

/* Seconds after which the connector itself reverts an action with these params
 * (its expiry parameter, else its integration's default), 0 = never. A value
 * outside the range the verb's table (or the settings table) declares counts as
 * none: such an action fails VALIDATE, and its expiry is never used in
 * arithmetic. */
int64_t connector_native_expiry_s(const connector_kind *k, const json_t *settings, const json_t *params);

/* Registry of all kinds (connectors/registry.c). NULL if unknown. */
const connector_kind *connector_kind_find(const char *name);

/* Removes from settings (an object validated against k's table) every value
 * its table marks secret, overwriting the strings' bytes first: what core
 * does to its copy of the configuration once forked, so that only the
 * parent and the integration's own worker hold them (docs/security.md). */
void connector_settings_forget_secrets(const connector_kind *k, json_t *settings);
const connector_verb *connector_verb_find(const connector_kind *k, const char *verb);
/* All kinds, NULL-terminated. */
const connector_kind *const *connector_kinds(void);

const char *connector_op_name(connector_op op);

/* True if an integration of kind k with these settings supports op: ops[op] is
 * set and has_op, if any, agrees. Callers use this, not ops[op] alone, to decide
 * whether to verify or roll back. */
bool connector_kind_has_op(const connector_kind *k, const json_t *settings, connector_op op);

void connector_result_clear(connector_result *r);
