/* SPDX-License-Identifier: Apache-2.0 */
/* The rollback drill (`bulwark rollback-test`, POST /v1/rollback-tests): applies
 * each staging integration's configured action and rolls it back, proving that
 * its rollback restores what it found. Production code, run on demand by an
 * admin: the governor decides on its targets (governor_decide) and the protocol
 * runs through engine/execute.c like every action. Runs in the daemon, in the
 * HTTP thread that asked; its input is the configuration (the operator's),
 * whose targets are typed and normalised again here as playbook rendering does. */
#pragma once

#include <jansson.h>

#include "config/config.h"
#include "connectors/pool.h"

/* For every integration with staging targets, in configuration order: the
 * governor's target checks, then through the pool SNAPSHOT -> APPLY -> VERIFY
 * (when the kind has it) -> ROLLBACK to the first snapshot -> SNAPSHOT; a result
 * passes iff every step succeeded and the two snapshots are equal. A failed
 * APPLY is still rolled back. Logs one line per result.
 * Returns 0 and *ret, a new object {"results": [{"integration", "connector",
 * "ok", "detail", "targets"}], "passed": n, "failed": m} (caller owns it);
 * -EBUSY while another rollback test runs (two would see each other's changes
 * in their snapshots), or -ENOMEM. A step that fails is a failed result, never
 * an error. Blocks for the duration, bounded by the integrations' timeouts. */
int rollback_drill_run(connector_pool *pool, const bw_config *cfg, json_t **ret);
