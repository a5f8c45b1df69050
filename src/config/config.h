/* SPDX-License-Identifier: Apache-2.0 */
/* bulwark.yaml: parsed with libyaml into a validated struct. The file is
 * untrusted: unknown keys, wrong types and out-of-range values are errors naming
 * file:line:col. Integration settings are checked against their connector kind's
 * declarative table (core/settings.h). Runs in the parent at start-up and in the
 * CLI. */
#pragma once

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "core/governor.h"
#include "core/integration.h"
#include "core/limits.h"
#include "util/error.h"

/* The lowest api.max_alert_body accepted: below 1 KiB a realistic alert no
 * longer fits. (Belongs in core/limits.h; kept here until the lead moves it.) */

/* What an actor may do, until the access-control issue brings users: every
 * actor reads; the roles add the rest. */
typedef enum {
        ROLE_INGEST,   /* sends alerts */
        ROLE_ANALYST,  /* runs recommendations */
        ROLE_APPROVER, /* decides approvals, acknowledges reviews */
        ROLE_ADMIN,    /* resets the breaker, rolls executions back, runs rollback tests */
        _ROLE_MAX,
} actor_role;

extern const char *const actor_role_names[_ROLE_MAX];

/* An API actor: a name, the file of its own bearer token and its roles.
 * Approvals and resets are recorded under the name; separation of duties
 * compares names. */
typedef struct actor_config {
        char name[BW_NAME_MAX + 1];
        char token_file[PATH_MAX];
        unsigned roles; /* bit mask of (1u << actor_role) */
} actor_config;

typedef struct bw_config {
        char file[PATH_MAX];
        /* listen: "127.0.0.1:8080" or "[::1]:8080"; default 127.0.0.1:8080 */
        char listen_address[64]; /* numeric, checked with inet_pton */
        uint16_t listen_port;
        char data_dir[PATH_MAX];           /* default /var/lib/bulwark */
        char store_backend[16];            /* "sqlite" (only one for now) */
        char store_path[PATH_MAX];         /* default <data_dir>/bulwark.db; relative => under data_dir */
        unsigned workers;                  /* 1..BW_WORKERS_MAX, default BW_WORKERS_DEFAULT */
        unsigned queue_capacity;           /* 1..BW_QUEUE_CAPACITY_MAX */
        unsigned alert_body_max;           /* 1024..BW_ALERT_BODY_MAX_CEILING, default 64 KiB */
        char token_file[PATH_MAX];         /* required: bearer token, mode 0600 */
        char token_actor[BW_NAME_MAX + 1]; /* the actor of token_file: api.actor, default "admin" */
        actor_config *actors;              /* api.actors: more actors, each with its own token */
        size_t n_actors;
        char playbook_dir[PATH_MAX]; /* required */
        char log_level[8];           /* debug|info|warn|error, default info */
        integration_config *integrations;
        size_t n_integrations;
        governor_policy governor;               /* ceilings (lowered only) and protected assets */
        char governor_notify[BW_NAME_MAX + 1];  /* notify integration told of refusals; "" = none */
        char approvals_notify[BW_NAME_MAX + 1]; /* the approval webhook; "" = governor_notify */
} bw_config;

/* Parses configuration text. Relative paths are resolved against the directory
 * of filename. Returns 0 and *ret (free with config_free) or -EINVAL with *err
 * (file, line, col, field), or -ENOMEM. */
int config_parse(const char *data, size_t len, const char *filename, bw_config **ret, bw_error *err);

/* Reads (at most BW_CONFIG_FILE_MAX bytes) and parses path, then adds the
 * host's own addresses to the protected ones (config_protect_own_addresses). */
int config_load(const char *path, bw_config **ret, bw_error *err);

/* Adds the listen address and every address of this host's interfaces to the
 * governor's protected addresses (the never-touch set). 0, or -errno. */
int config_protect_own_addresses(bw_config *cfg);

const integration_config *config_integration_find(const bw_config *c, const char *name);

void config_free(bw_config *c);
