/* SPDX-License-Identifier: Apache-2.0 */
/* One configured integration: a named instance of a connector kind with its
 * settings. Filled by config/, consumed by the connector pool and the engine. */
#pragma once

#include <jansson.h>

#include "core/limits.h"

typedef struct integration_config {
        char name[BW_NAME_MAX + 1]; /* [A-Za-z0-9._-]{1,64}, unique */
        char kind[BW_NAME_MAX + 1]; /* a registered connector kind */
        json_t *settings;           /* object, validated against the kind's table */
        unsigned timeout_ms;        /* per connector call; default BW_CONNECTOR_TIMEOUT_MS_DEFAULT */
        /* The user (and group) its worker runs as: integration isolation
         * (docs/security.md). Default BW_WORKER_UID_BASE + its index; never 0. */
        unsigned uid;
        unsigned line, col; /* where it was declared */
        /* A staging integration (staging: {verb, targets}): `bulwark rollback-test`
         * applies staging_verb to staging_targets and rolls it back. NULL otherwise. */
        json_t *staging_targets;
        char staging_verb[BW_NAME_MAX + 1];
} integration_config;
