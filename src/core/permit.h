/* SPDX-License-Identifier: Apache-2.0 */
/* The one gate's seal (DESIGN.md, invariant 1): a connector's apply and rollback
 * run only with a permit the governor minted for exactly that action. The seal
 * is a BLAKE2b MAC, keyed with a secret drawn once per process, over everything
 * the connector will act on: the action's id, integration, operation, verb,
 * target kind, targets, parameters and idempotency key. A permit cannot be built
 * by hand nor reused for another action, another integration, a rollback
 * instead of an apply, or changed parameters. Minted only in engine/gate.c (grep
 * for governor_permit_mint to audit it); checked by connectors/pool.c. Pure
 * apart from the process's key. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/template.h"

typedef enum {
        PERMIT_APPLY,
        PERMIT_ROLLBACK,
        _PERMIT_OP_MAX,
} permit_op;

/* What a permit is for. */
typedef struct permit_subject {
        int64_t action_id;
        const char *integration;
        permit_op op;
        const char *verb;
        target_kind kind;
        char *const *targets;
        size_t n_targets;
        const json_t *params; /* object; NULL is taken as {} */
        const char *idempotency_key;
} permit_subject;

typedef struct governor_permit {
        int64_t action_id;
        unsigned char seal[32];
} governor_permit;

/* Mints the permit for s. 0, or -EINVAL for a subject with a missing field,
 * -ENOMEM. */
int governor_permit_mint(const permit_subject *s, governor_permit *ret);

/* True if permit was minted for exactly s. */
bool governor_permit_valid(const governor_permit *permit, const permit_subject *s);
